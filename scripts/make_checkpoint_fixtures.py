#!/usr/bin/env python3
"""Tiny random-weight Hugging Face checkpoint directories with golden logits (issue 18).

Writes Tests/Fixtures/checkpoints/<name>/ (config.json, generation_config.json, model.safetensors
or shards + model.safetensors.index.json) and <name>.logits.json beside them. Run once in a venv
with numpy and safetensors (the latter only to cross-check the files this script writes):

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install numpy safetensors
    /tmp/venv/bin/python scripts/make_checkpoint_fixtures.py

The golden logits come from an independent float64 NumPy forward in transformers' own layout
(rotate_half RoPE on the stored Q/K rows, q/k/v biases for Qwen2), with the RoPE frequency rules
re-implemented from transformers' modeling_rope_utils (default, linear, dynamic, yarn, llama3) and
its dynamic_rope_update (a forward over L positions uses the base for max(L, max_position_embeddings),
so decode steps after a long prompt each get their own base while cached keys keep theirs).
Weights are rounded to the stored dtype first, so the reference computes on exactly the stored values.
"""
import json
import math
import os
import struct

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "checkpoints")

FIXTURES = [
    # name, architecture, dtype, rope_scaling, extra config, tied, shards
    ("llama-f32", "LlamaForCausalLM", "F32", None, {}, False, 1),
    ("llama-bf16-llama3", "LlamaForCausalLM", "BF16",
     {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
      "original_max_position_embeddings": 32}, {}, True, 1),
    ("qwen2-f16-yarn-sharded", "Qwen2ForCausalLM", "F16",
     {"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 16}, {"use_sliding_window": False}, False, 2),
    ("mistral-f32-dynamic", "MistralForCausalLM", "F32", {"rope_type": "dynamic", "factor": 2.0},
     {"sliding_window": 64, "max_position_embeddings": 8}, False, 1),
    ("llama-bf16-linear", "LlamaForCausalLM", "BF16", {"type": "linear", "factor": 2.0}, {}, False, 1),
]

DIMS = dict(hidden_size=64, intermediate_size=96, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
            num_hidden_layers=2, vocab_size=96, rms_norm_eps=1e-5, rope_theta=10000.0, max_position_embeddings=64)


def round_to(values, dtype):
    """float64 values → (stored bytes, the float64 values those bytes hold)."""
    f32 = values.astype(np.float32)
    if dtype == "F32":
        return f32.tobytes(), f32.astype(np.float64)
    if dtype == "F16":
        f16 = f32.astype(np.float16)
        return f16.tobytes(), f16.astype(np.float64)
    bits = f32.view(np.uint32).astype(np.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)  # round to nearest even
    return rounded.tobytes(), (rounded.astype(np.uint32) << 16).view(np.float32).astype(np.float64)


def write_safetensors(path, tensors):
    """tensors: list of (name, dtype, shape, bytes), written in the format's layout."""
    header, offset = {}, 0
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for _, _, _, data in tensors:
            f.write(data)


def make_weights(rng, cfg, arch, tied):
    h, f, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    q, kv = cfg["num_attention_heads"] * cfg["head_dim"], cfg["num_key_value_heads"] * cfg["head_dim"]
    w = {"model.embed_tokens.weight": rng.normal(0, 0.5, (v, h)), "model.norm.weight": 1 + rng.normal(0, 0.1, h)}
    if not tied:
        w["lm_head.weight"] = rng.normal(0, 0.15, (v, h))
    for layer in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{layer}."
        w[p + "input_layernorm.weight"] = 1 + rng.normal(0, 0.1, h)
        w[p + "post_attention_layernorm.weight"] = 1 + rng.normal(0, 0.1, h)
        for name, rows, cols in [("self_attn.q_proj", q, h), ("self_attn.k_proj", kv, h), ("self_attn.v_proj", kv, h),
                                 ("self_attn.o_proj", h, q), ("mlp.gate_proj", f, h), ("mlp.up_proj", f, h),
                                 ("mlp.down_proj", h, f)]:
            w[p + name + ".weight"] = rng.normal(0, 1.2 / math.sqrt(cols), (rows, cols))
        if arch == "Qwen2ForCausalLM":
            for name, rows in [("q_proj", q), ("k_proj", kv), ("v_proj", kv)]:
                w[p + f"self_attn.{name}.bias"] = rng.normal(0, 0.3, rows)
    return w


class Reference:
    """float64 forward of transformers' Llama/Mistral/Qwen2 (eager attention, batch 1, KV cache)."""

    def __init__(self, cfg, w, tied):
        self.cfg, self.w = cfg, w
        self.head = w["model.embed_tokens.weight"] if tied else w["lm_head.weight"]
        self.rope = cfg.get("rope_scaling")

    def inv_freq(self, seq_len):
        """(inv_freq, attention_factor) as modeling_rope_utils computes them for a forward over seq_len."""
        c, d = self.cfg, self.cfg["head_dim"]
        base, r = c["rope_theta"], self.rope or {}
        kind = r.get("rope_type", r.get("type", "default"))
        exps = np.arange(0, d, 2, dtype=np.float64) / d
        inv = 1.0 / base ** exps
        if kind == "default":
            return inv, 1.0
        if kind == "linear":
            return inv / r["factor"], 1.0
        if kind == "dynamic":
            mp, factor = c["max_position_embeddings"], r["factor"]
            length = max(seq_len, mp)
            scaled = base * ((factor * length / mp) - (factor - 1)) ** (d / (d - 2))
            return 1.0 / scaled ** exps, 1.0
        if kind == "llama3":
            factor, low, high = r["factor"], r["low_freq_factor"], r["high_freq_factor"]
            old = r["original_max_position_embeddings"]
            low_wl, high_wl = old / low, old / high
            wl = 2 * math.pi / inv
            llama = np.where(wl > low_wl, inv / factor, inv)
            smooth = (old / wl - low) / (high - low)
            smoothed = (1 - smooth) * llama / factor + smooth * llama
            medium = ~(wl < high_wl) & ~(wl > low_wl)
            return np.where(medium, smoothed, llama), 1.0
        if kind == "yarn":
            factor, old = r["factor"], r["original_max_position_embeddings"]
            attention = 0.1 * math.log(factor) + 1.0 if factor > 1 else 1.0
            fast, slow = r.get("beta_fast") or 32, r.get("beta_slow") or 1

            def correction(rot):
                return (d * math.log(old / (rot * 2 * math.pi))) / (2 * math.log(base))

            lo, hi = math.floor(correction(fast)), math.ceil(correction(slow))
            lo, hi = max(lo, 0), min(hi, d - 1)
            if lo == hi:
                hi += 0.001
            ramp = np.clip((np.arange(d // 2, dtype=np.float64) - lo) / (hi - lo), 0, 1)
            extrapolation = 1 - ramp
            pos = base ** exps
            return (1 / (factor * pos)) * (1 - extrapolation) + (1 / pos) * extrapolation, attention
        raise ValueError(kind)

    def norm(self, x, weight):
        return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + self.cfg["rms_norm_eps"]) * weight

    def forward(self, tokens, chunks):
        """Logits at every position, feeding `tokens` in chunks of the given sizes (a prefill, then steps)."""
        c, w = self.cfg, self.w
        nh, nkv, d = c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
        keys = [np.zeros((0, nkv, d)) for _ in range(c["num_hidden_layers"])]
        values = [np.zeros((0, nkv, d)) for _ in range(c["num_hidden_layers"])]
        out, start = [], 0
        for size in chunks:
            end = start + size
            inv, attention = self.inv_freq(end)
            angles = np.arange(start, end, dtype=np.float64)[:, None] * inv[None, :]
            cos = np.concatenate([np.cos(angles)] * 2, axis=-1)[:, None, :] * attention
            sin = np.concatenate([np.sin(angles)] * 2, axis=-1)[:, None, :] * attention

            def rope(x):
                return x * cos + np.concatenate([-x[..., d // 2:], x[..., :d // 2]], axis=-1) * sin

            x = w["model.embed_tokens.weight"][tokens[start:end]]
            for layer in range(c["num_hidden_layers"]):
                p = f"model.layers.{layer}."

                def proj(hid, name):
                    y = hid @ w[p + name + ".weight"].T
                    return y + w[p + name + ".bias"] if p + name + ".bias" in w else y

                hid = self.norm(x, w[p + "input_layernorm.weight"])
                q = rope(proj(hid, "self_attn.q_proj").reshape(size, nh, d))
                k = rope(proj(hid, "self_attn.k_proj").reshape(size, nkv, d))
                v = proj(hid, "self_attn.v_proj").reshape(size, nkv, d)
                keys[layer] = np.concatenate([keys[layer], k])
                values[layer] = np.concatenate([values[layer], v])
                att = np.zeros((size, nh, d))
                for head in range(nh):
                    kh = keys[layer][:, head // (nh // nkv), :]
                    vh = values[layer][:, head // (nh // nkv), :]
                    scores = q[:, head, :] @ kh.T / math.sqrt(d)
                    mask = np.arange(end)[None, :] > np.arange(start, end)[:, None]
                    scores[mask] = -np.inf
                    probs = np.exp(scores - scores.max(axis=1, keepdims=True))
                    att[:, head, :] = (probs / probs.sum(axis=1, keepdims=True)) @ vh
                x = x + att.reshape(size, nh * d) @ w[p + "self_attn.o_proj.weight"].T
                hid = self.norm(x, w[p + "post_attention_layernorm.weight"])
                gate, up = hid @ w[p + "mlp.gate_proj.weight"].T, hid @ w[p + "mlp.up_proj.weight"].T
                x = x + (gate / (1 + np.exp(-gate)) * up) @ w[p + "mlp.down_proj.weight"].T
            out.append(self.norm(x, w["model.norm.weight"]) @ self.head.T)
            start = end
        return np.concatenate(out)


def main():
    os.makedirs(OUT, exist_ok=True)
    for index, (name, arch, dtype, rope, extra, tied, shards) in enumerate(FIXTURES):
        rng = np.random.default_rng(1800 + index)
        cfg = dict(DIMS, **extra)
        directory = os.path.join(OUT, name)
        os.makedirs(directory, exist_ok=True)
        weights = make_weights(rng, cfg, arch, tied)
        stored, tensors = {}, []
        for tensor, values in weights.items():
            data, exact = round_to(values, dtype)
            stored[tensor] = exact
            tensors.append((tensor, dtype, values.shape, data))
        config = dict(cfg, architectures=[arch], model_type={"LlamaForCausalLM": "llama", "MistralForCausalLM": "mistral",
                                                              "Qwen2ForCausalLM": "qwen2"}[arch],
                      hidden_act="silu", tie_word_embeddings=tied, bos_token_id=1, eos_token_id=2,
                      torch_dtype={"F32": "float32", "F16": "float16", "BF16": "bfloat16"}[dtype])
        if rope:
            config["rope_scaling"] = rope
        with open(os.path.join(directory, "config.json"), "w") as f:
            json.dump(config, f, indent=2)
        with open(os.path.join(directory, "generation_config.json"), "w") as f:
            json.dump({"bos_token_id": 1, "eos_token_id": [2, 3]}, f, indent=2)
        if shards == 1:
            write_safetensors(os.path.join(directory, "model.safetensors"), tensors)
        else:
            weight_map, per = {}, (len(tensors) + shards - 1) // shards
            for s in range(shards):
                file = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
                part = tensors[s * per:(s + 1) * per]
                write_safetensors(os.path.join(directory, file), part)
                weight_map.update({t[0]: file for t in part})
            with open(os.path.join(directory, "model.safetensors.index.json"), "w") as f:
                json.dump({"metadata": {"total_size": sum(len(t[3]) for t in tensors)}, "weight_map": weight_map}, f, indent=2)
        if dtype != "BF16":  # numpy has no bfloat16; check the others with the official reader
            from safetensors.numpy import load_file
            files = [x for x in os.listdir(directory) if x.endswith(".safetensors")]
            loaded = {k: v for x in files for k, v in load_file(os.path.join(directory, x)).items()}
            assert all(np.array_equal(loaded[k].astype(np.float64), stored[k]) for k in stored), name

        ref = Reference(config, stored, tied)
        sequences = [list(rng.integers(0, cfg["vocab_size"], n)) for n in (12, 5)]
        golden = {"checkpoint": name, "sequences": []}
        for tokens in sequences:
            tokens = [int(t) for t in tokens]
            n = len(tokens)
            k = n // 2
            golden["sequences"].append({
                "tokens": tokens,
                "logits": ref.forward(tokens, [n]).round(8).tolist(),
                "decodePrefill": k,
                "decodeLogits": ref.forward(tokens, [k] + [1] * (n - k))[k - 1:].round(8).tolist(),
            })
        with open(os.path.join(OUT, name + ".logits.json"), "w") as f:
            json.dump(golden, f)
        print(name, "written")


if __name__ == "__main__":
    main()
