#!/usr/bin/env python3
"""Golden fixtures for InternVL-G captioning (models/captioning.hpp, models/beam_search.hpp), made by
Hugging Face transformers' generate (4.37.2: beam search) and OpenGVLab's own modeling code (see
official.py; pass its directory as --reference). Run with the venv of make.py:
  python3 tests/golden/internvl/make_caption.py --reference /path/to/internvl_huggingface

beam_*   transformers' beam search alone, on a "table model": the logits of a row's next token are
         table[step, last token % 5] (table [S, 5, 12], vocabulary 12, eos 2, pad 0; pad's logits are
         far below the others so it is never generated). generate(input_ids=prompt [2, 1], num_beams,
         max_new_tokens, min_new_tokens, length_penalty) per case of CASES; saved per case:
           beam_{case}_table [S, 5, 12], beam_{case}_prompt [2], beam_{case}_tokens [2, max_new_tokens]
           (each input's best hypothesis, eos and pads removed, right-padded with -1),
           beam_{case}_scores [2] (sequences_scores; not for k1, generate's greedy path with one beam)
caption_* InternVLModel.generate (the official captioning path: queries then text, use_zero_attention_mask,
         key/value cache) on the committed tiny models (make.py) for the pixels tiny_pixels.npy [2, 3, 56, 56]
         and the prompt [BOS] + sp("English caption:") (add_eos_token=False), with evaluate_caption.py's
         settings: 5 beams, max_new_tokens 30, min_new_tokens 8:
           caption_prompt [T]
           caption_f32_prompt_logits [2, V]     the first step: logits of the prompt's last token
           caption_{run}_tokens [2, 30]         best hypotheses as above (without the BOS generate puts
                                                first), right-padded with -1
           caption_{run}_scores [2]
         runs: f32 (tiny_f32), bf16w (tiny_bf16's bf16 weights, run in f32). Each run is repeated in f64
         and must choose the same tokens: the decisions do not hang on f32 rounding.
"""
import argparse
import json
import pathlib

import numpy as np
import sentencepiece as spm
import torch
from safetensors.torch import load_file
from transformers import GenerationConfig, PretrainedConfig, PreTrainedModel
from transformers.modeling_outputs import CausalLMOutput

from official import build, import_reference

parser = argparse.ArgumentParser()
parser.add_argument("--reference", required=True, help="directory of OpenGVLab's internvl_huggingface modeling code")
args = parser.parse_args()
import_reference(args.reference)
from internvl_reference.configuration_internvl import InternVLConfig  # noqa: E402

here = pathlib.Path(__file__).resolve().parent
EOS, PAD = 2, 0


def save(name, array):
    np.save(here / f"{name}.npy", np.asarray(array))


def hypotheses(sequences, skip, width):
    """Generated tokens of each row without the prompt, the closing eos and pads, padded with -1 to width."""
    rows = []
    for row in sequences.tolist():
        row = row[skip:]
        while row and row[-1] == PAD:
            row.pop()
        if row and row[-1] == EOS:
            row.pop()
        assert PAD not in row and EOS not in row, row
        rows.append(row + [-1] * (width - len(row)))
    return np.array(rows, dtype=np.int64)


class TableModel(PreTrainedModel):
    """Logits of the next token = table[step, last token % 5]; step 0 is the first generated token."""
    config_class = PretrainedConfig

    def __init__(self, table, prompt_length):
        super().__init__(PretrainedConfig(is_decoder=True))
        self.table, self.prompt_length = table, prompt_length
        self.anchor = torch.nn.Parameter(torch.zeros(1))  # generate wants a device and a dtype

    def prepare_inputs_for_generation(self, input_ids, **kwargs):
        return {"input_ids": input_ids}

    def forward(self, input_ids, **kwargs):
        step = input_ids.shape[1] - self.prompt_length
        return CausalLMOutput(logits=self.table[step][input_ids[:, -1] % 5][:, None, :])


CASES = {  # name: num_beams, max_new_tokens, min_new_tokens, length_penalty, eos boost
    "k5": (5, 10, 3, 1.0, 2.5),
    "k3": (3, 8, 0, 0.6, 3.0),
    "k4": (4, 12, 2, 1.3, 2.0),
    "k2": (2, 6, 6, 1.0, 4.0),
    "k1": (1, 9, 2, 1.0, 3.0),  # one beam: transformers runs greedy_search, which has no scores
}

torch.manual_seed(7)
for name, (beams, max_new, min_new, penalty, boost) in CASES.items():
    table = torch.randn(max_new, 5, 12) * 1.5
    table[:, :, EOS] += boost * torch.rand(max_new, 5)  # eos often among the best: beams close early
    table[:, :, PAD] = -30.0
    prompt = torch.tensor([[3], [9]])
    model = TableModel(table, 1).eval()
    out = model.generate(input_ids=prompt, generation_config=GenerationConfig(
        num_beams=beams, max_new_tokens=max_new, min_new_tokens=min_new, length_penalty=penalty, do_sample=False,
        eos_token_id=EOS, pad_token_id=PAD, return_dict_in_generate=True, output_scores=True))
    save(f"beam_{name}_table", table.numpy())
    save(f"beam_{name}_prompt", prompt[:, 0].numpy().astype(np.int64))
    save(f"beam_{name}_tokens", hypotheses(out.sequences, 1, max_new))
    if beams > 1:
        save(f"beam_{name}_scores", out.sequences_scores.numpy())
    print(name, hypotheses(out.sequences, 1, max_new).tolist(), getattr(out, "sequences_scores", None))


def load(directory, dtype):
    config = InternVLConfig(**json.loads((directory / "config.json").read_text()))
    model = build(config)
    state = {}
    for file in sorted(directory.glob("*.safetensors")):
        state.update({k: v.to(torch.float32) for k, v in load_file(file).items()})
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected and all("rotary_emb" in k for k in missing), (missing, unexpected)
    return model.to(dtype)


sp = spm.SentencePieceProcessor(model_file=str(here / "tiny_f32" / "tokenizer.model"))
prompt = torch.tensor([[1] + sp.encode("English caption:")])
save("caption_prompt", prompt[0].numpy().astype(np.int64))
pixels = torch.from_numpy(np.load(here / "tiny_pixels.npy"))
settings = dict(num_beams=5, max_new_tokens=30, min_new_tokens=8, do_sample=False, use_cache=True,
                return_dict_in_generate=True, output_scores=True)
for run, directory in (("f32", "tiny_f32"), ("bf16w", "tiny_bf16")):
    results = {}
    for dtype in (torch.float32, torch.float64):
        torch.set_default_dtype(dtype)  # the official causal mask is made in the default dtype
        model = load(here / directory, dtype)
        ids = prompt.repeat(pixels.shape[0], 1)
        with torch.no_grad():
            out = model.generate(pixel_values=pixels.to(dtype), input_ids=ids, attention_mask=torch.ones_like(ids),
                                 **settings)
            # The first step alone: the prompt's last-token logits after the queries.
            image = model.vision_model(pixel_values=pixels.to(dtype), return_dict=True).last_hidden_state
            embeds = torch.cat([model.query_tokens.repeat(ids.shape[0], 1, 1), model.get_input_embeddings()(ids)], 1)
            logits = model.qllama(inputs_embeds=embeds, attention_mask=torch.ones(embeds.shape[:2], dtype=torch.long),
                                  vision_hidden_states=image, use_zero_attention_mask=True, use_cache=False,
                                  return_dict=True).logits[:, -1]
        assert (out.sequences[:, 0] == 1).all()  # generate starts the output with BOS, which is not fed
        results[dtype] = (hypotheses(out.sequences, 1, 30), out.sequences_scores, logits)
    torch.set_default_dtype(torch.float32)
    tokens, scores, logits = results[torch.float32]
    assert (tokens == results[torch.float64][0]).all(), "f32 and f64 choose different tokens"
    save(f"caption_{run}_tokens", tokens)
    save(f"caption_{run}_scores", scores.numpy())
    if run == "f32":
        save(f"caption_{run}_prompt_logits", logits.numpy())
    print(run, tokens.tolist(), scores.tolist(), results[torch.float64][1].tolist())
