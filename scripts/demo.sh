#!/bin/sh
# The main demonstration: installs what is missing, builds the classify and segment programs, and runs them
# on the held-out data shipped under demo/ with the small InternViT models trained by scripts/train_demo.py
# (demo/README.md): classify on the handwritten digits (linear probe), segment on the procedural scenes (linear
# and UperNet heads, sliding window). Prints the predictions next to the truth, then the overall top-1 and mIoU
# beside PyTorch's (demo/reference_results.json). Masks (palette PNGs of class indices) and colour overlays go to
# build/demo-output/. Idempotent; quiet when nothing needs installing.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
sh scripts/build.sh build -- examples/classify examples/segment

out=build/demo-output
mkdir -p "$out"
# Digits: all held-out images in one run of classify (each image's line follows a "# <image>" header; the
# accuracy against the labels, --truth, comes last).
set --
while IFS="$(printf '\t')" read -r name label; do
  set -- "$@" --image "demo/digits/$name"
done <demo/digits/labels.txt
build/examples/classify --model demo/models/digits-vit --head demo/models/digits-linear-probe.safetensors \
  --topk 1 --truth demo/digits/labels.txt "$@" >"$out/digits.tsv"
# Scenes: one run of segment per head over all held-out scenes (the model loaded once), each image's mask
# written as <name>.png and its overlay as <name>_overlay.png, and the masks scored against the true ones
# (--truth-dir: mmseg's IoU per class and mIoU, at the end of scenes-<head>.tsv).
for head in linear upernet; do
  file=demo/models/scenes-upernet.safetensors
  [ "$head" = linear ] && file=demo/models/scenes-seg-linear.safetensors
  mkdir -p "$out/scenes-$head"
  set --
  while IFS="$(printf '\t')" read -r image mask; do
    set -- "$@" --image "demo/scenes/$image"
  done <demo/scenes/list.txt
  build/examples/segment --model demo/models/scenes-vit --head "$file" --slide --out-dir "$out/scenes-$head" \
    --overlays --truth-dir demo/scenes --truth-suffix _mask.png "$@" >"$out/scenes-$head.tsv"
done
# The report needs numpy and Pillow: setup.sh installs Debian's, which belong to /usr/bin/python3; a python3
# earlier on PATH (pyenv, a venv) may lack them.
python=python3
python3 -c "import numpy, PIL" 2>/dev/null || python=/usr/bin/python3
"$python" scripts/demo_report.py demo "$out"
echo
echo "masks (palette PNGs, pixel value = class index) and colour overlays: $out/scenes-linear/ and $out/scenes-upernet/"
