#!/usr/bin/env python3
"""Writes the ObjectNet label set and image list that zero_shot reads, from an ObjectNet download.

The paper's zero-shot ObjectNet number (80.6% top-1 for InternVL-C) is clip_benchmark's evaluation: of
ObjectNet's 313 classes, the 113 that ImageNet-1K has (the dataset's own mappings/objectnet_to_imagenet_1k.json),
in the order of their folder names, each named by its ObjectNet label in lower case, with the ImageNet
templates; the images of the other classes are left out. The class names ship with the dataset (under its
licence), so this script reads them from there:

  OBJECTNET/mappings/folder_to_objectnet_label.json   {folder: ObjectNet label}
  OBJECTNET/mappings/objectnet_to_imagenet_1k.json    {ObjectNet label: "ImageNet name; ..."} (the 113)
  OBJECTNET/images/<folder>/*                         the images

and writes OUT/objectnet.json (a labels file as configs/labels/ has them: "labels" and their "folders") and
OUT/objectnet_files.txt (the images of the 113 classes, one path per line, sorted). Then:

  build/examples/zero_shot --model InternVL-14B-224px --labels-file OUT/objectnet.json \\
      --templates configs/labels/imagenet1k_templates.json --images OUT/objectnet_files.txt --truth-folders

Run: python3 scripts/objectnet_labels.py OBJECTNET OUT   (OBJECTNET: the objectnet-1.0 folder)"""
import json
import pathlib
import sys

import annotation_files

SCRIPT = "objectnet_labels"


# The file names torchvision's ImageFolder takes for images (its IMG_EXTENSIONS, any case); others (.DS_Store,
# notes) are not images of the set.
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp"}


def main(objectnet, out):
    mappings = objectnet / "mappings"
    label_of_folder = annotation_files.read_json(SCRIPT, mappings / "folder_to_objectnet_label.json")
    in_imagenet = annotation_files.read_json(SCRIPT, mappings / "objectnet_to_imagenet_1k.json")
    if not isinstance(label_of_folder, dict) or not isinstance(in_imagenet, dict) or not all(
            isinstance(label, str) for label in label_of_folder.values()):
        annotation_files.fail(SCRIPT, f"{mappings}: the two mappings must be JSON objects, the labels strings")
    folder_of_label = {label: folder for folder, label in label_of_folder.items()}
    missing = sorted(set(in_imagenet) - set(folder_of_label))
    if missing:
        annotation_files.fail(SCRIPT, f"{mappings}: no folder for the ObjectNet labels {missing[:5]}")
    folders = sorted(folder_of_label[label] for label in in_imagenet)
    files = []
    for folder in folders:
        directory = objectnet / "images" / folder
        if not directory.is_dir():
            annotation_files.fail(SCRIPT, f"{directory}: no such folder of images")
        files += sorted(str(path) for path in directory.iterdir()
                        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES)
    out.mkdir(parents=True, exist_ok=True)
    (out / "objectnet.json").write_text(json.dumps({
        "dataset": f"ObjectNet ({len(folders)} classes that ImageNet-1K has, in folder-name order)",
        "source": f"{mappings} (folder_to_objectnet_label.json, objectnet_to_imagenet_1k.json), "
                  "as clip_benchmark's ObjectNetDataset reads them",
        "labels": [label_of_folder[folder].lower() for folder in folders], "folders": folders},
        indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "objectnet_files.txt").write_text("".join(f + "\n" for f in files), encoding="utf-8")
    print(f"{len(folders)} classes, {len(files)} images: {out / 'objectnet.json'}, {out / 'objectnet_files.txt'}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]))
