#!/usr/bin/env python3
"""Writes tokens.json for tests/text/test_tokenizer.cpp: QLLaMA's tokenizer.model run through the Python
`sentencepiece` package (the independent reference) on a fixed, seeded set of texts.

For every text: the plain SentencePiece ids, their decoding, and the QLLaMA input row of the official
InternVL-C/G call, i.e. what LlamaTokenizer(add_bos_token=True, add_eos_token=True) gives for
tokenizer(["summarize:" + text], max_length=80, truncation=True, padding='max_length') with pad id 0:
    [1] + sp.encode("summarize:" + text)[:78] + [2] + [0] * (80 - length)
plus a few captioning prompts ([1] + sp.encode(prompt), no EOS, no padding, never truncated), and captions'
decodings as evaluate_caption.py takes them, tokenizer.decode(ids, skip_special_tokens=True).strip(): the
special tokens of the official tokenizer (<unk> 0, <s> 1, </s> 2, its pad token [PAD] 49953) dropped, then
sp.decode, then Python's strip().

When transformers 4.x is importable, the rows are also checked against its slow LlamaTokenizer (legacy=True, the
4.x default), and texts holding literal special-token strings ("</s>") report how HF differs; transformers 5.x
has no slow tokenizer and is not used. Run: python3 tests/golden/text/make.py [path/to/tokenizer.model]
(default: $INTERNVL_QLLAMA_TOKENIZER, else shared/data/qllama-tokenizer.model beside the repository)."""
import hashlib
import json
import os
import pathlib
import random
import sys

import sentencepiece as spm

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[2]
PREFIX, MAX_LENGTH, BOS, EOS, PAD = "summarize:", 80, 1, 2, 0

# The 80 English ImageNet templates of clip_benchmark (en_zeroshot_classification_templates.json, the OpenAI CLIP set).
EN_TEMPLATES = [
    "a bad photo of a {c}.", "a photo of many {c}.", "a sculpture of a {c}.", "a photo of the hard to see {c}.",
    "a low resolution photo of the {c}.", "a rendering of a {c}.", "graffiti of a {c}.", "a bad photo of the {c}.",
    "a cropped photo of the {c}.", "a tattoo of a {c}.", "the embroidered {c}.", "a photo of a hard to see {c}.",
    "a bright photo of a {c}.", "a photo of a clean {c}.", "a photo of a dirty {c}.", "a dark photo of the {c}.",
    "a drawing of a {c}.", "a photo of my {c}.", "the plastic {c}.", "a photo of the cool {c}.",
    "a close-up photo of a {c}.", "a black and white photo of the {c}.", "a painting of the {c}.",
    "a painting of a {c}.", "a pixelated photo of the {c}.", "a sculpture of the {c}.", "a bright photo of the {c}.",
    "a cropped photo of a {c}.", "a plastic {c}.", "a photo of the dirty {c}.", "a jpeg corrupted photo of a {c}.",
    "a blurry photo of the {c}.", "a photo of the {c}.", "a good photo of the {c}.", "a rendering of the {c}.",
    "a {c} in a video game.", "a photo of one {c}.", "a doodle of a {c}.", "a close-up photo of the {c}.",
    "a photo of a {c}.", "the origami {c}.", "the {c} in a video game.", "a sketch of a {c}.", "a doodle of the {c}.",
    "a origami {c}.", "a low resolution photo of a {c}.", "the toy {c}.", "a rendition of the {c}.",
    "a photo of the clean {c}.", "a photo of a large {c}.", "a rendition of a {c}.", "a photo of a nice {c}.",
    "a photo of a weird {c}.", "a blurry photo of a {c}.", "a cartoon {c}.", "art of a {c}.", "a sketch of the {c}.",
    "a embroidered {c}.", "a pixelated photo of a {c}.", "itap of the {c}.", "a jpeg corrupted photo of the {c}.",
    "a good photo of a {c}.", "a plushie {c}.", "a photo of the nice {c}.", "a photo of the small {c}.",
    "a photo of the weird {c}.", "the cartoon {c}.", "art of the {c}.", "a drawing of the {c}.",
    "a photo of the large {c}.", "a black and white photo of a {c}.", "the plushie {c}.", "a dark photo of a {c}.",
    "itap of a {c}.", "graffiti of the {c}.", "a toy {c}.", "itap of my {c}.", "a photo of a cool {c}.",
    "a photo of a small {c}.", "a tattoo of the {c}.",
]
EN_CLASSES = ["tench", "great white shark", "goldfish"]
# The first templates and class of the Chinese, Japanese and Arabic clip_benchmark files.
OTHER_TEMPLATES = [
    ("丁鲷", ["{c}的照片。", "质量差的{c}的照片。", "许多{c}的照片。", "{c}的雕塑。", "难以看到{c}的照片。"]),
    ("テンチ", ["{c}の悪い写真", "多くの{c}の写真", "{c}の彫刻", "見づらい{c}の写真", "{c}の低解像度写真"]),
    ("سمك التنش", ["{c}", "صورة سيئة لـ {c}", "صورة سيئة تحتوي على {c}", "نحت لشكل {c}", "نحت لـ {c}"]),
]

NAMED = {
    "english": "a photo of a red panda",
    "chinese": "一张熊猫的照片",
    "japanese": "二匹の猫の写真",
    "korean": "고양이 두 마리의 사진",
    "arabic": "صورة لقطتين على أريكة",
    "hebrew_rtl_mixed": "שלום world 123",
    "russian": "Фотография большой белой акулы",
    "thai": "ภาพถ่ายของแมว",
    "hindi": "एक बिल्ली की तस्वीर",
    "emoji": "😀🚀🐟 fish 🦈",
    "emoji_zwj_flags_skin": "👩‍👩‍👧‍👦 🇨🇳🇯🇵 👍🏽",
    "empty": "",
    "one_space": " ",
    "whitespace_only": "   \t \n ",
    "whitespace_runs": "a  b   c    d\t\te\n\nf",
    "leading_spaces": "   leading spaces",
    "trailing_spaces": "trailing spaces   ",
    "both_ends": "  both ends  ",
    "mixed_scripts": "InternVL 是一个 multimodal モデル مع 6B params!",
    "fullwidth": "ＡＢＣ１２３！？",
    "byte_fallback_rare_cjk": "𠀀𪚥𰻞",
    "byte_fallback_symbols": "𓀀 ꙮ 𝔸𝔹 𝄞 \ue000",
    "combining_nfd": "cafe\u0301 nai\u0308ve",
    "precomposed_nfc": "café naïve",
    "zero_width": "a\u200bb\u200dc\ufeffd",
    "lower_one_eighth_block": "\u2581hello \u2581\u2581world",
    "control_chars": "nul\x00tab\tbell\x07del\x7f",
    "newlines_crlf": "line one\r\nline two\rline three\n",
    "numbers_punct": "3.14159, 2,718; 1e-6 (~) [x] {y} <z> @#$%^&*_+=|\\/",
    "url_code": "https://github.com/OpenGVLab/InternVL?a=1&b=2 def f(x): return x**2",
    "prefix_inside": "summarize:summarize: again",
    "special_literal_eos": "x</s>y",
    "special_literal_spaced": "a <s> b </s> c <unk> d",
    "special_literal_pad_piece": "a [PAD] b",
    "long_truncated": "a very long caption of a great white shark swimming near the surface of the ocean " * 8,
    "long_chinese_truncated": "一只大白鲨在海洋表面附近游泳的非常长的描述，" * 12,
    "long_bytes_truncated": "𓀀" * 40,
}

# Seeded random texts over characters of many scripts, spaces included.
POOL = ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789     \t\n.,;:!?'\"-()"
        "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多"
        "あいうえおかきくけこアイウエオカキクケコ漢字東京猫犬"
        "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
        "абвгдежзийклмнопрстуфхцчшщъыьэюя"
        "αβγδεζηθικλμνξοπρστυφχψω"
        "éèêëàâäôöûüçñß"
        "😀😂🐟🦈🚀🌏❤️👍")


def random_texts(count, seed):
    rng = random.Random(seed)
    return [''.join(rng.choice(POOL) for _ in range(rng.randint(1, 60))) for _ in range(count)]


def model_path():
    if len(sys.argv) > 1:
        return pathlib.Path(sys.argv[1])
    if os.environ.get("INTERNVL_QLLAMA_TOKENIZER"):
        return pathlib.Path(os.environ["INTERNVL_QLLAMA_TOKENIZER"])
    return REPO.parent / "shared" / "data" / "qllama-tokenizer.model"


def qllama_row(sp, text: str):
    content = sp.encode(PREFIX + text)[: MAX_LENGTH - 2]
    row = [BOS] + content + [EOS]
    return row + [PAD] * (MAX_LENGTH - len(row)), len(row)


SPECIAL = {0, BOS, EOS, 49953}  # <unk>, <s>, </s>, [PAD]


def hf_check(path, cases, captions, decodes):
    """Compares with transformers 4.x's slow LlamaTokenizer; returns a note for the fixture."""
    try:
        import transformers
        from transformers import LlamaTokenizer
    except ImportError:
        return "not checked against transformers (not installed)"
    if int(transformers.__version__.split(".")[0]) >= 5:
        return f"not checked against transformers {transformers.__version__} (no slow LlamaTokenizer in 5.x)"
    hf = LlamaTokenizer(vocab_file=str(path), add_bos_token=True, add_eos_token=True, legacy=True)
    hf.pad_token_id = 0
    differing = []
    for case in cases:
        if "text" not in case:
            continue  # invalid UTF-8 cannot be a Python str
        row = hf(["summarize:" + case["text"]], return_tensors="pt", max_length=80, truncation=True,
                 padding="max_length").input_ids[0].tolist()
        if row != case["qllama"]:
            differing.append(case["name"])
            print(f"transformers {transformers.__version__} differs on {case['name']!r}:\n"
                  f"  sentencepiece {[i for i in case['qllama'] if i]}\n  transformers  {[i for i in row if i]}")
    unexpected = [n for n in differing if not n.startswith("special_literal")]
    assert not unexpected, f"transformers differs from the sentencepiece rule on {unexpected}"
    hf.add_eos_token = False
    for case in captions:
        assert hf(case["text"]).input_ids == case["ids"], case["text"]
    hf.pad_token = "[PAD]"  # the official tokenizer's (special_tokens_map.json of the checkpoints)
    for case in decodes:
        assert hf.decode(case["ids"], skip_special_tokens=True).strip() == case["text"], case
    note = f"checked against transformers {transformers.__version__} LlamaTokenizer(legacy=True)"
    return note + (f"; it maps literal special tokens to control ids in {differing}" if differing else "")


def main():
    path = model_path()
    sp = spm.SentencePieceProcessor(model_file=str(path))
    assert sp.get_piece_size() == 49954, "not QLLaMA's tokenizer.model"

    texts = list(NAMED.items())
    texts += [(f"en_template_{c.replace(' ', '_')}_{i:02d}", t.format(c=c))
              for c in EN_CLASSES for i, t in enumerate(EN_TEMPLATES)]
    texts += [(f"template_{c}_{i}", t.format(c=c)) for c, ts in OTHER_TEMPLATES for i, t in enumerate(ts)]
    texts += [(f"random_{i:02d}", t) for i, t in enumerate(random_texts(24, seed=20240611))]
    # Content of exactly 77, 78 and 79 tokens after the prefix ("summarize:" is 3 tokens): the truncation edge.
    for n in (74, 75, 76):
        texts.append((f"edge_{n + 3}_content_tokens", " a" * n))

    cases = []
    for name, text in texts:
        row, length = qllama_row(sp, text)
        ids = sp.encode(text)
        cases.append({"name": name, "text": text, "ids": ids, "decoded": sp.decode(ids), "qllama": row,
                      "length": length})
    # Invalid UTF-8 (lone continuation byte, truncated sequence, 0xFF): SentencePiece reads each bad byte as U+FFFD.
    for name, raw in [("invalid_utf8_ff", b"a\xffb"), ("invalid_utf8_truncated", b"\xe4\xbd"),
                      ("invalid_utf8_continuation", b"x\x80y\xbf")]:
        ids = sp.encode(raw)
        content = sp.encode(PREFIX.encode() + raw)[: MAX_LENGTH - 2]
        row = [BOS] + content + [EOS]
        cases.append({"name": name, "bytes_hex": raw.hex(), "ids": ids, "decoded": sp.decode(ids),
                      "qllama": row + [PAD] * (MAX_LENGTH - len(row)), "length": len(row)})
    for case in cases:
        if case["name"].startswith(("long_", "edge_80", "edge_81")):
            assert case["length"] == MAX_LENGTH, case["name"]

    captions = [{"text": t, "ids": [BOS] + sp.encode(t)}
                for t in ["English caption:", "中文描述：", "English caption: a red panda", "a photo of " * 30]]
    decodes = []
    for ids in [[263, 0, 2654], [263, 49953, 2654], [13255, 31353], [1, 263, 2654, 2], [29871, 263, 29871],
                [0, 49953, 2], [2], sp.encode(" a red panda 　"), sp.encode(" caption ")]:
        decodes.append({"ids": ids, "text": sp.decode([i for i in ids if i not in SPECIAL]).strip()})
    pieces = {str(i): sp.id_to_piece(i) for i in [0, 1, 2, 3, 4, 131, 258, 259, 263, 29871, 30140, 49953]}

    fixture = {
        "model_md5": hashlib.md5(path.read_bytes()).hexdigest(),
        "vocab_size": sp.get_piece_size(),
        "format": {"prefix": PREFIX, "max_length": MAX_LENGTH, "bos": BOS, "eos": EOS, "pad": PAD},
        "reference": f"sentencepiece {spm.__version__}; " + hf_check(path, cases, captions, decodes),
        "pieces": pieces,
        "captioning": captions,
        "decodes_skipping_special": decodes,
        "cases": cases,
    }
    # One case per line keeps the file diffable.
    lines = ",\n".join(json.dumps(c, ensure_ascii=False, separators=(",", ":")) for c in cases)
    head = json.dumps({k: v for k, v in fixture.items() if k != "cases"}, ensure_ascii=False)[:-1]
    (HERE / "tokens.json").write_text(head + ', "cases": [\n' + lines + "\n]}\n", encoding="utf-8")
    print(f"wrote {len(cases)} cases; {fixture['reference']}")


if __name__ == "__main__":
    main()
