#!/usr/bin/env python3
"""Independent NumPy reference of the Llama and Qwen2 forward passes over a GGUF file (float64 throughout).

Weights are dequantized by gguf.quants.dequantize (PyPI `gguf`), used exactly as stored:
a GGUF matrix with ne = [in, out] is the numpy array (out, in) and y = W @ x (+ bias).
RoPE follows llama.cpp's rope type per architecture:
  llama: "normal" mode, rotating adjacent pairs (x[2i], x[2i+1]) by pos * theta^(-2i/d); GGUF
         stores Llama Q/K rows permuted relative to Hugging Face precisely so that this works.
         "mistral" and "mistral3" files are read as llama (llama.cpp's rope type for both is "normal").
  qwen2: "neox" mode (Hugging Face's rotate_half), rotating (x[i], x[i+d/2]) by the same angles,
         on Q/K rows as stored (unpermuted), with the q/k/v projection biases added before RoPE.
Used by make_tiny_fixtures.py (golden logits), parity_default_model.py and parity_qwen.py.
"""
import numpy as np
from gguf import GGUFReader
import gguf.quants as quants


class ReferenceLlama:
    def __init__(self, path):
        reader = GGUFReader(path)
        field = lambda key: reader.fields[key].contents()
        arch = field("general.architecture")
        # Mistral GGUFs ("mistral", "mistral3" as llama.cpp names them) are Llama's graph; this
        # reference, like the engine, computes full attention, so a binding sliding window is refused.
        if arch not in ("llama", "qwen2", "mistral", "mistral3"):
            raise ValueError(f"{path}: unsupported architecture {arch}")
        window = reader.fields.get(f"{arch}.attention.sliding_window")
        if window is not None and int(window.contents()) < int(field(f"{arch}.context_length")):
            raise ValueError(f"{path}: sliding window {int(window.contents())} is not supported")
        self.neox = arch == "qwen2"
        self.layers = int(field(f"{arch}.block_count"))
        self.hidden = int(field(f"{arch}.embedding_length"))
        self.heads = int(field(f"{arch}.attention.head_count"))
        self.kv_heads = int(field(f"{arch}.attention.head_count_kv"))
        self.head_dim = self.hidden // self.heads
        self.theta = float(field(f"{arch}.rope.freq_base"))
        self.eps = float(field(f"{arch}.attention.layer_norm_rms_epsilon"))
        self.w = {}
        for t in reader.tensors:
            values = quants.dequantize(t.data, t.tensor_type).astype(np.float64)
            self.w[t.name] = values.reshape(tuple(int(d) for d in reversed(t.shape)))
        self.lm_head = self.w.get("output.weight", self.w["token_embd.weight"])

    def rms_norm(self, x, weight):
        return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + self.eps) * weight

    def rope(self, x, positions):
        """x: (n, heads, d). Pair i (adjacent, or i and i + d/2 in neox mode) rotated by pos * theta^(-2i/d)."""
        d = x.shape[-1]
        freqs = self.theta ** (-np.arange(0, d, 2, dtype=np.float64) / d)  # (d/2,)
        angles = positions[:, None].astype(np.float64) * freqs[None, :]  # (n, d/2)
        cos, sin = np.cos(angles)[:, None, :], np.sin(angles)[:, None, :]
        if self.neox:
            # Hugging Face: x * cos + rotate_half(x) * sin, with cos/sin repeated over both halves.
            cos2, sin2 = np.concatenate([cos, cos], axis=-1), np.concatenate([sin, sin], axis=-1)
            rotated = np.concatenate([-x[..., d // 2:], x[..., :d // 2]], axis=-1)
            return x * cos2 + rotated * sin2
        x0, x1 = x[..., 0::2], x[..., 1::2]
        out = np.empty_like(x)
        out[..., 0::2] = x0 * cos - x1 * sin
        out[..., 1::2] = x0 * sin + x1 * cos
        return out

    def project(self, h, name):
        """h @ W.T, plus the bias when the file has one (qwen2's q/k/v)."""
        y = h @ self.w[name + ".weight"].T
        bias = self.w.get(name + ".bias")
        return y if bias is None else y + bias

    def forward(self, tokens, last_only=False, cache=None):
        """Logits (n, vocab) for every position of `tokens`, with a causal mask; with `last_only`,
        (1, vocab) for the last position (a 4K prompt's full logits would take 5 GB with Qwen's vocabulary).
        `cache`, a dict (empty at first), keeps each layer's rotated K and V so that a later call
        continues the sequence at the next positions (greedy decoding without recomputing the prompt)."""
        n, hd, group = len(tokens), self.head_dim, self.heads // self.kv_heads
        past = cache[0][0].shape[0] if cache else 0
        positions = past + np.arange(n)
        x = self.w["token_embd.weight"][np.asarray(tokens)]  # (n, hidden)
        mask = np.triu(np.full((n, past + n), -np.inf), k=past + 1)
        for i in range(self.layers):
            b = f"blk.{i}."
            h = self.rms_norm(x, self.w[b + "attn_norm.weight"])
            q = self.project(h, b + "attn_q").reshape(n, self.heads, hd)
            k = self.project(h, b + "attn_k").reshape(n, self.kv_heads, hd)
            v = self.project(h, b + "attn_v").reshape(n, self.kv_heads, hd)
            q, k = self.rope(q, positions), self.rope(k, positions)
            if cache is not None:
                if i in cache:
                    k, v = np.concatenate([cache[i][0], k]), np.concatenate([cache[i][1], v])
                cache[i] = (k, v)
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
        if last_only:
            x = x[-1:]
        return self.rms_norm(x, self.w["output_norm.weight"]) @ self.lm_head.T


def load(path):
    return ReferenceLlama(path)
