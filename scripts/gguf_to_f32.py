#!/usr/bin/env python3
"""Writes an F32 copy of a GGUF file: every tensor dequantized by PyPI `gguf` (gguf.quants.dequantize),
every metadata key copied unchanged.

Why: llama.cpp's CPU matrix products on quantized weights first round the activations to 8-bit
blocks (Q8_0/Q8_1/Q8_K), so its logits on a quantized file differ from exact arithmetic on the
dequantized weights by ~0.1. On the F32 copy (the same values the engine computes with) it multiplies
in f32, so comparing against it checks the graph itself: RoPE mode, biases, GQA, norms, softmax.
Used by scripts/parity_qwen.py --llama-model (docs/parity.md §2b; run outside CI).

Run: python3 scripts/gguf_to_f32.py IN.gguf OUT.gguf   (venv with numpy + gguf; ~4 bytes a weight)
"""
import argparse
import os

import numpy as np
import gguf
from gguf import GGUFReader, GGUFValueType as V
import gguf.quants as quants


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("source")
    p.add_argument("destination")
    args = p.parse_args()
    reader = GGUFReader(os.path.expanduser(args.source))
    arch = reader.fields["general.architecture"].contents()
    writer = gguf.GGUFWriter(args.destination, arch)
    for name, field in reader.fields.items():
        # The writer adds general.architecture itself; GGUF.* are the reader's header pseudo-fields.
        if name == "general.architecture" or name.startswith("GGUF."):
            continue
        vtype = field.types[0]
        sub_type = field.types[-1] if vtype == V.ARRAY else None
        writer.add_key_value(name, field.contents(), vtype, sub_type=sub_type)
    for t in reader.tensors:
        values = quants.dequantize(t.data, t.tensor_type).astype(np.float32)
        writer.add_tensor(t.name, values.reshape(tuple(int(d) for d in reversed(t.shape))))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    print(f"{args.destination}: {os.path.getsize(args.destination)} bytes, {len(reader.tensors)} tensors")


if __name__ == "__main__":
    main()
