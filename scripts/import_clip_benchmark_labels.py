#!/usr/bin/env python3
"""Writes configs/labels/imagenet1k*.json, the class names and prompt templates of the official zero-shot
ImageNet-1K evaluation, from the lists of InternVL's clip_benchmark: clip_benchmark/clip_benchmark/datasets/
<lang>_classnames.json and <lang>_zeroshot_classification_templates.json (key imagenet1k) in
github.com/OpenGVLab/InternVL (commit 2410d1dbf208f0e799459aff9376e5747dbf41a2 was used). Those files are
data; this script only copies the lists into the format zero_shot reads (--labels-file, --templates).

  en  imagenet1k.json,    imagenet1k_templates.json      (1000 classes, 80 templates)
  cn  imagenet1k_zh.json, imagenet1k_templates_zh.json   (Chinese: 80 templates)
  jp  imagenet1k_ja.json, imagenet1k_templates_ja.json   (Japanese: 37)
  ar  imagenet1k_ar.json, imagenet1k_templates_ar.json   (Arabic: 55)
  it  imagenet1k_it.json, imagenet1k_templates_it.json   (Italian: 49)
The paper's multilingual zero-shot table (Table 4b) evaluates InternVL-C with each language's lists.
Run: python3 scripts/import_clip_benchmark_labels.py /path/to/clip_benchmark/clip_benchmark/datasets [COMMIT]"""
import json
import pathlib
import sys

datasets = pathlib.Path(sys.argv[1])
commit = sys.argv[2] if len(sys.argv) > 2 else "2410d1d"
out = pathlib.Path(__file__).resolve().parent.parent / "configs" / "labels"
LANGUAGES = {"en": ("", "English"), "cn": ("_zh", "Chinese"), "jp": ("_ja", "Japanese"), "ar": ("_ar", "Arabic"),
             "it": ("_it", "Italian")}


def write(name, content):
    (out / name).write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def source(file):
    return f"OpenGVLab/InternVL clip_benchmark/clip_benchmark/datasets/{file}, key imagenet1k, commit {commit}"


for lang, (suffix, language) in LANGUAGES.items():
    classes_file, templates_file = f"{lang}_classnames.json", f"{lang}_zeroshot_classification_templates.json"
    labels = json.loads((datasets / classes_file).read_text(encoding="utf-8"))["imagenet1k"]
    templates = json.loads((datasets / templates_file).read_text(encoding="utf-8"))["imagenet1k"]
    assert len(labels) == 1000 and all("{c}" in t for t in templates), (lang, len(labels))
    in_language = "" if lang == "en" else f", in {language}"
    write(f"imagenet1k{suffix}.json", {"dataset": f"ImageNet-1K (1000 classes, in class-index order{in_language})",
                                       "source": source(classes_file), "labels": labels})
    write(f"imagenet1k_templates{suffix}.json",
          {"dataset": f"ImageNet-1K zero-shot classification prompts ({len(templates)} templates{in_language}; "
                      "{c} marks the class name)",
           "source": source(templates_file), "templates": templates})
    print(f"{lang}: {len(labels)} classes, {len(templates)} templates")
