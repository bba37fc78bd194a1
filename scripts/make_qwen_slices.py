#!/usr/bin/env python3
"""Dumps a few rows of one tensor per weight type of the real Qwen2.5-Coder-0.5B GGUF, as raw
GGUF block bytes plus the `gguf` package's own dequantization (gguf.quants.dequantize), into
Tests/Fixtures/qwen-weight-slices.json (~0.4 MB).

The Swift test GGUFWeightTypeTests dequantizes the raw bytes with our code and compares bit for
bit, and multiplies them with the compact decode kernels. Bytes and floats are base64 of the
little-endian arrays so the comparison is exact (no decimal round trip).

Run (the gguf and numpy packages in a throwaway venv):
  python3 scripts/make_qwen_slices.py ~/.cache/a2ats-eval/models/Qwen2.5-Coder-0.5B-Instruct.gguf
"""
import argparse
import base64
import hashlib
import json
import os
from importlib import metadata

import numpy as np
from gguf import GGUFReader
import gguf.quants as quants

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures",
                       "qwen-weight-slices.json")

# (tensor, rows): one tensor per type the file uses. Rows are spread over the matrix; the K-quant
# rows are 4864 wide (19 super-blocks), the others 896 (28 blocks).
SLICES = (
    ("blk.0.attn_q.weight", (0, 1, 447, 895)),        # Q5_0
    ("blk.0.attn_v.weight", (0, 1, 64, 127)),         # Q8_0
    ("blk.2.ffn_down.weight", (0, 1, 448, 895)),      # Q4_K
    ("blk.0.ffn_down.weight", (0, 1, 448, 895)),      # Q6_K
    ("blk.0.attn_q.bias", None),                      # F32 (whole vector)
)


def b64(array):
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="the assembled Qwen2.5-Coder-0.5B-Instruct GGUF")
    args = parser.parse_args()
    path = os.path.expanduser(args.model)
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    reader = GGUFReader(path)
    tensors = {t.name: t for t in reader.tensors}
    slices = []
    for name, rows in SLICES:
        t = tensors[name]
        raw = np.asarray(t.data)
        if rows is None:
            rows = (0,)
            raw = raw.reshape(1, -1)
        raw_rows = raw[list(rows)]
        values = quants.dequantize(raw_rows, t.tensor_type).astype(np.float32)
        slices.append({
            "tensor": name, "type": t.tensor_type.name, "dims": [int(d) for d in t.shape],
            "rows": list(rows), "cols": int(t.shape[0]),
            "raw": b64(raw_rows.view(np.uint8)), "values": b64(values.astype("<f4")),
        })
    out = {"model": os.path.basename(path), "sha256": digest, "gguf_package": metadata.version("gguf"),
           "slices": slices}
    with open(FIXTURE, "w") as f:
        json.dump(out, f, indent=1)
    print(f"{FIXTURE}: {os.path.getsize(FIXTURE)} bytes")


if __name__ == "__main__":
    main()
