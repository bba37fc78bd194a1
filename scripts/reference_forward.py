#!/usr/bin/env python3
"""Independent NumPy reference of the Llama forward pass over a GGUF file (float64 throughout).

Weights are dequantized by gguf.quants.dequantize (PyPI `gguf`), used exactly as stored:
a GGUF matrix with ne = [in, out] is the numpy array (out, in) and y = W @ x. RoPE is
llama.cpp's "normal" mode, rotating adjacent pairs (x[2i], x[2i+1]) by pos * theta^(-2i/d);
GGUF stores Q/K rows permuted relative to Hugging Face precisely so that this works.
Used by make_tiny_fixtures.py (golden logits) and parity_default_model.py.
"""
import numpy as np
from gguf import GGUFReader
import gguf.quants as quants


class ReferenceLlama:
    def __init__(self, path):
        reader = GGUFReader(path)
        field = lambda key: reader.fields[key].contents()
        arch = field("general.architecture")
        if arch != "llama":
            raise ValueError(f"{path}: unsupported architecture {arch}")
        self.layers = int(field("llama.block_count"))
        self.hidden = int(field("llama.embedding_length"))
        self.heads = int(field("llama.attention.head_count"))
        self.kv_heads = int(field("llama.attention.head_count_kv"))
        self.head_dim = self.hidden // self.heads
        self.theta = float(field("llama.rope.freq_base"))
        self.eps = float(field("llama.attention.layer_norm_rms_epsilon"))
        self.w = {}
        for t in reader.tensors:
            values = quants.dequantize(t.data, t.tensor_type).astype(np.float64)
            self.w[t.name] = values.reshape(tuple(int(d) for d in reversed(t.shape)))
        self.lm_head = self.w.get("output.weight", self.w["token_embd.weight"])

    def rms_norm(self, x, weight):
        return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + self.eps) * weight

    def rope(self, x, positions):
        """x: (n, heads, d). Adjacent pairs rotated by pos * theta^(-2i/d)."""
        d = x.shape[-1]
        freqs = self.theta ** (-np.arange(0, d, 2, dtype=np.float64) / d)  # (d/2,)
        angles = positions[:, None].astype(np.float64) * freqs[None, :]  # (n, d/2)
        cos, sin = np.cos(angles)[:, None, :], np.sin(angles)[:, None, :]
        x0, x1 = x[..., 0::2], x[..., 1::2]
        out = np.empty_like(x)
        out[..., 0::2] = x0 * cos - x1 * sin
        out[..., 1::2] = x0 * sin + x1 * cos
        return out

    def forward(self, tokens):
        """Logits (n, vocab) for every position of `tokens`, with a causal mask."""
        n, hd, group = len(tokens), self.head_dim, self.heads // self.kv_heads
        positions = np.arange(n)
        x = self.w["token_embd.weight"][np.asarray(tokens)]  # (n, hidden)
        mask = np.triu(np.full((n, n), -np.inf), k=1)
        for i in range(self.layers):
            b = f"blk.{i}."
            h = self.rms_norm(x, self.w[b + "attn_norm.weight"])
            q = (h @ self.w[b + "attn_q.weight"].T).reshape(n, self.heads, hd)
            k = (h @ self.w[b + "attn_k.weight"].T).reshape(n, self.kv_heads, hd)
            v = (h @ self.w[b + "attn_v.weight"].T).reshape(n, self.kv_heads, hd)
            q, k = self.rope(q, positions), self.rope(k, positions)
            out = np.empty((n, self.heads, hd))
            for head in range(self.heads):
                kv = head // group
                scores = q[:, head, :] @ k[:, kv, :].T / np.sqrt(hd) + mask
                scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
                probs = scores / scores.sum(axis=-1, keepdims=True)
                out[:, head, :] = probs @ v[:, kv, :]
            x = x + out.reshape(n, -1) @ self.w[b + "attn_output.weight"].T
            h = self.rms_norm(x, self.w[b + "ffn_norm.weight"])
            gate = h @ self.w[b + "ffn_gate.weight"].T
            up = h @ self.w[b + "ffn_up.weight"].T
            x = x + (gate / (1.0 + np.exp(-gate)) * up) @ self.w[b + "ffn_down.weight"].T
        return self.rms_norm(x, self.w["output_norm.weight"]) @ self.lm_head.T


def load(path):
    return ReferenceLlama(path)
