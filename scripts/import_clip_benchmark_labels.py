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
Each class also gets its "folder": its WordNet id, the name of its images' folder in ImageNet's ImageFolder
layout (val/ sorted into folders, ImageNet-Sketch, -A, -R), from builder.py's all_imagenet_wordnet_ids.
And the 200-class subsets of ImageNet-A and ImageNet-R (builder.py's imagenet_a_wnids and imagenet_r_wnids,
the same lists as the official classification code's dataset/imagenet_a_r_indices.py):
  imagenet_a.json, imagenet_r.json   (200 English names, their folders, and "imagenet1k_classes": each class's
                                      index among ImageNet-1K's 1000, the outputs a 1000-class head keeps)
Run: python3 scripts/import_clip_benchmark_labels.py /path/to/clip_benchmark/clip_benchmark/datasets [COMMIT]"""
import ast
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


def builder_list(name):
    """The list or set of strings assigned to `name` in datasets/builder.py (read as data, not run)."""
    tree = ast.parse((datasets / "builder.py").read_text(encoding="utf-8"))
    values = [ast.literal_eval(node.value) for node in ast.walk(tree) if isinstance(node, ast.Assign)
              and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)]
    assert len(values) == 1, (name, len(values))
    return values[0]


wnids = builder_list("all_imagenet_wordnet_ids")
assert len(wnids) == 1000 and wnids == sorted(wnids)  # sorted: ImageFolder's class order is ImageNet's

for lang, (suffix, language) in LANGUAGES.items():
    classes_file, templates_file = f"{lang}_classnames.json", f"{lang}_zeroshot_classification_templates.json"
    labels = json.loads((datasets / classes_file).read_text(encoding="utf-8"))["imagenet1k"]
    templates = json.loads((datasets / templates_file).read_text(encoding="utf-8"))["imagenet1k"]
    assert len(labels) == 1000 and all("{c}" in t for t in templates), (lang, len(labels))
    in_language = "" if lang == "en" else f", in {language}"
    write(f"imagenet1k{suffix}.json", {"dataset": f"ImageNet-1K (1000 classes, in class-index order{in_language})",
                                       "source": source(classes_file), "labels": labels,
                                       "folders": wnids})
    write(f"imagenet1k_templates{suffix}.json",
          {"dataset": f"ImageNet-1K zero-shot classification prompts ({len(templates)} templates{in_language}; "
                      "{c} marks the class name)",
           "source": source(templates_file), "templates": templates})
    print(f"{lang}: {len(labels)} classes, {len(templates)} templates")

english = json.loads((datasets / "en_classnames.json").read_text(encoding="utf-8"))["imagenet1k"]
for name, title in (("imagenet_a", "ImageNet-A"), ("imagenet_r", "ImageNet-R")):
    subset = set(builder_list(f"{name}_wnids"))
    kept = [i for i, wnid in enumerate(wnids) if wnid in subset]
    assert len(kept) == 200 == len(subset), (name, len(kept))
    write(f"{name}.json", {
        "dataset": f"{title} (200 of ImageNet-1K's classes, in class-index order; a 1000-class head keeps the outputs "
                   "of imagenet1k_classes)",
        "source": f"OpenGVLab/InternVL clip_benchmark/clip_benchmark/datasets/builder.py ({name}_wnids, "
                  f"all_imagenet_wordnet_ids) and en_classnames.json, key imagenet1k, commit {commit}",
        "labels": [english[i] for i in kept], "folders": [wnids[i] for i in kept], "imagenet1k_classes": kept})
    print(f"{name}: {len(kept)} classes")
