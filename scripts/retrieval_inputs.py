#!/usr/bin/env python3
"""The inputs of embed and retrieve for the official zero-shot retrieval evaluation (InternVL's clip_benchmark:
Flickr30K test, image-to-text R@1 94.7 / text-to-image 81.7 for InternVL-C; COCO 5k test, 70.6 / 54.1), from the
dataset's annotation file as clip_benchmark reads it:

  retrieval_inputs.py DATASET ANNOTATION IMAGES_DIR OUT_DIR

  flickr30k  flickr30k_test_karpathy.txt: a header line, then "<image>.jpg,<caption>" lines (clip_benchmark's
             Flickr dataset: the images in the order they first appear, each with its captions in file order)
  coco       coco_test_karpathy.json, in COCO's captions format ({"images": [{"id", "file_name"}],
             "annotations": [{"image_id", "caption"}]}; torchvision's CocoCaptions: the images by id, each with
             its captions in file order)

It writes OUT_DIR/images.txt (IMAGES_DIR/<file name>, one per line), OUT_DIR/captions.txt (every caption, one
per line, image by image) and OUT_DIR/text_images.txt (the image row of each caption, for retrieve
--text-images). The captions go through clip_benchmark's pre_caption, as in its evaluation: lower case, each of
. ! " ( ) * # : ; ~ replaced by a space, runs of white space made one space, ends stripped, at most 50 words.
Leaving that out changes the texts the model reads (case, punctuation), and with them the recall.

Flickr30K-CN and COCO-CN come in the same two formats (flickr30k_cn_test.txt; coco-cn_test.json, whose images
lie under train2014/ and val2014/ of COCO), read the same way by clip_benchmark: give them as flickr30k and coco.

Then:
  build/examples/embed --model InternVL-14B-224px --mode C --images OUT_DIR/images.txt --out-image images.npy \\
      --texts OUT_DIR/captions.txt --out-text texts.npy
  build/examples/retrieve --image-embeddings images.npy --text-embeddings texts.npy \\
      --text-images OUT_DIR/text_images.txt"""
import os
import pathlib
import re
import sys

import annotation_files

SCRIPT = "retrieval_inputs"


def fail(message):
    annotation_files.fail(SCRIPT, message)


def pre_caption(caption, max_words=50):
    """clip_benchmark's caption cleaning (datasets/tools.py), restated."""
    caption = re.sub(r'[.!"()*#:;~]', " ", caption.lower())
    caption = re.sub(r"\s{2,}", " ", caption).rstrip("\n").strip(" ")
    return " ".join(caption.split(" ")[:max_words])


def flickr30k(annotation):
    """[(file name, [captions])] as clip_benchmark's Flickr dataset reads flickr30k_test_karpathy.txt."""
    captions = {}
    lines = annotation_files.read_text(SCRIPT, annotation).split("\n")
    for number, line in enumerate(lines[1:], start=2):  # the first line is a header
        line = line.strip()
        if not line:
            continue
        if ".jpg," not in line:
            fail(f"{annotation}:{number}: expected '<image>.jpg,<caption>', got {line[:100]!r}")
        image, caption = line.split(".jpg,", 1)
        captions.setdefault(image + ".jpg", []).append(caption)
    return list(captions.items())


def coco(annotation):
    """[(file name, [captions])] as torchvision's CocoCaptions reads a COCO captions file."""
    data = annotation_files.read_json(SCRIPT, annotation)
    if not isinstance(data, dict) or not isinstance(data.get("images"), list) or not isinstance(
            data.get("annotations"), list):
        fail(f"{annotation}: expected COCO's captions format, an object with lists \"images\" and \"annotations\"")
    for i, image in enumerate(data["images"]):
        if not isinstance(image, dict) or not isinstance(image.get("id"), int) or not isinstance(
                image.get("file_name"), str):
            fail(f"{annotation}: images[{i}]: expected an \"id\" and a \"file_name\", got {image!r:.200}")
    file_names = {image["id"]: image["file_name"] for image in data["images"]}
    captions = {image_id: [] for image_id in file_names}
    for i, entry in enumerate(data["annotations"]):
        if not isinstance(entry, dict) or entry.get("image_id") not in captions or not isinstance(
                entry.get("caption"), str):
            fail(f"{annotation}: annotations[{i}]: expected an \"image_id\" of the images and a \"caption\"")
        captions[entry["image_id"]].append(entry["caption"])
    return [(file_names[image_id], captions[image_id]) for image_id in sorted(file_names)]


def main(argv):
    if len(argv) != 4 or argv[0] not in ("flickr30k", "coco"):
        sys.exit(__doc__)
    dataset, annotation, images_dir, out = argv[0], argv[1], argv[2], pathlib.Path(argv[3])
    images = flickr30k(annotation) if dataset == "flickr30k" else coco(annotation)
    out.mkdir(parents=True, exist_ok=True)
    (out / "images.txt").write_text("".join(os.path.join(images_dir, name) + "\n" for name, _ in images),
                                    encoding="utf-8")
    texts = [(row, pre_caption(caption)) for row, (_, captions) in enumerate(images) for caption in captions]
    for _, text in texts:  # one line per caption, or the rows of captions.txt and text_images.txt part ways
        if not text or "\n" in text or "\r" in text:
            fail(f"{annotation}: the caption {text!r:.100} is empty or not one line after clip_benchmark's cleaning")
    (out / "captions.txt").write_text("".join(text + "\n" for _, text in texts), encoding="utf-8")
    (out / "text_images.txt").write_text("".join(f"{row}\n" for row, _ in texts), encoding="utf-8")
    print(f"{len(images)} images, {len(texts)} captions: {out}/images.txt, captions.txt, text_images.txt")


if __name__ == "__main__":
    main(sys.argv[1:])
