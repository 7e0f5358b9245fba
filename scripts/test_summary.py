#!/usr/bin/env python3
"""Counts test cases over the given Meson build directories from meson-logs/testlog.json: a Catch2
executable contributes its own test-case counts, any other test counts as one case. Prints skipped
tests, then one last line "N passed, N failed". Exits 1 if anything failed."""
import json
import pathlib
import re
import sys

ALL_PASSED = re.compile(r"All tests passed \((\d+) assertions? in (\d+) test cases?\)")
SOME_FAILED = re.compile(r"test cases:\s*(\d+)\s*\|\s*(\d+) passed\s*\|\s*(\d+) failed")

passed = failed = skipped = 0
for build in sys.argv[1:]:
    log = pathlib.Path(build) / "meson-logs" / "testlog.json"
    if not log.exists():
        print(f"{build}: no test log")
        failed += 1
        continue
    for line in log.read_text().splitlines():
        test = json.loads(line)
        result, output = test["result"], test.get("stdout") or ""
        if result == "SKIP":
            skipped += 1
            continue
        ok = result in ("OK", "EXPECTEDFAIL")
        if m := ALL_PASSED.search(output):
            passed += int(m.group(2)) if ok else 0
            failed += 0 if ok else 1
        elif m := SOME_FAILED.search(output):
            passed += int(m.group(2))
            failed += max(int(m.group(3)), 0 if ok else 1)
        else:
            passed += 1 if ok else 0
            failed += 0 if ok else 1
if skipped:
    print(f"{skipped} test executables skipped (no GPU, or not applicable here)")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
