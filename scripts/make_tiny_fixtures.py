#!/usr/bin/env python3
"""Writes the tiny random-weight GGUF fixtures and their independent references.

Outputs (in Tests/Fixtures/):
  tiny-llama-{f32,q8_0,q4_1,f16,bf16}.gguf
                                     2-layer Llama models with a real byte-level BPE tokenizer
  tiny-llama-<type>.tensors.json     a few tensors dequantized by gguf.quants.dequantize
  tiny-llama-<type>.logits.json      all logits of 2 token sequences, from reference_forward.py
  tiny-qwen2-{f32,q8_0}.gguf (+ .logits.json)
                                     2-layer qwen2 models: q/k/v biases, neox RoPE (Q/K rows as
                                     Hugging Face stores them), GQA group 7 (7/1 and 14/2 heads),
                                     tied (f32) and untied (q8_0) output, pre-tokenizer "qwen2"
  tiny-llama-mixed.gguf (+ .logits.json)
                                     the same shape with Q4_0, Q5_1 and IQ4_NL matrices (MIXED_TYPES)
  tiny-mistral-q8_0.gguf (+ .logits.json)
                                     the q8_0 Llama under general.architecture "mistral" (other
                                     weights), with a sliding window wider than its context
  tiny-dequant-types.gguf/.json      one tensor per supported ggml type + every metadata value type
  default-model-slices.json          (with --default-model) slices of the real model, dequantized by gguf

Run: python3 scripts/make_tiny_fixtures.py [--default-model ~/.cache/a2ats-eval/models/SmolLM2-135M-Instruct.Q4_1.gguf]
Deterministic: fixed seeds, so re-running reproduces the same bytes.
"""
import argparse
import hashlib
import json
import os
import re
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q, GGUFReader, GGUFValueType as V
import gguf.quants as quants

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_forward  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures")

# ffn is per file: 96 for the quantized files (rows must hold whole 32-element blocks); 72 for
# the F32 file, which keeps it under 300 KB and checks that nothing assumes a multiple of 32.
CONFIG = dict(layers=2, hidden=64, heads=4, kv_heads=2, head_dim=16, ctx=256, theta=10000.0, eps=1e-5)

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]  # ids 0, 1 (BOS), 2 (EOS), as SmolLM2
CHAT_TEMPLATE = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] "
                 "+ '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")
CORPUS = ("the quick brown fox jumps over the lazy dog. the dog sleeps in the sun and the fox thinks "
          "that the other animals are there. this is the theory of the three things: think, then talk, then "
          "walk. 12 cats and 345 hats; the end.")
MERGE_COUNT = 40


def bytes_to_unicode():
    """GPT-2's reversible byte → printable-unicode map."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def build_tokenizer():
    """256 byte tokens + merges learned by a few BPE steps on CORPUS (so every merge is valid)."""
    b2u = bytes_to_unicode()
    byte_tokens = [b2u[b] for b in range(256)]
    words = re.findall(r" ?[A-Za-z]+| ?[0-9]| ?[^\sA-Za-z0-9]+|\s+", CORPUS)
    seqs = [[b2u[b] for b in w.encode("utf-8")] for w in words]
    merges, merged_tokens = [], []
    for _ in range(MERGE_COUNT):
        counts = {}
        for s in seqs:
            for a, b in zip(s, s[1:]):
                counts[(a, b)] = counts.get((a, b), 0) + 1
        if not counts:
            break
        pair = max(counts, key=lambda p: (counts[p], p))
        merges.append(f"{pair[0]} {pair[1]}")
        merged_tokens.append(pair[0] + pair[1])
        new_seqs = []
        for s in seqs:
            out, i = [], 0
            while i < len(s):
                if i + 1 < len(s) and (s[i], s[i + 1]) == pair:
                    out.append(s[i] + s[i + 1])
                    i += 2
                else:
                    out.append(s[i])
                    i += 1
            new_seqs.append(out)
        seqs = new_seqs
    tokens = SPECIALS + byte_tokens + merged_tokens
    types = [3] * len(SPECIALS) + [1] * (len(tokens) - len(SPECIALS))
    return tokens, merges, types


def random_weights(rng, vocab, tied, f, c=CONFIG, biases=False):
    h, q, kv = c["hidden"], c["heads"] * c["head_dim"], c["kv_heads"] * c["head_dim"]
    mat = lambda rows, cols: (rng.standard_normal((rows, cols)) / np.sqrt(cols)).astype(np.float32)  # numpy (out, in)
    norm = lambda: (1.0 + 0.1 * rng.standard_normal(h)).astype(np.float32)
    w = {"token_embd.weight": (0.25 * rng.standard_normal((vocab, h))).astype(np.float32)}
    for i in range(c["layers"]):
        b = f"blk.{i}."
        w[b + "attn_norm.weight"] = norm()
        w[b + "attn_q.weight"] = mat(q, h)
        w[b + "attn_k.weight"] = mat(kv, h)
        w[b + "attn_v.weight"] = mat(kv, h)
        if biases:
            # Large enough that a bias left out, or not reordered with its Q/K rows, shows in every logit.
            for name, rows in (("attn_q", q), ("attn_k", kv), ("attn_v", kv)):
                w[b + name + ".bias"] = (0.5 * rng.standard_normal(rows)).astype(np.float32)
        w[b + "attn_output.weight"] = mat(h, q)
        w[b + "ffn_norm.weight"] = norm()
        w[b + "ffn_gate.weight"] = mat(f, h)
        w[b + "ffn_up.weight"] = mat(f, h)
        w[b + "ffn_down.weight"] = mat(h, f)
    w["output_norm.weight"] = norm()
    if not tied:
        w["output.weight"] = (0.25 * rng.standard_normal((vocab, h))).astype(np.float32)
    return w


def quantize_iq4_nl(array):
    """IQ4_NL blocks by nearest level (gguf-py has no IQ4_NL quantizer): as ggml, d maps the block's
    largest-magnitude value onto level -127; every value takes the index of its nearest level."""
    levels = np.array([-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113], dtype=np.float32)
    blocks = array.astype(np.float32).reshape(-1, 32)
    extreme = blocks[np.arange(len(blocks)), np.abs(blocks).argmax(axis=1)]
    d = (extreme / -127).astype(np.float16)
    idx = np.abs(blocks[:, :, None] - d.astype(np.float32)[:, None, None] * levels).argmin(axis=2).astype(np.uint8)
    qs = idx[:, :16] | (idx[:, 16:] << 4)
    raw = np.concatenate([d.reshape(-1, 1).view(np.uint8), qs], axis=1)
    return raw.reshape(array.shape[0], -1)


# tiny-llama-mixed: the types without a quantized tiny model of their own, one per tensor role, so the
# fused Q/K/V and gate/up decode matrices stack parts of different formats.
MIXED_TYPES = {"attn_q": Q.Q4_0, "attn_k": Q.Q5_1, "attn_v": Q.IQ4_NL, "attn_output": Q.Q5_1, "ffn_gate": Q.Q4_0,
               "ffn_up": Q.Q4_0, "ffn_down": Q.IQ4_NL, "output": Q.Q5_1, "token_embd": Q.Q4_0}


def add_tensor(writer, name, array, qtype):
    if qtype == "mixed":
        qtype = Q.F32 if array.ndim == 1 else MIXED_TYPES[name.split(".")[-2]]
    if qtype == Q.F32 or array.ndim == 1:
        writer.add_tensor(name, array.astype(np.float32))
    elif qtype == Q.IQ4_NL:
        writer.add_tensor(name, quantize_iq4_nl(array), raw_dtype=qtype)
    else:
        writer.add_tensor(name, quants.quantize(array, qtype), raw_dtype=qtype)


def write_tiny_llama(kind, qtype, tied, ffn, seed, arch="llama"):
    """`arch` "mistral": the same Llama graph under Mistral's architecture name, with a sliding
    window (4096, Mistral-7B-v0.1's) wider than the context, so it never binds."""
    c = CONFIG
    tokens, merges, types = build_tokenizer()
    rng = np.random.default_rng(seed)
    weights = random_weights(rng, len(tokens), tied, ffn)
    path = os.path.join(FIXTURES, f"tiny-{arch}-{kind}.gguf")
    w = gguf.GGUFWriter(path, arch)
    w.add_name(f"tiny-{arch}-{kind}")
    if arch == "mistral":
        w.add_sliding_window(4096)
    w.add_block_count(c["layers"])
    w.add_context_length(c["ctx"])
    w.add_embedding_length(c["hidden"])
    w.add_feed_forward_length(ffn)
    w.add_head_count(c["heads"])
    w.add_head_count_kv(c["kv_heads"])
    w.add_rope_freq_base(c["theta"])
    w.add_layer_norm_rms_eps(c["eps"])
    w.add_rope_dimension_count(c["head_dim"])
    w.add_vocab_size(len(tokens))
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("smollm")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_add_bos_token(True)
    w.add_chat_template(CHAT_TEMPLATE)
    for name, array in weights.items():
        add_tensor(w, name, array, qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


# Qwen2.5-Coder-0.5B's shape in miniature: GQA group 7, rope theta 1e6. The q8_0 file needs
# rows of whole 32-element blocks (hidden 224 = 14 heads x 16); the f32 one stays small (7 x 8).
QWEN2_CONFIGS = {
    "f32": dict(layers=2, hidden=56, heads=7, kv_heads=1, head_dim=8, ctx=256, theta=1e6, eps=1e-6),
    "q8_0": dict(layers=2, hidden=224, heads=14, kv_heads=2, head_dim=16, ctx=256, theta=1e6, eps=1e-6),
}


def write_tiny_qwen2(kind, qtype, tied, ffn, seed):
    c = QWEN2_CONFIGS[kind]
    tokens, merges, types = build_tokenizer()
    rng = np.random.default_rng(seed)
    weights = random_weights(rng, len(tokens), tied, ffn, c, biases=True)
    path = os.path.join(FIXTURES, f"tiny-qwen2-{kind}.gguf")
    w = gguf.GGUFWriter(path, "qwen2")
    w.add_name(f"tiny-qwen2-{kind}")
    w.add_block_count(c["layers"])
    w.add_context_length(c["ctx"])
    w.add_embedding_length(c["hidden"])
    w.add_feed_forward_length(ffn)
    w.add_head_count(c["heads"])
    w.add_head_count_kv(c["kv_heads"])
    w.add_rope_freq_base(c["theta"])
    w.add_layer_norm_rms_eps(c["eps"])
    w.add_vocab_size(len(tokens))
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen2")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(0)  # as Qwen2: <|endoftext|>, not added; EOS <|im_end|>
    w.add_eos_token_id(2)
    w.add_add_bos_token(False)
    w.add_chat_template(CHAT_TEMPLATE)
    for name, array in weights.items():
        add_tensor(w, name, array, qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def dequantized(reader, name):
    t = next(t for t in reader.tensors if t.name == name)
    return t, quants.dequantize(t.data, t.tensor_type).astype(np.float32).reshape(-1)


def write_tensor_reference(gguf_path, names, out_path):
    reader = GGUFReader(gguf_path)
    out = {"model": os.path.basename(gguf_path), "tensors": []}
    for name in names:
        t, values = dequantized(reader, name)
        out["tensors"].append({"name": name, "type": t.tensor_type.name, "dims": [int(d) for d in t.shape],
                               "values": [float(v) for v in values]})
    with open(out_path, "w") as f:
        json.dump(out, f)


def write_logits(gguf_path, out_path, vocab, seed):
    rng = np.random.default_rng(seed)
    model = reference_forward.load(gguf_path)
    sequences = []
    for length in (7, 40):
        toks = [1] + [int(t) for t in rng.integers(3, vocab, size=length - 1)]
        logits = model.forward(toks)
        sequences.append({"tokens": toks, "logits": [[float("%.8g" % v) for v in row] for row in logits]})
    with open(out_path, "w") as f:
        json.dump({"model": os.path.basename(gguf_path), "sequences": sequences}, f)


def write_dequant_types(seed):
    """One [512, 2] tensor per dequantizable type. Types gguf-py can quantize are quantized from the
    same random values; the rest (K-quants, IQ4_NL) have no quantizer there, so their blocks are
    random bytes with sane f16 scale fields (offsets below). Every reference is gguf.quants.dequantize.
    New types are appended after the older ones so the older tensors' bytes stay the same."""
    rng = np.random.default_rng(seed)
    path = os.path.join(FIXTURES, "tiny-dequant-types.gguf")
    w = gguf.GGUFWriter(path, "test")
    w.add_uint8("test.u8", 200)
    w.add_int8("test.i8", -100)
    w.add_uint16("test.u16", 60000)
    w.add_int16("test.i16", -30000)
    w.add_uint32("test.u32", 4000000000)
    w.add_int32("test.i32", -2000000000)
    w.add_uint64("test.u64", 2**40 + 3)
    w.add_int64("test.i64", -(2**40) - 3)
    w.add_float32("test.f32", 0.375)
    w.add_float64("test.f64", -1.0e-300)
    w.add_bool("test.bool", True)
    w.add_string("test.string", "héllo ✓")
    w.add_array("test.ints", [1, -2, 3])
    w.add_array("test.strings", ["a", "", "ç"])
    w.add_array("test.floats", [0.5, -1.25])
    w.add_array("test.nested", [[1, 2], [3]])
    values = rng.standard_normal((2, 512)).astype(np.float32)
    w.add_tensor("f32", values)
    w.add_tensor("f16", values.astype(np.float16))
    for qtype in (Q.BF16, Q.Q8_0, Q.Q4_0, Q.Q4_1, Q.Q5_0):
        w.add_tensor(qtype.name.lower(), quants.quantize(values, qtype), raw_dtype=qtype)
    for qtype, d_offsets in ((Q.Q4_K, (0, 2)), (Q.Q6_K, (208,)), (Q.Q2_K, (80, 82)), (Q.Q3_K, (108,)),
                             (Q.Q5_K, (0, 2)), (Q.IQ4_NL, (0,))):
        block_elems, block_bytes = gguf.GGML_QUANT_SIZES[qtype]
        raw = rng.integers(0, 256, size=(2, 512 // block_elems, block_bytes), dtype=np.uint8)
        for off in d_offsets:
            scale = (0.01 + 0.02 * rng.random(raw.shape[:2])).astype(np.float16)
            raw[:, :, off:off + 2] = scale.view(np.uint8).reshape(raw.shape[0], raw.shape[1], 2)
        w.add_tensor(qtype.name.lower(), raw.reshape(2, -1), raw_dtype=qtype)
    w.add_tensor("q5_1", quants.quantize(values, Q.Q5_1), raw_dtype=Q.Q5_1)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    write_tensor_reference(path, ["f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "iq4_nl",
                                  "q2_k", "q3_k", "q4_k", "q5_k", "q6_k"],
                           os.path.join(FIXTURES, "tiny-dequant-types.json"))


def write_default_slices(model_path):
    """First 64 values and a mid-tensor window of three tensors (Q8_0, Q4_1, F32) of the real model."""
    reader = GGUFReader(model_path)
    with open(model_path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    slices = []
    for name, start in (("token_embd.weight", 0), ("token_embd.weight", 576 * 1000 + 32),
                        ("blk.0.attn_q.weight", 0), ("blk.29.ffn_down.weight", 1536 * 300 + 64),
                        ("blk.0.attn_norm.weight", 0), ("output_norm.weight", 512)):
        t, values = dequantized(reader, name)
        slices.append({"tensor": name, "type": t.tensor_type.name, "dims": [int(d) for d in t.shape],
                       "start": start, "values": [float(v) for v in values[start:start + 64]]})
    out = {"model": os.path.basename(model_path), "sha256": digest, "slices": slices}
    with open(os.path.join(FIXTURES, "default-model-slices.json"), "w") as f:
        json.dump(out, f, indent=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--default-model", help="also dump default-model-slices.json from this GGUF")
    args = parser.parse_args()
    vocab = len(build_tokenizer()[0])
    for kind, qtype, tied, ffn, seed in (("f32", Q.F32, True, 72, 11), ("q8_0", Q.Q8_0, False, 96, 12),
                                         ("q4_1", Q.Q4_1, False, 96, 13), ("f16", Q.F16, False, 96, 15),
                                         ("bf16", Q.BF16, True, 72, 16)):
        path = write_tiny_llama(kind, qtype, tied, ffn, seed)
        write_tensor_reference(path, ["blk.0.attn_k.weight", "blk.1.ffn_norm.weight"],
                               os.path.join(FIXTURES, f"tiny-llama-{kind}.tensors.json"))
        write_logits(path, os.path.join(FIXTURES, f"tiny-llama-{kind}.logits.json"), vocab, seed + 100)
        print(f"{path}: {os.path.getsize(path)} bytes, vocab {vocab}")
    path = write_tiny_llama("mixed", "mixed", False, 96, 14)
    write_logits(path, os.path.join(FIXTURES, "tiny-llama-mixed.logits.json"), vocab, 114)
    print(f"{path}: {os.path.getsize(path)} bytes, vocab {vocab}")
    path = write_tiny_llama("q8_0", Q.Q8_0, False, 96, 41, arch="mistral")
    write_logits(path, os.path.join(FIXTURES, "tiny-mistral-q8_0.logits.json"), vocab, 141)
    print(f"{path}: {os.path.getsize(path)} bytes, vocab {vocab}")
    for kind, qtype, tied, ffn, seed in (("f32", Q.F32, True, 72, 31), ("q8_0", Q.Q8_0, False, 96, 32)):
        path = write_tiny_qwen2(kind, qtype, tied, ffn, seed)
        write_logits(path, os.path.join(FIXTURES, f"tiny-qwen2-{kind}.logits.json"), vocab, seed + 100)
        print(f"{path}: {os.path.getsize(path)} bytes, vocab {vocab}")
    write_dequant_types(21)
    if args.default_model:
        write_default_slices(os.path.expanduser(args.default_model))


if __name__ == "__main__":
    main()
