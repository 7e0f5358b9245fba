#!/usr/bin/env python3
"""scripts/convert_heads.py on synthetic checkpoints with the official layouts (make_checkpoints.py): the head
files it writes (names, values, descriptions with the official defaults), the backbone directories, and the C++
programs run on the converted files against the expected outputs of tests/golden/heads; its errors.
Exit 77 (skipped) without torch / safetensors. Usage: test_convert_heads.py BUILD_EXAMPLES_DIR SOURCE_ROOT"""
import contextlib
import io
import json
import pathlib
import subprocess
import sys
import tempfile
import zipfile

try:
    import numpy as np
    import torch  # noqa: F401 (the converter needs it)
    from safetensors import safe_open
    from safetensors.torch import load_file
except ImportError as e:
    print(f"skipped: {e}")
    sys.exit(77)

build, root = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
golden = root / "tests" / "golden"
sys.path.insert(0, str(root / "scripts"))
import convert_heads  # noqa: E402 (run in this process: torch is imported once)

failures = []


def check(what, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + what + ("" if ok else f": {detail}"))
    if not ok:
        failures.append(what)


def convert(*args, status=0, message=""):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = convert_heads.main([str(a) for a in args])
        except SystemExit as e:  # argparse's usage errors
            code = e.code
    check(f"convert_heads {' '.join(map(str, args))} -> {status}", code == status and message in err.getvalue(),
          f"status {code}\n{out.getvalue()}\n{err.getvalue()}")
    return out.getvalue()


def description(path):
    with safe_open(str(path), "pt") as f:
        return json.loads(f.metadata()["internvl_head"]), set(f.keys())


def same_tensors(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


with tempfile.TemporaryDirectory() as tmp:
    tmp = pathlib.Path(tmp)
    subprocess.run([sys.executable, str(root / "tests" / "convert" / "make_checkpoints.py"), str(tmp)], check=True)

    # Classification: backbone + head from one checkpoint['model'], then the C++ program on the result.
    convert(tmp / "cls_probe.pth", "--backbone-out", tmp / "cls", "--num-heads", "4")
    config = json.loads((tmp / "cls" / "config.json").read_text())
    reference = json.loads((golden / "vision" / "tiny6b_orig_f32" / "config.json").read_text())
    check("backbone config.json matches the original one", all(config[k] == reference[k] for k in (
        "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "image_size", "patch_size",
        "qkv_bias", "qk_normalization", "norm_type")), config)
    check("backbone tensors are the original ones under the original names",
          same_tensors(load_file(tmp / "cls" / "model.safetensors"),
                       load_file(golden / "vision" / "tiny6b_orig_f32" / "model.safetensors")))
    check("head tensors are the checkpoint's (num_batches_tracked kept, clip_projector dropped)",
          same_tensors(load_file(tmp / "cls" / "head.safetensors"), load_file(golden / "heads" / "probe_e2e_last.safetensors")))
    d, _ = description(tmp / "cls" / "head.safetensors")
    check("probe description", d == {"type": "linear_probe", "num_classes": 6, "bn_eps": 1e-6}, d)
    r = subprocess.run([str(build / "classify"), "--model", str(tmp / "cls"), "--pixels",
                        str(golden / "vision" / "pixels_native.npy"), "--topk", "6"], capture_output=True, text=True)
    expected = np.load(golden / "heads" / "probe_e2e_last_probabilities.npy")
    got = np.zeros_like(expected)
    image = -1
    for line in r.stdout.splitlines():
        if line.startswith("# "):
            image = int(line[2:])
        else:
            label, p = line.split("\t")
            got[image, int(label)] = float(p)
    check("classify on the converted model and head gives the expected probabilities",
          r.returncode == 0 and np.abs(got - expected).max() < 2e-6, f"{r.stderr}\n{got}\n{expected}")

    # The released ImageNet head's layout: official defaults, ImageNet class names.
    convert(tmp / "cls_imagenet.pth", "--head-out", tmp / "imagenet.safetensors")
    d, names = description(tmp / "imagenet.safetensors")
    check("ImageNet head: 1000 classes, bn_eps 1e-6, the class names", d["num_classes"] == 1000 and d["bn_eps"] == 1e-6
          and d["labels"][0] == "tench" and len(d["labels"]) == 1000 and "layer" not in d, d)
    check("ImageNet head tensor names", names == {f"norm.{k}" for k in ("weight", "bias", "running_mean", "running_var",
                                                                         "num_batches_tracked")} | {"head.weight", "head.bias"})
    convert(tmp / "cls_imagenet.pth", "--head-out", tmp / "imagenet_layer.safetensors", "--layer", "44", "--labels", "none")
    d, _ = description(tmp / "imagenet_layer.safetensors")
    check("--layer and --labels none", d.get("layer") == 44 and "labels" not in d, d)

    # Attention pooling: the head count is required for widths other than the official ones.
    convert(tmp / "cls_attn_pool.pth", "--head-out", tmp / "pool.safetensors", status=1, message="--num-heads")
    convert(tmp / "cls_attn_pool.pth", "--head-out", tmp / "pool.safetensors", "--num-heads", "4")
    d, _ = description(tmp / "pool.safetensors")
    check("attention-pool head round trip", same_tensors(load_file(tmp / "pool.safetensors"),
                                                         load_file(golden / "heads" / "attention_pool_probe.safetensors"))
          and d == {"type": "attention_pool_probe", "num_classes": 7, "bn_eps": 1e-6, "ln_eps": 1e-5, "num_heads": 4}, d)

    # EMA weights beside the model's: model by default (with a note), model_ema with --ema.
    printed = convert(tmp / "cls_attn_pool_ema.pth", "--head-out", tmp / "pool_model.safetensors", "--num-heads", "4")
    check("a checkpoint with EMA weights converts 'model' and says --ema takes 'model_ema'",
          same_tensors(load_file(tmp / "pool_model.safetensors"),
                       load_file(golden / "heads" / "attention_pool_probe.safetensors")) and "--ema" in printed, printed)
    convert(tmp / "cls_attn_pool_ema.pth", "--head-out", tmp / "pool_ema.safetensors", "--num-heads", "4", "--ema")
    ema = torch.load(tmp / "cls_attn_pool_ema.pth", weights_only=True)["model_ema"]
    check("--ema converts 'model_ema'", same_tensors(load_file(tmp / "pool_ema.safetensors"), ema))
    convert(tmp / "cls_attn_pool.pth", "--head-out", tmp / "x.safetensors", "--num-heads", "4", "--ema", status=1,
            message="holds no EMA weights ('model_ema')")

    # mmseg UperNet: head without the auxiliary head and the frozen blocks, backbone separately; segment on both.
    convert(tmp / "seg_upernet.pth", "--head-out", tmp / "upernet.safetensors", "--backbone-out", tmp / "seg",
            "--num-heads", "4", "--layers", "0,1,1,2", "--crop-size", "42", "--stride", "20", "--labels", "none")
    d, names = description(tmp / "upernet.safetensors")
    check("UperNet head: exactly the official head tensors", names == set(load_file(golden / "heads" / "segment.safetensors")))
    check("UperNet description", d == {"type": "seg_upernet", "num_classes": 4, "bn_eps": 1e-5, "ln_eps": 1e-6,
                                       "layers": [0, 1, 1, 2], "channels": 8, "pool_scales": [1, 2, 3, 6],
                                       "crop_size": 42, "stride": 20}, d)
    r = subprocess.run([str(build / "segment"), "--model", str(tmp / "seg"), "--head", str(tmp / "upernet.safetensors"),
                        "--image", str(golden / "heads" / "segment_image.png"), "--out", str(tmp / "mask.png"), "--slide",
                        "--out-npy", str(tmp / "logits.npy")], capture_output=True, text=True)
    ok = r.returncode == 0 and (tmp / "logits.npy").exists()
    if ok:
        got, expected = np.load(tmp / "logits.npy"), np.load(golden / "heads" / "segment_logits.npy")
        ok = np.linalg.norm(got - expected) / np.linalg.norm(expected) <= 1e-5
    check("segment on the converted model and head gives the expected logits", ok, r.stderr)

    # mmseg linear head (legacy pickle format) with 150 classes: official defaults, ADE20K names and palette.
    convert(tmp / "seg_linear_ade.pth", "--head-out", tmp / "linear.safetensors")
    d, names = description(tmp / "linear.safetensors")
    check("ADE20K linear head: layer 44, crop 504, stride 322, bn_eps 1e-5, names and palette",
          d["layer"] == 44 and d["crop_size"] == 504 and d["stride"] == 322 and d["bn_eps"] == 1e-5
          and d["labels"][:3] == ["wall", "building", "sky"] and d["palette"][0] == [120, 120, 120]
          and len(d["palette"]) == 150, d)
    check("linear head tensor names", names == {f"decode_head.norm.{k}" for k in (
        "weight", "bias", "running_mean", "running_var", "num_batches_tracked")} | {"decode_head.conv_seg.weight",
                                                                                     "decode_head.conv_seg.bias"})

    # Errors.
    convert(tmp / "absent.pth", "--head-out", tmp / "x.safetensors", status=1, message="no such file")
    convert(tmp / "cls_imagenet.pth", status=1, message="give --head-out FILE and/or --backbone-out DIR")
    convert(tmp / "cls_imagenet.pth", "--backbone-out", tmp / "nothing", status=1, message="no InternViT backbone")
    convert(tmp / "seg_linear_ade.pth", "--head-out", tmp / "x.safetensors", "--labels", str(tmp / "absent.txt"),
            status=1, message="absent.txt")
    convert(tmp / "pickled_object.pth", "--head-out", tmp / "x.safetensors", status=1, message="--trust-pickle")
    convert(tmp / "pickled_object.pth", "--head-out", tmp / "x.safetensors", "--trust-pickle")
    # An mmcv checkpoint of the best epoch keeps its score as a numpy scalar: read without --trust-pickle.
    state = torch.load(tmp / "seg_linear_ade.pth", weights_only=True)
    state["meta"] = {"hook_msgs": {"best_score": np.float64(0.472), "best_ckpt": "best_mIoU_iter_80000.pth"}}
    torch.save(state, tmp / "best_score.pth")
    convert(tmp / "best_score.pth", "--head-out", tmp / "x.safetensors")
    # A pickled object whose package is not installed names the package.
    missing = type("CfgNode", (dict,), {"__module__": "yacs_not_installed.config"})
    sys.modules["yacs_not_installed"] = type(sys)("yacs_not_installed")
    sys.modules["yacs_not_installed.config"] = type(sys)("yacs_not_installed.config")
    sys.modules["yacs_not_installed.config"].CfgNode = missing
    torch.save({"model": torch.load(tmp / "cls_imagenet.pth", weights_only=True)["model"], "config": missing(a=1)},
               tmp / "yacs_config.pth")
    del sys.modules["yacs_not_installed.config"], sys.modules["yacs_not_installed"]
    convert(tmp / "yacs_config.pth", "--head-out", tmp / "x.safetensors", "--trust-pickle", status=1,
            message="needs the Python package 'yacs_not_installed'")
    convert(tmp, "--head-out", tmp / "x.safetensors", status=1, message="give --backbone-out DIR")
    state = torch.load(tmp / "seg_upernet.pth", weights_only=True)
    del state["state_dict"]["decode_head.fpn_convs.2.conv.weight"]
    torch.save(state, tmp / "incomplete.pth")
    convert(tmp / "incomplete.pth", "--head-out", tmp / "x.safetensors", status=1,
            message="the seg_upernet head lacks decode_head.fpn_convs.2.conv.weight")
    state = torch.load(tmp / "cls_imagenet.pth", weights_only=True)
    state["model"]["head.extra"] = torch.zeros(3)
    torch.save(state, tmp / "extra.pth")
    convert(tmp / "extra.pth", "--head-out", tmp / "x.safetensors", status=1,
            message="tensors a linear_probe head does not use: head.extra")

    # Broken checkpoints: named, never converted (torch.load does not check a zip member's CRC-32).
    data = bytearray((tmp / "cls_imagenet.pth").read_bytes())
    with zipfile.ZipFile(tmp / "cls_imagenet.pth") as archive:
        member = max(archive.infolist(), key=lambda m: m.file_size)
    local = member.header_offset
    start = local + 30 + int.from_bytes(data[local + 26:local + 28], "little") + int.from_bytes(
        data[local + 28:local + 30], "little")
    data[start + member.file_size // 2] ^= 0xFF
    (tmp / "flipped.pth").write_bytes(bytes(data))
    convert(tmp / "flipped.pth", "--head-out", tmp / "broken.safetensors", status=1, message="fails its CRC check")
    (tmp / "truncated.pth").write_bytes((tmp / "cls_imagenet.pth").read_bytes()[:100])
    convert(tmp / "truncated.pth", "--head-out", tmp / "broken.safetensors", status=1,
            message="truncated.pth: not a readable PyTorch checkpoint")
    (tmp / "text.pth").write_text("not a checkpoint\n")
    convert(tmp / "text.pth", "--head-out", tmp / "broken.safetensors", status=1,
            message="text.pth: not a readable PyTorch checkpoint")
    check("nothing written for broken checkpoints", not (tmp / "broken.safetensors").exists())
    for what, change, message in [
            ("classifier of 11 inputs after a norm of 16", lambda m: m.update({"head.weight": torch.randn(1000, 11)}),
             "head.weight has 11 input channels, norm.weight 16"),
            ("a bias of 7", lambda m: m.update({"head.bias": torch.randn(7)}), "head.bias has shape [7]"),
            ("a NaN weight", lambda m: m["head.bias"].__setitem__(0, float("nan")), "head.bias holds NaN"),
            ("integer weights", lambda m: m.update({"head.weight": torch.ones(1000, 16, dtype=torch.int64)}),
             "head.weight is torch.int64")]:
        state = torch.load(tmp / "cls_imagenet.pth", weights_only=True)
        change(state["model"])
        torch.save(state, tmp / "bad_head.pth")
        convert(tmp / "bad_head.pth", "--head-out", tmp / "x.safetensors", status=1, message=message)
    # Outputs that are not regular files are refused, not replaced (safetensors renames over them).
    (tmp / "link.safetensors").symlink_to(tmp / "elsewhere")
    convert(tmp / "cls_imagenet.pth", "--head-out", tmp / "link.safetensors", status=1,
            message="exists and is not a regular file")
    check("the link is left alone", (tmp / "link.safetensors").is_symlink())
    convert(tmp / "cls_imagenet.pth", "--head-out", tmp, status=1, message="exists and is not a regular file")
    # Flags and labels.
    convert(tmp / "cls_imagenet.pth", "--head-out", tmp / "x.safetensors", "--bn-eps", "nan", status=2)
    convert(tmp / "cls_attn_pool.pth", "--head-out", tmp / "x.safetensors", "--num-heads", "0", status=2)
    convert(tmp / "seg_linear_ade.pth", "--head-out", tmp / "x.safetensors", "--stride", "600", status=2)
    (tmp / "list.json").write_text('["a", "b"]')
    convert(tmp / "seg_linear_ade.pth", "--head-out", tmp / "x.safetensors", "--labels", tmp / "list.json", status=1,
            message='expected a JSON object with a "labels" list')
    (tmp / "palette.json").write_text(json.dumps({"labels": [str(i) for i in range(150)], "palette": [[1, 2, 3]] * 3}))
    convert(tmp / "seg_linear_ade.pth", "--head-out", tmp / "x.safetensors", "--labels", tmp / "palette.json",
            status=1, message="the palette must be 150 colours")
    # A backbone that cannot be described: nothing is written, the head included.
    state = torch.load(tmp / "cls_probe.pth", weights_only=False)
    state["model"]["blocks.x.foo"] = torch.zeros(1)
    torch.save(state, tmp / "bad_blocks.pth")
    convert(tmp / "bad_blocks.pth", "--backbone-out", tmp / "bad_blocks", "--num-heads", "4", status=1,
            message="encoder.layers.x.foo has no block number")
    check("no backbone directory or head written", not (tmp / "bad_blocks").exists())
    convert(tmp / "cls_probe.pth", "--backbone-out", tmp / "three_heads", "--num-heads", "3", status=1,
            message="--num-heads 3 does not divide the backbone's width")
    convert(tmp / "hf_bin", "--backbone-out", tmp / "hf_head", "--head-out", tmp / "x.safetensors", status=1,
            message="holds no head")

    # A Hugging Face directory of .bin shards (as OpenGVLab/InternViT-6B-224px publishes): names kept.
    convert(tmp / "hf_bin", "--backbone-out", tmp / "hf")
    check("HF .bin shards -> model.safetensors, config.json copied",
          same_tensors(load_file(tmp / "hf" / "model.safetensors"),
                       load_file(golden / "vision" / "tiny6b_orig_f32" / "model.safetensors"))
          and (tmp / "hf" / "config.json").read_text() == (tmp / "hf_bin" / "config.json").read_text())
    r = subprocess.run([str(build / "classify"), "--model", str(tmp / "hf"), "--head",
                        str(golden / "heads" / "probe_e2e_last.safetensors"), "--pixels",
                        str(golden / "vision" / "pixels_native.npy")], capture_output=True, text=True)
    check("classify reads the converted HF directory", r.returncode == 0, r.stderr)
    convert(tmp / "cls", "--backbone-out", tmp / "again", status=1, message="without pytorch_model*.bin shards")

print(f"{len(failures)} failed" if failures else "all passed")
sys.exit(1 if failures else 0)
