#!/usr/bin/env python3
"""The table scripts/device-check prints last: CUDA test results (from Meson's testlog.json), InternViT-6B
forward passes (images/s ours vs PyTorch, model FLOP utilisation), GEMM TFLOP/s of ops::linear against
PyTorch and against the 8192^3 ceiling, fused attention against PyTorch's SDPA flash, and the status of every
step. Any input may be missing (a step failed or was skipped): its rows say so.
With --candidate-attention NAME=F, once per patched kernel (scripts/device-check's DEVICE_CHECK_CANDIDATE),
the attention table also gives each candidate's rates from the same run, against ours and against SDPA.
Usage: summarize.py --testlog F --linear F --attention F --torch F --steps F [--model F --torch-model F]
                    [--candidate-attention NAME=F ...]"""
import argparse
import json
import pathlib
import re

CATCH_ALL = re.compile(r"All tests passed \((\d+) assertions? in (\d+) test cases?\)")
CATCH_SOME = re.compile(r"test cases:\s*(\d+)\s*\|\s*(\d+) passed\s*\|\s*(\d+) failed")
GELU_FORM = re.compile(r"it computes the (\w+) form")


def load_json(path):
    try:
        return json.loads(pathlib.Path(path).read_text())
    except (OSError, ValueError):
        return None


def tests(path):
    lines = []
    try:
        records = [json.loads(line) for line in pathlib.Path(path).read_text().splitlines() if line.strip()]
    except (OSError, ValueError):
        return ["tests: no test log (the build or the test step failed)"], None
    passed = failed = skipped = 0
    gelu = None
    for t in records:
        name, result, out = t["name"], t["result"], t.get("stdout") or ""
        if m := GELU_FORM.search(out):
            gelu = m.group(1)
        if result == "SKIP":
            skipped += 1
            lines.append(f"  {name:<28} SKIP     {out.strip()[:60]}")
            continue
        if m := CATCH_ALL.search(out):
            cases, bad = int(m.group(2)), 0
        elif m := CATCH_SOME.search(out):
            cases, bad = int(m.group(1)), int(m.group(3))
        else:
            cases, bad = 1, 0 if result == "OK" else 1
        if result != "OK" and bad == 0:
            bad = 1  # crashed or timed out before Catch2 could count
        passed += cases - bad
        failed += bad
        lines.append(f"  {name:<28} {result:<8} {cases - bad} passed, {bad} failed ({t.get('duration', 0):.0f} s)")
    head = (f"tests (suite cuda): {passed} test cases passed, {failed} failed, in {len(records)} executables"
            + (f" ({skipped} skipped)" if skipped else ""))
    return [head] + lines, gelu


def bench_rows(report, prefix):
    rows = {}
    for b in (report or {}).get("benchmarks", []):
        if not b["name"].startswith(prefix) or b.get("run_type") == "aggregate":
            continue
        args = [(k, int(v)) for k, v in re.findall(r"(\w+):(\d+)", b["name"]) if k not in ("iterations", "repeats")]
        rows[tuple(v for _, v in args)] = b.get("TFLOPS")
    return rows


def configuration_rows(report, sdpa):
    """Each configuration of the fused kernel (BM_flash_attention<Dh,warps,row tiles,key tile>): TFLOP/s
    at each shape of its head dim, with the ratio to SDPA flash in parentheses."""
    by_config = {}
    for b in (report or {}).get("benchmarks", []):
        m = re.match(r"BM_flash_attention<([\d,]+)>/", b["name"])
        if m and b.get("run_type") != "aggregate":
            shape = tuple(int(v) for v in re.findall(r"(?:B|N|H|Dh):(\d+)", b["name"]))
            by_config.setdefault(m.group(1), []).append((shape, b.get("TFLOPS")))
    if not by_config:
        return []
    out = ["flash-attention configurations <Dh,warps,row tiles,key tile>: TFLOP/s (vs sdpa-flash) at B/N/H"]
    for config, rows in by_config.items():
        cells = []
        for shape, rate in sorted(rows, key=lambda r: r[0][1]):
            ref = sdpa.get(shape)
            ratio = f" ({rate / ref:.2f})" if rate and ref else ""
            cells.append(f"{shape[0]}/{shape[1]}/{shape[2]}: {fmt(rate, 5)}{ratio}")
        out.append(f"  <{config}>  " + "   ".join(cells))
    return out


def fmt(v, width=7, digits=1):
    return f"{v:{width}.{digits}f}" if isinstance(v, (int, float)) else f"{'-':>{width}}"


def model_rows(ours_path, torch_path):
    """InternViT-6B forward passes: ours (best of eager and graph) against PyTorch, and the targets."""
    ours, theirs = load_json(ours_path) or {}, load_json(torch_path) or {}
    mine = {(r["image"], r["batch"]): r for r in ours.get("models", [])}
    ref = {(r["image"], r["batch"]): r for r in theirs.get("models", [])}
    if not mine and not ref:
        return ["InternViT-6B forward: no results (bench_intern_vit and torch_intern_vit did not run)"]
    out = [f"InternViT-6B forward, bf16 (ours: bench_cuda_intern_vit; torch: {theirs.get('implementation', '-')})",
           "  model               batch  eager ms  graph ms  ours img/s  torch img/s  ratio  TFLOP/s   MFU"]
    for key in sorted(set(mine) | set(ref)):
        image, batch = key
        m, t = mine.get(key, {}), ref.get(key, {})
        label = f"{image}px ({m.get('blocks', t.get('blocks', '?'))} blocks)"
        ours_ips, torch_ips = m.get("images_per_s") or None, t.get("images_per_s")
        ratio = ours_ips / torch_ips if ours_ips and torch_ips else None
        mfu = m.get("mfu")
        out.append(f"  {label:<20}{batch:>5}{fmt(m.get('eager_ms'), 10, 2)}{fmt(m.get('graph_ms') or None, 10, 2)}"
                   f"{fmt(ours_ips, 12)}{fmt(torch_ips, 13)}{fmt(ratio, 7, 2)}{fmt(m.get('tflops'), 9)}"
                   f"{fmt(mfu * 100 if mfu else None, 6, 0)}%")
        for what in (m.get("error"), t.get("error")):
            if what:
                out.append(f"    ({what[:100]})")
        if m.get("allocations_after_first", 0) not in (0, -1):
            out.append(f"    (workspace allocated {m['allocations_after_first']} times after the first pass)")
    if ours.get("ceiling_tflops"):
        out.append(f"  (MFU against ops::linear bf16 8192^3 = {ours['ceiling_tflops']:.0f} TFLOP/s measured in the same run)")
    b32 = [(mine.get((img, 32), {}), ref.get((img, 32), {})) for img in (224, 448)]
    checks = []
    for (m, t), img in zip(b32, (224, 448)):
        if m.get("images_per_s") and t.get("images_per_s"):
            ratio = m["images_per_s"] / t["images_per_s"]
            checks.append(f"{img}px b32 {ratio:.2f}x torch ({'met' if ratio >= 1.2 else 'NOT met'}), "
                          f"MFU {100 * m['mfu']:.0f}% ({'met' if m['mfu'] >= 0.6 else 'NOT met'})")
    if checks:
        out.append("  targets (batch 32 >= 1.2x torch, MFU >= 60%): " + "; ".join(checks))
    return out


def main():
    p = argparse.ArgumentParser()
    for name in ("testlog", "linear", "attention", "torch", "steps"):
        p.add_argument("--" + name, required=True)
    p.add_argument("--model")
    p.add_argument("--torch-model")
    p.add_argument("--candidate-attention", action="append", default=[], metavar="NAME=FILE")
    a = p.parse_args()
    torch_report = load_json(a.torch) or {}
    model_report = load_json(a.torch_model) if a.torch_model else None
    header = torch_report if "device" in torch_report else (model_report or {})
    out = ["", "=" * 78, f"internvl-cpp CUDA device check: {header.get('device', '(device unknown)')}, "
           f"torch {header.get('torch', '?')}", "=" * 78]

    test_lines, gelu = tests(a.testlog)
    out += test_lines
    if gelu:
        out.append(f"  cuBLASLt's GELU epilogue computes the {gelu} form")

    if a.model or a.torch_model:
        out.append("")
        out += model_rows(a.model, a.torch_model)

    ours = bench_rows(load_json(a.linear), "BM_linear")
    theirs = {(r["M"], r["K"], r["N"], r["epilogue"]): r["tflops"] for r in torch_report.get("linear", [])}
    ceiling_ours, ceiling_torch = ours.get((8192, 8192, 8192, 0)), theirs.get((8192, 8192, 8192, 0))
    out.append("")
    out.append("GEMM bf16, TFLOP/s          ours  torch  ratio  of ceiling | +epilogue ours  torch  ratio")
    for key in sorted((k for k in set(ours) | set(theirs) if k[3] == 0), key=lambda k: (k == (8192, 8192, 8192, 0), k)):
        m, k, n, _ = key
        label = "8192^3 (ceiling)" if m == 8192 else f"M={m:<5} K={k:<5} N={n:<5}"
        mine, ref = ours.get(key), theirs.get(key)
        ratio = mine / ref if mine and ref else None
        share = mine / ceiling_ours if mine and ceiling_ours else None
        ep = (m, k, n, 1)
        ep_mine, ep_ref = ours.get(ep), theirs.get(ep)
        ep_ratio = ep_mine / ep_ref if ep_mine and ep_ref else None
        ep_cols = f"{fmt(ep_mine, 15)}{fmt(ep_ref)}{fmt(ep_ratio, 7, 2)}" if ep in ours or ep in theirs else ""
        out.append(f"  {label:<24}{fmt(mine)}{fmt(ref)}{fmt(ratio, 7, 2)}{fmt(share * 100 if share else None, 10, 0)}%"
                   f" |{ep_cols}")
    if ceiling_ours and ceiling_torch:
        out.append(f"  (ceiling: ours {ceiling_ours:.0f}, torch {ceiling_torch:.0f} TFLOP/s)")

    mine_att = bench_rows(load_json(a.attention), "BM_attention")
    ref_att = {(r["B"], r["N"], r["H"], r["Dh"]): r["tflops"] for r in torch_report.get("attention", [])}
    candidates = []  # (name, {shape: TFLOP/s}) in the order given
    for spec in a.candidate_attention:
        name, sep, path = spec.partition("=")
        if not sep:
            p.error(f"--candidate-attention wants NAME=FILE, got {spec!r}")
        candidates.append((name, bench_rows(load_json(path), "BM_attention")))
    out.append("")
    out.append("attention bf16 (non-causal), TFLOP/s     ours  sdpa-flash  ratio"
               + "".join(f" | {name:>14}  vs sdpa  vs ours" for name, _ in candidates))
    for key in sorted(set(mine_att) | set(ref_att), key=lambda k: (k[3], k[1])):
        b, n, h, dh = key
        mine, ref = mine_att.get(key), ref_att.get(key)
        ratio = mine / ref if mine and ref else None
        line = f"  B={b:<3} N={n:<5} H={h:<3} Dh={dh:<4}            {fmt(mine)}{fmt(ref, 12)}{fmt(ratio, 7, 2)}"
        for name, rates in candidates:
            c = rates.get(key)
            line += (f" |{fmt(c, 15)}{fmt(c / ref if c and ref else None, 9, 2)}"
                     f"{fmt(c / mine if c and mine else None, 8, 2)}")
        out.append(line)
    for name, rates in candidates:
        if not rates:
            out.append(f"  (candidate {name}: no results; see its steps below)")
    if "attention_error" in torch_report:
        out.append(f"  (SDPA flash failed: {torch_report['attention_error'][:60]})")
    out.extend(configuration_rows(load_json(a.attention), ref_att))

    out.append("")
    steps = pathlib.Path(a.steps).read_text().split("\n") if pathlib.Path(a.steps).exists() else []
    out.append("steps: " + ", ".join(s for s in steps if s.strip()))
    print("\n".join(out))


if __name__ == "__main__":
    main()
