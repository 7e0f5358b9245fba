#!/usr/bin/env python3
"""Compiles one source file that must NOT compile, and passes only if the compiler's diagnostics
contain the expected message (so an unrelated build failure cannot pass as the intended error).
Usage: expect_compile_error.py --expect "message" -- <compiler and flags...> <source.cpp>"""
import argparse
import subprocess
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--expect", required=True)
parser.add_argument("command", nargs=argparse.REMAINDER)
args = parser.parse_args()
command = [c for c in args.command if c != "--"]
result = subprocess.run(command + ["-fsyntax-only"], capture_output=True, text=True)
if result.returncode == 0:
    print(f"FAIL: {command[-1]} compiled, but it must fail with: {args.expect}")
    sys.exit(1)
matching = [line for line in result.stderr.splitlines() if args.expect in line]
if not matching:
    print(f"FAIL: {command[-1]} failed to compile, but not with: {args.expect}\n{result.stderr[:4000]}")
    sys.exit(1)
print(f"ok: {matching[0].strip()}")
