"""OpenGVLab's InternVL-C/G modeling code (the independent reference of make.py and make_caption.py),
imported from a directory that holds clip_benchmark/clip_benchmark/models/internvl_huggingface/ of
github.com/OpenGVLab/InternVL, with the two generalisations the tiny models need (the forward code runs
unmodified): LlamaCrossAttention builds its K/V projections and norm2 for a hard-coded vision width of
3200 -- they are rebuilt for the model's vision width; LlamaDecoderLayer hard-codes num_query_token = 96
-- it is set to the config's value."""
import importlib.util
import pathlib
import sys

import torch


def import_reference(directory):
    """The package of modeling code in `directory`, as internvl_reference."""
    spec = importlib.util.spec_from_file_location("internvl_reference", pathlib.Path(directory) / "__init__.py",
                                                  submodule_search_locations=[str(directory)])
    package = importlib.util.module_from_spec(spec)
    sys.modules["internvl_reference"] = package
    spec.loader.exec_module(package)
    return package


def build(config):
    """InternVLModel(config) in eval mode, generalised to the config's widths and query count."""
    from internvl_reference.modeling_internvl import InternVLModel
    from internvl_reference.modeling_qllama import LlamaRMSNorm
    model = InternVLModel(config).eval()
    width, eps = config.vision_config.hidden_size, config.qllama_config.rms_norm_eps
    for layer in model.qllama.model.layers:
        layer.num_query_token = config.num_query_token
        if layer.cross_attn is not None:
            d = config.qllama_config.hidden_size
            layer.cross_attn.k_proj = torch.nn.Linear(width, d, bias=False)
            layer.cross_attn.v_proj = torch.nn.Linear(width, d, bias=False)
            layer.cross_attn.norm2 = LlamaRMSNorm(width, eps=eps)
    return model
