#!/usr/bin/env python3
"""The retrieve example on the retrieval fixtures (tests/golden/retrieval, written by make_retrieval.py with
clip_benchmark's scoring in numpy): recall@K in both directions and their mean as the fixture has them, with
the pairing from --text-images and from --texts-per-image, and with --dual-softmax the official video
retrieval's scores (test_msrvtt.py); rows of any length give the same output (they are
normalised); and bad arguments and files: usage errors exit 2 with the usage, bad files exit 1 with a message
naming the file (and line) and what is wrong.
Usage: test_retrieve.py BUILD_EXAMPLES_DIR GOLDEN_DIR"""
import json
import pathlib
import subprocess
import sys
import tempfile

import numpy as np

retrieve = str(pathlib.Path(sys.argv[1]) / "retrieve")
golden = pathlib.Path(sys.argv[2]) / "retrieval"
failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print("FAIL:", what)


def run(*args):
    result = subprocess.run([retrieve, *map(str, args)], capture_output=True, text=True)
    return result.returncode, result.stdout, result.stderr


def expect_error(args, status, *fragments):
    code, out, err = run(*args)
    check(code == status and not out, f"retrieve {args}: exit {code}, expected {status}, stdout {out!r}")
    check((status == 2) == ("usage: retrieve" in err), f"retrieve {args}: usage shown only for usage errors: {err!r}")
    for fragment in fragments:
        check(fragment in err, f"retrieve {args}: stderr lacks {fragment!r}: {err.strip()}")


def expected_table(case, ks):
    """The lines retrieve prints for a fixture case, from the fixture's recalls."""
    image_to_text = [100 * case["image_to_text_recall"][str(k)] for k in ks]
    text_to_image = [100 * case["text_to_image_recall"][str(k)] for k in ks]
    return {
        "image-to-text": [f"{r:.2f}" for r in image_to_text],
        "text-to-image": [f"{r:.2f}" for r in text_to_image],
        "mean": [f"{np.mean(image_to_text + text_to_image):.2f}"],
    }


def printed_table(out):
    return {line.split()[0]: line.split()[1:] for line in out.strip().split("\n")[2:]}


fixtures = json.loads((golden / "retrieval.json").read_text())
ks = fixtures["ks"]
with tempfile.TemporaryDirectory() as tmp:
    tmp = pathlib.Path(tmp)
    varied, grouped = fixtures["varied"], fixtures["grouped"]
    varied_images, varied_texts = golden / "varied_images.npy", golden / "varied_texts.npy"
    text_images = tmp / "text_images.txt"
    text_images.write_text("".join(f"{g}\n" for g in varied["image_of_text"]))

    code, out, err = run("--image-embeddings", varied_images, "--text-embeddings", varied_texts,
                         "--text-images", text_images)
    check(code == 0 and out.startswith("images 24, texts 70, width 32\n") and
          printed_table(out) == expected_table(varied, ks), f"varied case: exit {code}: {out}{err}")
    # Rows scaled by positive factors are the same embeddings once normalised.
    rng = np.random.default_rng(7)
    for name in ("images", "texts"):
        rows = np.load(golden / f"varied_{name}.npy")
        np.save(tmp / f"scaled_{name}.npy", (rows * rng.uniform(0.5, 3.0, (rows.shape[0], 1))).astype(np.float32))
    code, scaled_out, err = run("--image-embeddings", tmp / "scaled_images.npy", "--text-embeddings",
                                tmp / "scaled_texts.npy", "--text-images", text_images)
    check(code == 0 and scaled_out == out, f"scaled rows: exit {code}: {scaled_out}{err}")

    code, out, err = run("--image-embeddings", golden / "grouped_images.npy", "--text-embeddings",
                         golden / "grouped_texts.npy", "--texts-per-image", 3, "--k", "10,1,5")
    check(code == 0 and printed_table(out) == expected_table(grouped, [10, 1, 5]) and
          out.split("\n")[1].split()[2:] == ["R@10", "R@1", "R@5"], f"grouped case: exit {code}: {out}{err}")
    # --dual-softmax: the official video retrieval's scores (test_msrvtt.py), on the case of one text per video.
    paired = ["--image-embeddings", golden / "paired_images.npy", "--text-embeddings", golden / "paired_texts.npy",
              "--texts-per-image", 1]
    code, out, err = run(*paired, "--dual-softmax")
    check(code == 0 and out.startswith("images 20, texts 20, width 32, scored by the dual softmax\n") and
          printed_table(out) == expected_table(fixtures["paired"]["dual_softmax"], ks),
          f"paired case, dual softmax: exit {code}: {out}{err}")
    code, out, err = run(*paired)
    check(code == 0 and printed_table(out) == expected_table(fixtures["paired"], ks),
          f"paired case, cosine: exit {code}: {out}{err}")

    # Usage errors.
    both = ["--image-embeddings", varied_images, "--text-embeddings", varied_texts]
    expect_error([], 2, "missing required option --image-embeddings")
    expect_error(["--image-embeddings", varied_images], 2, "missing required option --text-embeddings")
    expect_error(both, 2, "give exactly one of --texts-per-image and --text-images")
    expect_error(both + ["--texts-per-image", 3, "--text-images", text_images], 2, "give exactly one of")
    expect_error(both + ["--texts-per-image", 0], 2, "--texts-per-image must be at least 1, got 0")
    for bad in ("0", "1,,5", "a", "5,", "-1", ""):
        expect_error(both + ["--text-images", text_images, "--k", bad], 2,
                     f"--k expects positive integers separated by commas, got '{bad}'")
    expect_error(both + ["--text-images", text_images, "--top", 3], 2, "unknown argument '--top'")

    # Bad files and sizes.
    expect_error(both + ["--texts-per-image", 3], 1, "varied_texts.npy: holds 70 texts, not 3 for each of the 24 images")
    expect_error(both + ["--text-images", text_images, "--k", "1,25"], 1,
                 "recall@25 needs at least 25 images and texts to rank; there are 24 images and 70 texts")
    lines = [str(g) for g in varied["image_of_text"]]
    for line, value, message in [(5, "x", "'x' is not an image row (0 to 23)"), (9, "24", "'24' is not an image row"),
                                 (2, "-1", "'-1' is not an image row"), (3, " 4", "' 4' is not an image row")]:
        broken = list(lines)
        broken[line - 1] = value
        (tmp / "broken.txt").write_text("\n".join(broken) + "\n")
        expect_error(both + ["--text-images", tmp / "broken.txt"], 1, f"broken.txt:{line}: {message}")
    (tmp / "short.txt").write_text("\n".join(lines[:-1]) + "\n")
    expect_error(both + ["--text-images", tmp / "short.txt"], 1,
                 "short.txt: names the image of 69 texts; the text embeddings hold 70")
    without_2 = [g if g != 2 else 3 for g in varied["image_of_text"]]
    (tmp / "without_2.txt").write_text("".join(f"{g}\n" for g in without_2))
    expect_error(both + ["--text-images", tmp / "without_2.txt"], 1,
                 "without_2.txt: no line names image 2: every image needs a text to be retrieved by")
    (tmp / "trailing_blank.txt").write_text("\n".join(lines) + "\n\n\n")  # blank lines at the end are allowed
    code = subprocess.run([str(retrieve), *map(str, both + ["--text-images", tmp / "trailing_blank.txt"])],
                          capture_output=True).returncode
    check(code == 0, f"retrieve with blank lines after --text-images' last: exit {code}")
    expect_error(["--image-embeddings", tmp / "none.npy", "--text-embeddings", varied_texts, "--texts-per-image", 1],
                 1, "none.npy")
    expect_error(both + ["--text-images", tmp], 1, "is a directory, not the text-images file")
    np.save(tmp / "three_d.npy", np.zeros((2, 3, 4), dtype=np.float32))
    expect_error(["--image-embeddings", tmp / "three_d.npy", "--text-embeddings", varied_texts, "--texts-per-image", 1],
                 1, "three_d.npy")
    np.save(tmp / "narrow.npy", np.load(varied_texts)[:, :16])
    expect_error(["--image-embeddings", varied_images, "--text-embeddings", tmp / "narrow.npy", "--text-images",
                  text_images], 1, "narrow.npy: holds 16-wide embeddings, ")
    for name, value in [("zero", 0.0), ("nan", np.nan)]:
        rows = np.load(varied_images)
        rows[3] = value
        np.save(tmp / f"{name}.npy", rows)
        expect_error(["--image-embeddings", tmp / f"{name}.npy", "--text-embeddings", varied_texts, "--text-images",
                      text_images], 1, f"{name}.npy: row 3 has no direction (its L2 norm is")
    np.save(tmp / "empty.npy", np.zeros((0, 32), dtype=np.float32))
    expect_error(["--image-embeddings", tmp / "empty.npy", "--text-embeddings", varied_texts, "--texts-per-image", 1],
                 1, "empty.npy: holds no embeddings (shape [0, 32])")

    # scripts/retrieval_inputs.py: the images, the captions cleaned as clip_benchmark's pre_caption cleans them
    # (lower case; . ! " ( ) * # : ; ~ made spaces; runs of spaces one; ends stripped; 50 words at most) and each
    # caption's image row, from Flickr30K's Karpathy text file (images in order of first appearance) and from a
    # COCO captions file (images by id); retrieve reads the rows.
    script = golden.parent.parent.parent / "scripts" / "retrieval_inputs.py"
    long = " ".join(f"w{i}" for i in range(60))
    (tmp / "flickr.txt").write_text("image,caption\n2.jpg,A dog: (big)  runs!\n1.jpg,Two men, one hat.\n"
                                    f"2.jpg,\"Quoted\" ~ text; here#*\n\n1.jpg,{long}.\n")
    (tmp / "coco.json").write_text(json.dumps({
        "images": [{"id": 9, "file_name": "b.jpg"}, {"id": 3, "file_name": "a.jpg"}],
        "annotations": [{"image_id": 9, "caption": "B one.", "id": 1}, {"image_id": 3, "caption": "A one\n", "id": 2},
                        {"image_id": 9, "caption": "B two", "id": 3}]}))
    for dataset, annotation, images, captions, rows in [
            ("flickr30k", "flickr.txt", ["2.jpg", "1.jpg"],
             ["a dog big runs", "quoted text here", "two men, one hat", " ".join(f"w{i}" for i in range(50))], [0, 0, 1, 1]),
            ("coco", "coco.json", ["a.jpg", "b.jpg"], ["a one", "b one", "b two"], [0, 1, 1])]:
        made = subprocess.run([sys.executable, str(script), dataset, str(tmp / annotation), "imgs", str(tmp / dataset)],
                              capture_output=True, text=True)
        read = (lambda name: (tmp / dataset / name).read_text().splitlines()) if made.returncode == 0 else (lambda _: [])
        check(read("images.txt") == [f"imgs/{name}" for name in images] and read("captions.txt") == captions and
              read("text_images.txt") == [str(r) for r in rows],
              f"retrieval_inputs.py {dataset}: {made.stderr} {read('images.txt')} {read('captions.txt')} "
              f"{read('text_images.txt')}")
    np.save(tmp / "two_images.npy", np.eye(2, 4, dtype=np.float32))
    np.save(tmp / "three_texts.npy", np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0.9, 0.1, 0, 0]], dtype=np.float32))
    code, out, err = run("--image-embeddings", tmp / "two_images.npy", "--text-embeddings", tmp / "three_texts.npy",
                         "--text-images", tmp / "coco" / "text_images.txt", "--k", "1")
    check(code == 0 and "image-to-text" in out, f"retrieve --text-images from retrieval_inputs.py: {code} {out} {err}")
    (tmp / "bad_flickr.txt").write_text("image,caption\nno image here\n")
    bad = subprocess.run([sys.executable, str(script), "flickr30k", str(tmp / "bad_flickr.txt"), "imgs", str(tmp / "bad")],
                         capture_output=True, text=True)
    check(bad.returncode != 0 and "bad_flickr.txt:2: expected '<image>.jpg,<caption>'" in bad.stderr,
          f"retrieval_inputs.py on a bad line: {bad.returncode} {bad.stderr}")
    (tmp / "not_json.json").write_text("{bad")
    (tmp / "no_id.json").write_text(json.dumps({"images": [{"file_name": "a.jpg"}], "annotations": []}))
    for dataset, annotation, message in [("coco", tmp / "missing.json", "missing.json: cannot read it"),
                                         ("coco", tmp / "not_json.json", "not_json.json: not JSON"),
                                         ("coco", tmp / "no_id.json", 'no_id.json: images[0]: expected an "id"')]:
        bad = subprocess.run([sys.executable, str(script), dataset, str(annotation), "imgs", str(tmp / "bad")],
                             capture_output=True, text=True)
        check(bad.returncode == 1 and message in bad.stderr and "Traceback" not in bad.stderr,
              f"retrieval_inputs.py {annotation.name}: {bad.returncode} {bad.stderr}")

    # scripts/video_retrieval_inputs.py: test_msrvtt.py's frames of each video (of n frames, interval ceil(n / F),
    # the frames (0, interval, ...) + interval // 2, in the order of the numbers in their names) and the captions
    # as given; a video the official sampling cannot serve stops it, naming the video.
    script = golden.parent.parent.parent / "scripts" / "video_retrieval_inputs.py"
    for video, count in [("video1", 24), ("video2", 16), ("short", 9)]:
        (tmp / "frames" / video).mkdir(parents=True)
        for k in range(1, count + 1):
            (tmp / "frames" / video / f"{k}.png").write_bytes(b"")  # 1.png .. 24.png: 10.png sorts after 9.png
        (tmp / "frames" / video / "notes.txt").write_text("not a frame")
    (tmp / "msrvtt.json").write_text(json.dumps([{"video": "video1.mp4", "caption": "A Man: cooks (pasta)."},
                                                 {"video": "video2.mp4", "caption": "two cats"}]))
    for frames, picked in [(8, [[2, 5, 8, 11, 14, 17, 20, 23], [2, 4, 6, 8, 10, 12, 14, 16]]), (1, [[13], [9]])]:
        made = subprocess.run([sys.executable, str(script), str(tmp / "msrvtt.json"), str(tmp / "frames"), str(frames),
                               str(tmp / f"videos{frames}")], capture_output=True, text=True)
        read = (lambda name: (tmp / f"videos{frames}" / name).read_text().splitlines()) if made.returncode == 0 else (
            lambda _: [])
        want = [str(tmp / "frames" / video / f"{k}.png") for video, ks in zip(("video1", "video2"), picked) for k in ks]
        check(read("frames.txt") == want and read("captions.txt") == ["A Man: cooks (pasta).", "two cats"],
              f"video_retrieval_inputs.py, {frames} frames: {made.stderr} {read('frames.txt')} {read('captions.txt')}")
    (tmp / "short.json").write_text(json.dumps([{"video": "short.mp4", "caption": "x"}]))
    (tmp / "missing.json").write_text(json.dumps([{"video": "none.mp4", "caption": "x"}]))
    (tmp / "no_caption.json").write_text(json.dumps([{"video": "video1.mp4"}]))
    (tmp / "frames" / "empty").mkdir()
    (tmp / "frames" / "empty" / "notes.txt").write_text("no frame")
    (tmp / "empty.json").write_text(json.dumps([{"video": "empty.mp4", "caption": "x"}]))
    for metadata, message in [("short.json", "short: 9 frames, from which test_msrvtt.py's sampling does not give 8"),
                              ("missing.json", "none: no such directory: the frames of none.mp4"),
                              ("empty.json", "empty: no frame images (.png, .jpg, .ppm) in it: the frames of empty.mp4"),
                              ("no_caption.json", 'no_caption.json: [0]: expected a "video" and a "caption"'),
                              ("absent.json", "absent.json: cannot read it")]:
        bad = subprocess.run([sys.executable, str(script), str(tmp / metadata), str(tmp / "frames"), "8",
                              str(tmp / "bad")], capture_output=True, text=True)
        check(bad.returncode == 1 and message in bad.stderr and "Traceback" not in bad.stderr,
              f"video_retrieval_inputs.py {metadata}: {bad.returncode} {bad.stderr}")

print(f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
