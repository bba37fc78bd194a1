#!/usr/bin/env python3
"""GPU side of `a2ats-eval throughput`, measured (issue 16; run only where a GPU is lent, never in CI).

The cost model predicts a decode step from rooflines. This times the same work with PyTorch on a
real card, for Llama-3.1-8B shapes (32 layers, hidden 4096, 32 query / 8 KV heads, d 128, ffn 14336,
vocab 128256; random bf16 weights — speed does not depend on values, but never zeros):

  resident   K/V on the GPU: per layer the fused QKV, output, gate/up and down products at batch b
             and exact attention of the group's 4 query heads over n cached K/V rows
             (scaled_dot_product_attention, flash kernels), plus the LM head once.
  offloaded  A²ATS's GPU part with K/V on the host: the same products, and per query head the
             C·d table q·codebookᵀ, n lookups (gather of the table by each token's code), and the
             top-k selection (k = topk · n) the paper's step also runs on the GPU.
  link       host↔device copies from pinned memory (the PCIe term's bandwidth).
  ceilings   a device-to-device copy (bytes read + written) and an 8192³ bf16 product.

One layer's weights, K/V and codes are reused for all 32 layers: each is far larger than the
card's L2 cache, so every layer still streams them from HBM. Gathers use int64 indices (what
torch.gather takes): 8 bytes per token where a custom kernel would read the 2-byte code, so the
lookup figure is an upper bound. Prints a table and writes JSON to --out.

  python3 scripts/throughput/gpu_step.py --resident 32768:30,65536:15,131072:7 \
      --offloaded 32768:128,65536:64,131072:32 --out gpu_step.json
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F

LAYERS, HIDDEN, HEADS, KV_HEADS, D, FFN, VOCAB = 32, 4096, 32, 8, 128, 14336, 128256
GROUP = HEADS // KV_HEADS


DEVICE = "cuda"


def timed(fn, repeats=5, warmup=2):
    """Median milliseconds of fn() over `repeats` runs, with CUDA events (host clock on CPU)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        if DEVICE == "cuda":
            torch.cuda.synchronize()
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
        else:
            start = time.perf_counter()
            fn()
            times.append(1000 * (time.perf_counter() - start))
    return sorted(times)[len(times) // 2]


def randn(*shape, dtype=torch.bfloat16):
    return (torch.randn(*shape, device=DEVICE, dtype=torch.float32) * 0.02).to(dtype)


class Layer:
    """One decoder layer's weights (bf16, random)."""

    def __init__(self):
        self.qkv = randn(HIDDEN, (HEADS + 2 * KV_HEADS) * D)
        self.out = randn(HEADS * D, HIDDEN)
        self.gate_up = randn(HIDDEN, 2 * FFN)
        self.down = randn(FFN, HIDDEN)
        self.bytes = 2 * sum(w.numel() for w in (self.qkv, self.out, self.gate_up, self.down))

    def products(self, x, attend):
        """The layer's products around `attend(qkv) -> (b, HEADS*D)`."""
        qkv = x @ self.qkv
        h = x + attend(qkv) @ self.out
        gu = h @ self.gate_up
        return h + (F.silu(gu[:, :FFN]) * gu[:, FFN:]) @ self.down


def resident_step(layer, head, b, n):
    k = randn(b, KV_HEADS, n, D)
    v = randn(b, KV_HEADS, n, D)
    x = randn(b, HIDDEN)

    def attend(qkv):
        q = qkv[:, :HEADS * D].reshape(b, KV_HEADS, GROUP, D)  # the group's heads as 4 query rows
        return F.scaled_dot_product_attention(q, k, v).reshape(b, HEADS * D)

    def step():
        h = x
        for _ in range(LAYERS):
            h = layer.products(h, attend)
        return h @ head

    ms = timed(step)
    qkv = randn(b, (HEADS + 2 * KV_HEADS) * D)
    attention_ms = timed(lambda: [attend(qkv) for _ in range(LAYERS)])
    kv_bytes = 2 * k.numel() * 2 * LAYERS
    del k, v
    return {"plan": "resident", "context": n, "batch": b, "step_ms": ms, "attention_ms": attention_ms,
            "bytes": layer.bytes * LAYERS + head.numel() * 2 + kv_bytes}


def offloaded_step(layer, head, b, n, centroids, topk):
    codebook = randn(KV_HEADS, centroids, D)
    codes = torch.randint(0, centroids, (b, KV_HEADS, 1, n), device=DEVICE, dtype=torch.int64)
    index = codes.expand(b, KV_HEADS, GROUP, n)
    x = randn(b, HIDDEN)
    k = max(1, int(topk * n))
    out = randn(b, HEADS * D)  # the host's attention output, as it arrives back

    def select(qkv):
        q = qkv[:, :HEADS * D].reshape(b, KV_HEADS, GROUP, D)
        table = torch.einsum("bhgd,hcd->bhgc", q, codebook)  # C·d per query head
        scores = table.gather(3, index)  # n lookups per query head
        return torch.topk(scores, k, dim=-1).indices

    def step():
        h = x
        for _ in range(LAYERS):
            h = layer.products(h, lambda qkv: (select(qkv), out)[1])
        return h @ head

    ms = timed(step)
    q = randn(b, (HEADS + 2 * KV_HEADS) * D)
    table_ms = timed(lambda: [torch.einsum("bhgd,hcd->bhgc", q[:, :HEADS * D].reshape(b, KV_HEADS, GROUP, D), codebook)
                              for _ in range(LAYERS)])
    select_ms = timed(lambda: [select(q) for _ in range(LAYERS)])
    del codes, index
    return {"plan": "offloaded", "context": n, "batch": b, "step_ms": ms, "table_ms": table_ms,
            "selection_ms": select_ms, "selected_per_head": k}


def link_bandwidth(megabytes=1024):
    if DEVICE != "cuda":
        return {"h2d_gbs": None, "d2h_gbs": None}
    host = torch.empty(megabytes << 20, dtype=torch.uint8, pin_memory=True).random_(0, 255)
    device = torch.empty_like(host, device="cuda")
    to_device = timed(lambda: device.copy_(host, non_blocking=True))
    to_host = timed(lambda: host.copy_(device, non_blocking=True))
    return {"h2d_gbs": host.numel() / to_device / 1e6, "d2h_gbs": host.numel() / to_host / 1e6}


def ceilings():
    a = torch.empty((2 << 30) if DEVICE == "cuda" else (64 << 20), dtype=torch.uint8, device=DEVICE).random_(0, 255)
    b = torch.empty_like(a)
    copy_ms = timed(lambda: b.copy_(a))
    size = 8192 if DEVICE == "cuda" else 512
    m = randn(size, size)
    mm_ms = timed(lambda: m @ m)
    return {"hbm_gbs": 2 * a.numel() / copy_ms / 1e6, "bf16_tflops": 2 * size ** 3 / mm_ms / 1e9}


def pairs(text):
    return [tuple(int(v) for v in item.split(":")) for item in text.split(",") if item]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--resident", default="32768:30,65536:15,131072:7", help="context:batch,...")
    parser.add_argument("--offloaded", default="32768:128,65536:64,131072:32", help="context:batch,...")
    parser.add_argument("--centroids", type=int, default=4096)
    parser.add_argument("--topk", type=float, default=0.03)
    parser.add_argument("--out", default="gpu_step.json")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny shapes on the CPU: checks the script's plumbing where no GPU is lent (no figures)")
    args = parser.parse_args()
    if args.smoke:
        global DEVICE, LAYERS, HIDDEN, HEADS, KV_HEADS, FFN, VOCAB, GROUP
        DEVICE, LAYERS, HIDDEN, HEADS, KV_HEADS, FFN, VOCAB = "cpu", 2, 256, 8, 2, 512, 1000
        GROUP = HEADS // KV_HEADS
    torch.manual_seed(0)
    cuda = DEVICE == "cuda"
    facts = {"device": torch.cuda.get_device_name() if cuda else "cpu (smoke)", "torch": torch.__version__,
             "memory_gib": torch.cuda.get_device_properties(0).total_memory / 2 ** 30 if cuda else None,
             "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    facts.update(ceilings())
    facts.update(link_bandwidth())
    print(json.dumps(facts), flush=True)
    layer, head = Layer(), randn(HIDDEN, VOCAB)
    rows = []
    for n, b in pairs(args.resident):
        rows.append(resident_step(layer, head, b, n))
        print(json.dumps(rows[-1]), flush=True)
        if cuda:
            torch.cuda.empty_cache()
    for n, b in pairs(args.offloaded):
        rows.append(offloaded_step(layer, head, b, n, args.centroids, args.topk))
        print(json.dumps(rows[-1]), flush=True)
        if cuda:
            torch.cuda.empty_cache()
    with open(args.out, "w") as f:
        json.dump({"facts": facts, "rows": rows}, f, indent=1)
    print(f"\n{facts['device']}: HBM copy {facts['hbm_gbs']:.0f} GB/s, bf16 {facts['bf16_tflops']:.0f} TFLOP/s, "
          f"pinned H2D {facts['h2d_gbs'] or 0:.1f} GB/s, D2H {facts['d2h_gbs'] or 0:.1f} GB/s")
    print("| plan | context | batch | step ms | of which attention / table / selection ms | tok/s |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        part = (f"{r['attention_ms']:.2f}" if r["plan"] == "resident"
                else f"{r['table_ms']:.2f} / {r['selection_ms']:.2f}")
        print(f"| {r['plan']} | {r['context']} | {r['batch']} | {r['step_ms']:.2f} | {part} | {1000 * r['batch'] / r['step_ms']:.0f} |")


if __name__ == "__main__":
    main()
