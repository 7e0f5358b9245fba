#!/usr/bin/env python3
"""The inputs of embed and retrieve for the official zero-shot video retrieval (InternVL's
video_retrieval/test_msrvtt.py: MSR-VTT, InternVL-C or -G, 1 or 8 frames per video), from its metadata file and
each video's frames:

  video_retrieval_inputs.py METADATA FRAMES_DIR FRAMES OUT_DIR

  METADATA    the official script's JSON: a list of {"video": "<file>", "caption": "<text>"}, one per video, the
              caption describing that video (MSR-VTT's 1k-A test: 1,000 pairs)
  FRAMES_DIR  every frame of each video as an image file, in FRAMES_DIR/<video without its extension>/, in order
              of their names' numbers, e.g. from
                ffmpeg -i video7010.mp4 -fps_mode passthrough FRAMES_DIR/video7010/%06d.png
              (ffmpeg 5.1 or later; older ones spell it -vsync passthrough). The official script decodes the
              frames with decord; both give each frame the container holds, though their RGB conversions may
              differ in the last bits. Write PNG: JPEG frames would differ by far more.
  FRAMES      the frames per video

It picks each video's frames as test_msrvtt.py does: of its n frames, interval = ceil(n / FRAMES) and the
frames (0, interval, 2 interval, ...) + interval // 2; a video for which that does not give FRAMES frames
inside the video (the official script's assertion) stops the script, naming it. It writes OUT_DIR/frames.txt
(FRAMES lines per video, in the metadata's order) and OUT_DIR/captions.txt (each video's caption as given: the
official script cleans none; embed adds QLLaMA's "summarize:" prefix). Then:

  build/examples/embed --model InternVL-14B-224px --mode C --images OUT_DIR/frames.txt --frames FRAMES \\
      --out-image videos.npy --texts OUT_DIR/captions.txt --out-text texts.npy
  build/examples/retrieve --image-embeddings videos.npy --text-embeddings texts.npy --texts-per-image 1 \\
      --dual-softmax

embed --frames preprocesses the frames as the script's CLIPImageProcessor does and averages each video's frame
features; retrieve --dual-softmax scores as the script does by default (use_dsl)."""
import math
import pathlib
import re
import sys

import annotation_files

SCRIPT = "video_retrieval_inputs"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".ppm", ".pgm"}


def fail(message):
    annotation_files.fail(SCRIPT, message)


def sampled(count, frames):
    """test_msrvtt.py's frame indices for a video of `count` frames, or None where its assertion fails."""
    interval = math.ceil(count / frames)
    picked = [start + interval // 2 for start in range(0, count, interval)]
    return picked if len(picked) == frames and picked[-1] < count else None


def frame_files(directory):
    """The image files of a video's frame directory, in order of the numbers in their names."""
    def order(path):
        return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]
    return sorted((p for p in directory.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES), key=order)


def main(argv):
    if len(argv) != 4 or not argv[2].isdigit() or int(argv[2]) < 1:
        sys.exit(__doc__)
    metadata, frames_dir, frames, out = argv[0], pathlib.Path(argv[1]), int(argv[2]), pathlib.Path(argv[3])
    entries = annotation_files.read_json(SCRIPT, metadata)
    if not isinstance(entries, list) or not entries:
        fail(f"{metadata}: expected a list of {{\"video\", \"caption\"}} objects")
    frame_lines, captions = [], []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("video"), str) or not isinstance(
                entry.get("caption"), str):
            fail(f"{metadata}: [{i}]: expected a \"video\" and a \"caption\", got {entry!r:.200}")
        caption = entry["caption"]
        if not caption.strip() or "\n" in caption or "\r" in caption:
            fail(f"{metadata}: [{i}]: the caption {caption!r:.100} is empty or not one line")
        directory = frames_dir / pathlib.PurePosixPath(entry["video"]).with_suffix("")
        if not directory.is_dir():
            fail(f"{directory}: no such directory: the frames of {entry['video']} ([{i}] of {metadata})")
        files = frame_files(directory)
        if not files:
            fail(f"{directory}: no frame images (.png, .jpg, .ppm) in it: the frames of {entry['video']}")
        picked = sampled(len(files), frames)
        if picked is None:
            fail(f"{directory}: {len(files)} frames, from which test_msrvtt.py's sampling does not give {frames} "
                 f"(it asserts so)")
        frame_lines += [str(files[k]) for k in picked]
        captions.append(caption)
    out.mkdir(parents=True, exist_ok=True)
    (out / "frames.txt").write_text("".join(line + "\n" for line in frame_lines), encoding="utf-8")
    (out / "captions.txt").write_text("".join(caption + "\n" for caption in captions), encoding="utf-8")
    print(f"{len(captions)} videos, {frames} frames each: {out}/frames.txt, captions.txt")


if __name__ == "__main__":
    main(sys.argv[1:])
