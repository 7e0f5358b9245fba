#!/usr/bin/env python3
"""Writes utf8.json for tests/text/test_utf8.cpp: byte strings and where Python's own UTF-8 decoder (the
independent reference) finds the first ill-formed sequence (UnicodeDecodeError.start), or null where it
decodes them. The strings pair every boundary byte of Unicode's table 3-7 (each lead byte's first and last
value, each second byte just inside and just outside its range) with every other, whole and truncated,
plus the first and last code point of each row and seeded random strings, well-formed and not.
Also writes utf8_strip.json: well-formed strings and what Python's str.strip() leaves of them, for
text::strip_whitespace: every code point str.isspace() accepts and some it does not (U+200B, U+FEFF, U+180E),
at either end, alone, repeated and around text.
Run from anywhere: python3 tests/golden/text/make_utf8.py"""
import json
import pathlib
import random

HERE = pathlib.Path(__file__).resolve().parent
BOUNDARY_BYTES = [0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1,
                  0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFE, 0xFF]


def first_ill_formed(raw):
    try:
        raw.decode("utf-8")
        return None
    except UnicodeDecodeError as error:
        return error.start


cases = set()
for lead in BOUNDARY_BYTES:
    for second in BOUNDARY_BYTES:
        for tail in (b"", b"\x80\xbf", b"\x41"):
            cases.add(b"a" + bytes([lead, second]) + tail)
for text in ["", "plain ascii", "é", "中文", "𝄞", "\U0010FFFF", "\uFEFFbom", "\uD7FF\uE000"]:
    cases.add(text.encode("utf-8"))
# Every first and last code point of each row of the table, and random well-formed strings.
for cp in [0x7F, 0x80, 0x7FF, 0x800, 0xFFF, 0x1000, 0xCFFF, 0xD000, 0xD7FF, 0xE000, 0xFFFF, 0x10000, 0x3FFFF,
           0x40000, 0xFFFFF, 0x100000, 0x10FFFF]:
    cases.add(chr(cp).encode("utf-8"))
rng = random.Random(20261128)
for _ in range(300):
    points = [rng.choice([rng.randint(0, 0xD7FF), rng.randint(0xE000, 0x10FFFF)]) for _ in range(rng.randint(1, 4))]
    cases.add("".join(map(chr, points)).encode("utf-8"))
for _ in range(1000):
    cases.add(bytes(rng.choice(BOUNDARY_BYTES) for _ in range(rng.randint(1, 8))))

# [hex bytes, offset of the first ill-formed sequence or null], one pair per case
fixture = [[raw.hex(), first_ill_formed(raw)] for raw in sorted(cases)]
(HERE / "utf8.json").write_text(json.dumps(fixture, separators=(",", ":")) + "\n")
print(f"{len(fixture)} cases, {sum(c[1] is None for c in fixture)} well-formed")

# [hex bytes, hex bytes of str.strip()], one pair per case
spaces = [chr(c) for c in range(0x110000) if chr(c).isspace()]
not_spaces = ["\u200b", "\ufeff", "\u180e", "x", "中", "\U0001F600"]
strip_cases = {"", "a", " a ", "a b", "\u3000中文\u3000", "\u2028caption\u2028\u2029 "}
for c in spaces + not_spaces:
    strip_cases.update({c, c * 3, c + "ab" + c, "ab" + c, c + "ab", c + " 中 " + c, " " + c + "x" + c + " "})
for _ in range(300):
    strip_cases.add("".join(rng.choice(spaces + not_spaces + ["a", "é", " "]) for _ in range(rng.randint(1, 6))))
strips = [[t.encode("utf-8").hex(), t.strip().encode("utf-8").hex()] for t in sorted(strip_cases)]
(HERE / "utf8_strip.json").write_text(json.dumps(strips, separators=(",", ":")) + "\n")
print(f"{len(strips)} strip cases")
