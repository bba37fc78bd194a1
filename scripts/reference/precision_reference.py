"""Independent NumPy reference for the precision methods' quantize -> dequantize (issue 13).

Writes Tests/Fixtures/precision-reference.json: random keys/values of one KV head, and what
KIVI (arXiv 2402.02750; jy-yuan/KIVI quant/new_pack.py, models/llama_kivi.py) and QAQ
(arXiv 2403.04643; ClubieDong/QAQ-KVCacheQuantization src/quantizer.py) make of them, written
from the papers' and reference code's rules, not from the Swift code:

KIVI  keys per channel in groups of G consecutive tokens, values per token in groups of G
      channels; scale = (max - min) / (2^b - 1) and min kept in fp16; code = round-half-even(
      clamp((x - min) / scale, 0, 2^b - 1)); x^ = code * scale + min. After a prefill of n tokens
      the last n mod R keys and the last R values stay full precision; each decoded token joins
      the full-precision part; when R keys have gathered they are quantized together (before the
      next step), and the oldest value is quantized once R + 1 are there.
QAQ   per token vector: outliers = values <= kthvalue(ceil(a/2 d)) or > kthvalue(floor((1-a/2) d)),
      kept exact; over the rest: mean, step = (max - min) / 2^B (both fp16), code =
      clamp(round((x - mean) / step), -2^(B-1), 2^(B-1) - 1); bits from the error bounds:
      keys sqrt(12 / |q|^2 ln(T^3/(T-1) eps_K^2 + 1)), values sqrt(12/T) eps_V / a_t, a_t the max
      attention over the last `window` queries of the group; B = clamp(ceil(log2(range / (2 step)
      + 1)), min, max), the last window - 1 tokens at max.

Run: python3 scripts/reference/precision_reference.py   (NumPy only; seed fixed)
"""
import json
import math
import os

import numpy as np

F32, F16 = np.float32, np.float16
rng = np.random.default_rng(2402_02750)


class Exact(float):
    """A float32 written as the shortest decimal that reads back as the same float32."""
    def __repr__(self):
        return np.format_float_positional(F32(self), unique=True, trim="-")


def compact(array):
    """Nested lists of float32 values, each written exactly and briefly."""
    return np.vectorize(lambda x: Exact(x), otypes=[object])(np.asarray(array, F32)).tolist()


def kivi_group(x, bits):
    """x: float32 vector (one group). Returns dequantized values and whether quantized."""
    levels = F32(2 ** bits - 1)
    mn, mx = F16(x.min()), F16(x.max())
    scale = F16(F32(F16(F32(mx) - F32(mn))) / levels)
    s, m = F32(scale), F32(mn)
    if s == 0:
        codes = np.zeros_like(x)
    else:
        codes = np.rint(np.clip((x - m) / s, F32(0), levels)).astype(F32)
    return (codes * s + m).astype(F32)


def kivi(keys, values, n_prefill, steps, bits, group, residual):
    """Simulates the prefill and `steps` decoded tokens; returns per token the dequantized key
    and value (None where full precision) after the last step."""
    n_total = n_prefill + steps
    d = keys.shape[1]
    deq_k = [None] * n_total
    deq_v = [None] * n_total

    def quantize_keys(tokens):
        for start in range(0, len(tokens), group):
            block = tokens[start:start + group]
            for c in range(d):
                column = kivi_group(keys[block, c].astype(F32), bits)
                for t, value in zip(block, column):
                    if deq_k[t] is None:
                        deq_k[t] = np.zeros(d, F32)
                    deq_k[t][c] = value

    def quantize_value(t):
        deq_v[t] = np.concatenate([kivi_group(values[t, k:k + group].astype(F32), bits) for k in range(0, d, group)])

    tokens = list(range(n_prefill))
    quantized_keys = n_prefill - n_prefill % residual
    quantize_keys(tokens[:quantized_keys])
    key_full = tokens[quantized_keys:]
    quantized_values = max(0, n_prefill - residual)
    for t in tokens[:quantized_values]:
        quantize_value(t)
    value_full = tokens[quantized_values:]
    for t in range(n_prefill, n_total):
        if len(key_full) == residual:
            quantize_keys(key_full)
            key_full = []
        key_full.append(t)
        if len(value_full) > residual:
            quantize_value(value_full.pop(0))
        value_full.append(t)
    return deq_k, deq_v


def qaq_vector(x, bits_for_range, alpha):
    d = len(x)
    srt = np.sort(x)
    outlier = np.zeros(d, bool)
    if alpha > 0:
        lower = srt[max(1, math.ceil(alpha / 2 * d)) - 1]
        upper = srt[max(1, math.floor((1 - alpha / 2) * d)) - 1]
        outlier = (x <= lower) | (x > upper)
    inl = x[~outlier]
    low, high = (F32(inl.min()), F32(inl.max())) if len(inl) else (F32(0), F32(0))
    total = F32(0)
    for v in inl:  # sequential f32 sum, as a loop over the vector adds them
        total = F32(total + v)
    bits = bits_for_range(float(F32(high - low)))
    mean = F16(total / F32(len(inl))) if len(inl) else F16(0)
    step = F16(F32(high - low) / F32(2 ** bits))
    m, s = F32(mean), F32(step)
    half = F32(2 ** (bits - 1))
    q = np.zeros(d, F32) if s == 0 else np.clip(np.rint((x - m) / s), -half, half - 1).astype(F32)
    out = (q * s + m).astype(F32)
    out[outlier] = x[outlier]
    return bits, out


def qaq(keys, values, queries, attention, heads, settings):
    n, d = keys.shape
    s = settings
    norms = sorted(float(np.sum(queries[r, h].astype(np.float64) ** 2)) / d
                   for r in range(queries.shape[0]) for h in range(heads))
    q_norm = norms[min(len(norms) - 1, int(0.9 * len(norms)))]
    t = float(n)
    key_step = math.sqrt(12 / q_norm * math.log(t ** 3 / max(t - 1, 1) * s["key_error"] ** 2 + 1))
    window = min(s["window"], n)
    att = attention[:, -window:, :].max(axis=(0, 1))

    def bits(step, recent):
        def rule(value_range):
            if recent:
                return s["max_bits"]
            if not (math.isfinite(step) and step > 0):
                return s["min_bits"] if step > 0 else s["max_bits"]
            needed = math.ceil(math.log2(value_range / (2 * step) + 1))
            return min(max(needed, s["min_bits"]), s["max_bits"])
        return rule

    out = []
    for tok in range(n):
        recent = tok >= n - (window - 1)
        value_step = math.sqrt(12 / n) * s["value_error"] / float(att[tok]) if att[tok] > 0 else math.inf
        kb, k = qaq_vector(keys[tok], bits(key_step, recent), s["outliers"])
        vb, v = qaq_vector(values[tok], bits(value_step, recent), s["outliers"])
        out.append({"key_bits": kb, "key": compact(k), "value_bits": vb, "value": compact(v)})
    return out


def dumps(value):
    """JSON with `Exact` floats written by their own repr (json.dumps would use float's)."""
    if isinstance(value, dict):
        return "{" + ",".join(json.dumps(k) + ":" + dumps(v) for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    if isinstance(value, Exact):
        return repr(value)
    return json.dumps(value)


def main():
    d = 64
    outliers = [3, 17, 40]
    # KIVI: 70 prompt tokens, then 30 decoded; G = 16, R = 32 (keys quantize in prefill and in decode).
    n_prefill, steps = 70, 30
    keys = rng.standard_normal((n_prefill + steps, d)).astype(F32)
    keys[:, outliers] *= 8
    values = rng.standard_normal((n_prefill + steps, d)).astype(F32)
    kivi_cases = []
    for bits in (2, 4, 8):
        deq_k, deq_v = kivi(keys, values, n_prefill, steps, bits, group=16, residual=32)
        kivi_cases.append({"bits": bits, "group": 16, "residual": 32,
                           "keys": [None if k is None else compact(k) for k in deq_k],
                           "values": [None if v is None else compact(v) for v in deq_v]})
    # QAQ: 120 prompt tokens, 2 query heads per KV head, 5-row attention window, 32 observed queries.
    n, heads, window = 80, 2, 5
    q_keys = (rng.standard_normal((n, d)) * 2).astype(F32)
    q_keys[:, outliers] *= 6
    q_values = rng.standard_normal((n, d)).astype(F32)
    queries = rng.standard_normal((32, heads, d)).astype(F32)
    logits = rng.standard_normal((heads, window, n)) * 3
    for r in range(window):
        logits[:, r, n - window + r + 1:] = -np.inf
    attention = np.exp(logits - logits.max(axis=2, keepdims=True))
    attention = (attention / attention.sum(axis=2, keepdims=True)).astype(F32)
    settings = {"key_error": 1.0, "value_error": 1.0, "min_bits": 2, "max_bits": 4, "outliers": 0.01, "window": window}
    fixture = {
        "head_dim": d,
        "kivi": {"prefill": n_prefill, "steps": steps, "keys": compact(keys), "values": compact(values), "cases": kivi_cases},
        "qaq": {"tokens": n, "heads": heads, "settings": settings, "keys": compact(q_keys), "values": compact(q_values),
                "queries": compact(queries), "attention": compact(attention),
                "expected": qaq(q_keys, q_values, queries, attention, heads, settings)},
    }
    path = os.path.join(os.path.dirname(__file__), "../../Tests/Fixtures/precision-reference.json")
    with open(path, "w") as f:
        f.write(dumps(fixture))
    print("wrote", os.path.normpath(path))


if __name__ == "__main__":
    main()
