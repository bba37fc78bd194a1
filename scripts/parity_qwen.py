#!/usr/bin/env python3
"""Parity of `a2ats-eval forward` on Qwen2.5-Coder-0.5B-Instruct against two independent references
(run outside CI; see docs/parity.md, section Qwen):

  numpy: the float64 NumPy forward of scripts/reference_forward.py (weights dequantized by PyPI `gguf`);
  llama: llama.cpp through llama-cpp-python (its own kernels and graph; on CPU its quantized matrix
         products round the activations to 8-bit blocks first (Q8_0/Q8_1/Q8_K), so its logits differ
         from exact dequantized-weight arithmetic by more than f32 rounding; greedy ids are the check).

Ours comes from the CLI, as in parity_default_model.py:
  a2ats-eval forward --model qwen2.5-coder-0.5b --text "$(cat P.txt)" [--generate 32] > P.swift.json
then
  python3 scripts/parity_qwen.py P.swift.json --numpy --llama [--greedy]

For each reference: max |Δlogit| and max relative Δ over our top-20 ids, and whether the reference's
top-20 ids are the same in the same order. With --greedy each reference decodes as many greedy tokens
as ours did (plus one, which should be a stop token when ours stopped early) from the same prompt
token ids (no re-tokenization), and the ids are compared. Prints one JSON object.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

DEFAULT = "~/.cache/a2ats-eval/models/Qwen2.5-Coder-0.5B-Instruct.gguf"
# Qwen2's end-of-generation tokens: <|endoftext|>, <|im_end|> (the file's eos and the chat stop).
QWEN_STOP = {151643, 151645}


def compare(ours, logits):
    """Our top-20 [(id, logit)] against a reference's full logit row."""
    order = np.argsort(-logits, kind="stable")[:len(ours)]
    diffs = [abs(float(v) - float(logits[int(i)])) for i, v in ours]
    rels = [d / max(abs(float(logits[int(i)])), 1e-6) for d, (i, _) in zip(diffs, ours)]
    return {"top": [[int(i), float(logits[i])] for i in order],
            "max_abs_diff": max(diffs), "max_rel_diff": max(rels),
            "same_top_ids": [int(i) for i, _ in ours] == [int(i) for i in order],
            "same_top1": int(ours[0][0]) == int(order[0])}


def numpy_reference(path, tokens, greedy):
    """Last-position logits and, with greedy > 0, up to that many greedy ids (KV-cached decode)."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import reference_forward
    start = time.time()
    model = reference_forward.load(path)
    loaded = time.time()
    cache = {}
    logits = model.forward(tokens, last_only=True, cache=cache)[-1]
    timing = {"load_s": round(loaded - start, 1), "forward_s": round(time.time() - loaded, 1)}
    generated, row = [], logits
    for _ in range(greedy):
        nxt = int(np.argmax(row))  # lowest index wins ties, as the engine's argmax
        generated.append(nxt)
        if nxt in QWEN_STOP:
            break
        row = model.forward([nxt], last_only=True, cache=cache)[-1]
    if greedy:
        timing["decode_s"] = round(time.time() - loaded - timing["forward_s"], 1)
    return logits, generated, timing


def llama_reference(path, tokens, greedy, threads, kv):
    """As numpy_reference, through llama.cpp's own graph and kernels (llama-cpp-python's ctypes API).

    logits_all=False: llama.cpp computes the output row of each batch's last token only, and
    llama-cpp-python then keeps no scores, so the row is read from the context (llama_get_logits)
    after each eval, which is what its sampler reads too."""
    import llama_cpp
    from llama_cpp import Llama
    kv_type = {"f16": 1, "f32": 0}[kv]  # GGML_TYPE_F16 (llama.cpp's default) or GGML_TYPE_F32
    llm = Llama(model_path=path, n_ctx=len(tokens) + greedy + 8, n_batch=512, n_threads=threads,
                n_threads_batch=threads, logits_all=False, type_k=kv_type, type_v=kv_type, verbose=False)
    vocab = llm.n_vocab()

    def last_row():
        return np.array(np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(vocab,)), dtype=np.float64)

    start = time.time()
    llm.eval(tokens)
    logits = last_row()
    timing = {"prefill_s": round(time.time() - start, 1), "llama_cpp_python": llama_cpp.__version__,
              "llama_model": path, "kv_cache": kv}
    generated = []
    if greedy:
        row = logits
        for _ in range(greedy):
            nxt = int(np.argmax(row))  # lowest index wins ties, as the engine's argmax
            generated.append(nxt)
            if nxt in QWEN_STOP:
                break
            llm.eval([nxt])
            row = last_row()
        timing["decode_s"] = round(time.time() - start - timing["prefill_s"], 1)
    return logits, generated, timing


def greedy_report(ours, theirs):
    """Ours stops before a stop token or at its limit; the reference decoded one token more."""
    n = len(ours)
    return {"ours": ours, "reference": theirs, "same_ids": theirs[:n] == ours,
            "reference_next_is_stop": len(theirs) > n and theirs[n] in QWEN_STOP}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("forward_json", help="output of `a2ats-eval forward` (with \"generated\" for --greedy)")
    p.add_argument("--model", default=DEFAULT)
    p.add_argument("--numpy", action="store_true", help="compare top-20 with the float64 NumPy forward")
    p.add_argument("--llama", action="store_true", help="compare top-20 with llama.cpp")
    p.add_argument("--greedy", action="store_true", help="also compare greedy token ids with each chosen reference")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--llama-kv", choices=["f16", "f32"], default="f16",
                   help="llama.cpp's K/V cache type (f16 is its default; f32 keeps its attention in f32)")
    p.add_argument("--llama-model", help="run llama.cpp on this GGUF instead of --model, e.g. the F32 copy "
                   "written by scripts/gguf_to_f32.py (same values, no activation rounding in its matmuls)")
    args = p.parse_args()
    path = os.path.abspath(os.path.expanduser(args.model))
    with open(args.forward_json) as f:
        ours = json.load(f)
    tokens, top = ours["tokens"], ours["top"]
    result = {"model": path, "prompt_tokens": len(tokens), "ours_top": top[:5]}
    ours_gen = ours.get("generated")
    if args.greedy and ours_gen is None:
        sys.exit(f"{args.forward_json}: no \"generated\" ids (run forward with --generate N)")
    budget = len(ours_gen) + 1 if args.greedy else 0
    if args.numpy:
        logits, theirs_gen, timing = numpy_reference(path, tokens, budget)
        result["numpy"] = {**compare(top, logits), **timing}
        if args.greedy:
            result["numpy"]["greedy"] = greedy_report(ours_gen, theirs_gen)
    if args.llama:
        llama_path = os.path.abspath(os.path.expanduser(args.llama_model)) if args.llama_model else path
        logits, theirs_gen, timing = llama_reference(llama_path, tokens, budget, args.threads, args.llama_kv)
        result["llama"] = {**compare(top, logits), **timing}
        if args.greedy:
            result["llama"]["greedy"] = greedy_report(ours_gen, theirs_gen)
    for name in ("numpy", "llama"):
        if name in result:
            result[name]["top"] = result[name]["top"][:5]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
