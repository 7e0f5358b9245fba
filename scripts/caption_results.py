#!/usr/bin/env python3
"""The official zero-shot captioning evaluation of InternVL-G (internvl_g/eval/evaluate_caption.py: CIDEr 128.2
on COCO, 79.2 on Flickr30K, 113.7 on NoCaps) around build/examples/caption, in two steps:

  caption_results.py images  DATASET ANNOTATION ROOT LIST
      writes the evaluation's images, in its order, one path (ROOT/<file name>) per line, for caption --images;
  caption_results.py results DATASET ANNOTATION ROOT CAPTIONS OUT.json
      turns caption's output for that list (CAPTIONS: its "# <image>" and caption lines) into the results file
      the official script writes and scores: a JSON list of {"image_id": ..., "caption": ...} in the same order.

DATASET and its ANNOTATION file, as the official script reads them:
  coco       coco_karpathy_test.json, a list of {"image": "val2014/COCO_val2014_000000391895.jpg", ...}; the
             image id is the number the file name ends with
  flickr30k  flickr30k_test_karpathy.json, and
  nocaps     nocaps_val_4500_captions.json: {"images": [{"id": ..., "file_name" or "image": ...}, ...]}

Then score OUT.json as the official script does, with pycocoevalcap (which needs Java) against the references
(COCO: coco_karpathy_test_gt.json; Flickr30K and NoCaps: ANNOTATION itself):
  from pycocotools.coco import COCO; from pycocoevalcap.eval import COCOEvalCap
  coco = COCO(REFERENCES); evaluation = COCOEvalCap(coco, coco.loadRes("OUT.json")); evaluation.evaluate()
  print(evaluation.eval["CIDEr"])

Run:
  python3 scripts/caption_results.py images coco coco_karpathy_test.json data/coco coco.txt
  build/examples/caption --model InternVL-14B-224px --images coco.txt > coco_captions.txt
  python3 scripts/caption_results.py results coco coco_karpathy_test.json data/coco coco_captions.txt coco.json"""
import json
import os
import pathlib
import sys

import annotation_files

SCRIPT = "caption_results"


def fail(message):
    annotation_files.fail(SCRIPT, message)


def evaluation_images(dataset, annotation, root):
    """[(image path, image id)] in the official evaluation's order."""
    data = annotation_files.read_json(SCRIPT, annotation)
    images = []
    if dataset == "coco":
        if not isinstance(data, list):
            fail(f"{annotation}: COCO's Karpathy test file is a list of images")
        for i, entry in enumerate(data):
            file_name = entry.get("image") if isinstance(entry, dict) else None
            number = str(file_name).rsplit("_", 1)[-1].removesuffix(".jpg")
            if not isinstance(file_name, str) or not number.isdigit():
                fail(f"{annotation}: [{i}]: expected an \"image\" named ..._<id>.jpg, got {entry!r:.200}")
            images.append((os.path.join(root, file_name), int(number)))
    elif dataset in ("flickr30k", "nocaps"):
        entries = data.get("images") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            fail(f"{annotation}: expected an object with a list \"images\"")
        for i, entry in enumerate(entries):
            file_name = entry.get("file_name", entry.get("image")) if isinstance(entry, dict) else None
            if not isinstance(file_name, str) or not isinstance(entry.get("id"), int):
                fail(f"{annotation}: images[{i}]: expected an \"id\" and a \"file_name\" or \"image\", got {entry!r:.200}")
            images.append((os.path.join(root, file_name), entry["id"]))
    else:
        fail(f"unknown dataset '{dataset}' (coco, flickr30k or nocaps)")
    return images


def captions_by_image(path, count):
    """caption's output for `count` images: {image: caption}. With one image it prints no header line."""
    lines = annotation_files.read_text(SCRIPT, path).split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if count == 1 and len(lines) == 1:
        return {None: lines[0]}
    if len(lines) != 2 * count or not all(line.startswith("# ") for line in lines[::2]):
        fail(f"{path}: expected caption's output for {count} images, a \"# <image>\" line and a caption line each "
             f"(without --tokens); it has {len(lines)} lines")
    return {header[2:]: caption for header, caption in zip(lines[::2], lines[1::2])}


def main(argv):
    if len(argv) == 5 and argv[0] == "images":
        images = evaluation_images(*argv[1:4])
        pathlib.Path(argv[4]).write_text("".join(path + "\n" for path, _ in images), encoding="utf-8")
        print(f"{len(images)} images: {argv[4]}")
    elif len(argv) == 6 and argv[0] == "results":
        images = evaluation_images(*argv[1:4])
        captions = captions_by_image(argv[4], len(images))
        results = []
        for path, image_id in images:
            caption = captions.get(None if len(images) == 1 else path)
            if caption is None:
                fail(f"{argv[4]}: no caption for {path} (caption --images must get the list that 'images' wrote)")
            results.append({"image_id": image_id, "caption": caption.strip()})
        pathlib.Path(argv[5]).write_text(json.dumps(results, ensure_ascii=False), encoding="utf-8")
        print(f"{len(results)} captions: {argv[5]}")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
