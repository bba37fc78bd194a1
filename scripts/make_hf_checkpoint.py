#!/usr/bin/env python3
"""Turn a Llama or Qwen2 GGUF into a Hugging Face checkpoint directory (issue 18), without torch.

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install numpy gguf
    /tmp/venv/bin/python scripts/make_hf_checkpoint.py MODEL.gguf OUT_DIR --dtype float32|bfloat16

Writes config.json, generation_config.json and model.safetensors in transformers' layout: tensors
renamed (token_embd -> model.embed_tokens, blk.N.attn_q -> model.layers.N.self_attn.q_proj, ...),
dequantized by the PyPI `gguf` package, and for `llama` files the Q/K rows un-permuted back to
transformers' rotate-half order (the inverse of convert_hf_to_gguf.py's `permute`; `qwen2` GGUFs
store them unpermuted). float32 holds the dequantized values exactly; bfloat16 rounds them to
nearest even. The tokenizer files are not written (tokenizer.json is another part of issue 18).

transformers + torch would do the same through `from_config` + `save_pretrained`; torch from PyPI
pulls several GB of CUDA wheels here, so this script writes the safetensors format directly.
"""
import argparse
import json
import os
import struct

import numpy as np
from gguf import GGUFReader
import gguf.quants as quants

NAMES = {
    "attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm",
    "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
}


def hf_name(name):
    if name == "token_embd.weight":
        return "model.embed_tokens.weight"
    if name == "output_norm.weight":
        return "model.norm.weight"
    if name == "output.weight":
        return "lm_head.weight"
    _, layer, kind, suffix = name.split(".")
    return f"model.layers.{layer}.{NAMES[kind]}.{suffix}"


def unpermute(w, heads):
    """Inverse of llama.cpp's permute: adjacent-pair rows back to rotate-half rows, per head."""
    return w.reshape(heads, w.shape[0] // heads // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def to_bytes(values, dtype):
    f32 = np.ascontiguousarray(values, dtype=np.float32)
    if dtype == "float32":
        return "F32", f32.tobytes()
    bits = f32.view(np.uint32).astype(np.uint64)
    return "BF16", ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16).tobytes()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("gguf")
    parser.add_argument("out")
    parser.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
    args = parser.parse_args()
    reader = GGUFReader(args.gguf)
    field = lambda key: reader.fields[key].contents()
    arch = field("general.architecture")
    if arch not in ("llama", "qwen2"):
        raise SystemExit(f"{args.gguf}: architecture {arch} is not llama or qwen2")
    heads, kv_heads = int(field(f"{arch}.attention.head_count")), int(field(f"{arch}.attention.head_count_kv"))
    hidden = int(field(f"{arch}.embedding_length"))
    names = {t.name for t in reader.tensors}
    config = {
        "architectures": ["LlamaForCausalLM" if arch == "llama" else "Qwen2ForCausalLM"],
        "model_type": arch, "hidden_act": "silu", "hidden_size": hidden,
        "intermediate_size": int(field(f"{arch}.feed_forward_length")),
        "num_hidden_layers": int(field(f"{arch}.block_count")),
        "num_attention_heads": heads, "num_key_value_heads": kv_heads, "head_dim": hidden // heads,
        "max_position_embeddings": int(field(f"{arch}.context_length")),
        "rms_norm_eps": float(field(f"{arch}.attention.layer_norm_rms_epsilon")),
        "rope_theta": float(field(f"{arch}.rope.freq_base")) if f"{arch}.rope.freq_base" in reader.fields else 10000.0,
        "vocab_size": len(reader.fields["tokenizer.ggml.tokens"].data),
        "tie_word_embeddings": "output.weight" not in names,
        "torch_dtype": args.dtype,
    }
    generation = {}
    for key, hf in [("tokenizer.ggml.bos_token_id", "bos_token_id"), ("tokenizer.ggml.eos_token_id", "eos_token_id")]:
        if key in reader.fields:
            config[hf] = generation[hf] = int(field(key))
    os.makedirs(args.out, exist_ok=True)
    header, chunks, offset = {}, [], 0
    for t in reader.tensors:
        values = quants.dequantize(t.data, t.tensor_type).reshape(tuple(int(d) for d in reversed(t.shape)))
        if arch == "llama" and t.name.endswith(("attn_q.weight", "attn_k.weight")):
            values = unpermute(values, heads if "attn_q" in t.name else kv_heads)
        dtype, data = to_bytes(values, args.dtype)
        header[hf_name(t.name)] = {"dtype": dtype, "shape": list(values.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    header["__metadata__"] = {"format": "pt", "source": os.path.basename(args.gguf)}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(os.path.join(args.out, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for data in chunks:
            f.write(data)
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(args.out, "generation_config.json"), "w") as f:
        json.dump(generation, f, indent=2)
    print(f"{args.out}: {len(header) - 1} tensors, {offset / 1e6:.0f} MB of {args.dtype} weights")


if __name__ == "__main__":
    main()
