#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (Fuzz/corpus/<target>/, see docs/reliability.md).

`ok-*` files are valid inputs every stage of the target must accept; `bad-*` files must be
refused with the parser's typed error (CorpusReplayTests holds both to that). Seeds are:
  - copies of the valid and invalid JSON/JSONL fixtures (Tests/Fixtures, tasks/, configs/);
  - micro Llama and Qwen2 GGUF models (a few KB) written by the official `gguf` package;
  - codebook (.a2cb) and offline-artifact (.a2oa) files written here from the byte layouts
    documented in CodebookFile.swift and OfflineArtifact.swift — an independent writer, so the
    replay test also checks that the Swift readers accept files they did not write;
  - Hugging Face checkpoint files: the tokenizer and checkpoint fixtures (Tests/Fixtures/hf-tokenizers,
    Tests/Fixtures/checkpoints; two-file inputs joined by a NUL byte), their chat templates, and
    tiny safetensors files written here from the format's README.
`bad-crash-*` and `ok-crash-*` files reproduce crashes found while writing and running the fuzz targets
(docs/reliability.md); each also has a unit test in its module's tests.

Run: python3 scripts/fuzz/make_seeds.py   (needs numpy and gguf, e.g. in a throwaway venv)
Deterministic: re-running reproduces the same bytes.
"""
import os
import shutil
import struct

import numpy as np
import gguf

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
CORPUS = os.path.join(ROOT, "Fuzz", "corpus")


def out(target, name):
    os.makedirs(os.path.join(CORPUS, target), exist_ok=True)
    return os.path.join(CORPUS, target, name)


def copy(target, source, name):
    shutil.copyfile(os.path.join(ROOT, source), out(target, name))


def write(target, name, data):
    with open(out(target, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def json_seeds():
    for kind in ("ruler", "longbench", "custom"):
        copy("task-data", f"Tests/Fixtures/tasks-{kind}.jsonl", f"ok-{kind}.jsonl")
    copy("task-data", "Tests/Fixtures/runner/runner_niah/validation.jsonl", "ok-runner-niah.jsonl")
    for kind in ("malformed", "missing", "type", "empty"):
        copy("task-data", f"Tests/Fixtures/tasks-{'bad-' + kind if kind != 'empty' else 'empty'}.jsonl", f"bad-{kind}.jsonl")

    copy("task-definitions", "tasks/ruler.json", "ok-ruler.json")
    copy("task-definitions", "tasks/longbench.json", "ok-longbench.json")
    copy("task-definitions", "Tests/Fixtures/runner/tasks/runner.json", "ok-runner.json")
    write("task-definitions", "bad-unknown-metric.json",
          '{"version": 1, "tasks": [{"name": "t", "source": "custom", "template": "{context} {input}", '
          '"max_new_tokens": 8, "metric": "qa_f2"}]}\n')

    # A generated RULER task whose template lost {context}: the generator doubled the haystack forever.
    write("task-definitions", "bad-crash-ruler-template-without-context.json",
          '{"version": 1, "tasks": [{"name": "n", "source": "ruler", "template": "What is {query}?", '
          '"max_new_tokens": 8, "metric": "string_match_all", "generator": {"task": "niah", "args": {}}}]}\n')

    # No queries asked: the needle family indexed an empty query list.
    write("task-definitions", "bad-crash-niah-no-queries.json",
          '{"version": 1, "tasks": [{"name": "n", "source": "ruler", "template": "{context} What is {query}?", '
          '"max_new_tokens": 8, "metric": "string_match_all", "generator": {"task": "niah", "args": {"num_needle_q": 0}}}]}\n')

    # A generator without its family: refused later as "not synthetic", without the file's name.
    write("task-definitions", "bad-crash-generator-without-family.json",
          '{"version": 1, "name": "n", "source": "ruler", "template": "{context}", "max_new_tokens": 8, '
          '"metric": "string_match_all", "generator": {"tusk": "niah"}}\n')

    copy("model-registry", "configs/models.json", "ok-models.json")
    # Source sizes whose sum overflows Int.
    write("model-registry", "bad-crash-size-overflow.json",
          open(os.path.join(ROOT, "configs/models.json")).read().replace('"size": 89128960', '"size": 9223372036854775807', 1))
    write("model-registry", "bad-default-unknown.json",
          open(os.path.join(ROOT, "configs/models.json")).read().replace('"default": "smollm2-135m"', '"default": "smollm2"'))

    results = open(os.path.join(ROOT, "Tests/Fixtures/reports-results.jsonl")).read()
    write("results", "ok-report-rows.jsonl", results)
    lines = results.splitlines(keepends=True)
    # What a kill mid-append leaves: complete rows, then half a row without its newline.
    write("results", "ok-killed-mid-row.jsonl", "".join(lines[:3]) + lines[3][: len(lines[3]) // 2])
    write("results", "bad-row-without-budget.jsonl", lines[0].replace('"budget"', '"budgett"'))


MICRO = dict(layers=1, hidden=8, heads=2, kv_heads=1, head_dim=4, ffn=8, ctx=64)


def micro_tokenizer():
    """Specials, the byte-level letters, space ("Ġ") and a few merges (all parts in the vocabulary)."""
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)] + ["Ġ"]
    merges = ["t h", "th e", "Ġ the", "o x"]
    merged = ["th", "the", "Ġthe", "ox"]
    tokens = specials + letters + merged
    return tokens, merges, [3] * len(specials) + [1] * (len(tokens) - len(specials))


def write_micro_model(arch, path, extra=None):
    c = MICRO
    tokens, merges, types = micro_tokenizer()
    rng = np.random.default_rng(17)
    q, kv, h, f = c["heads"] * c["head_dim"], c["kv_heads"] * c["head_dim"], c["hidden"], c["ffn"]
    mat = lambda rows, cols: rng.standard_normal((rows, cols)).astype(np.float32)
    w = gguf.GGUFWriter(path, arch)
    w.add_block_count(c["layers"])
    w.add_context_length(c["ctx"])
    w.add_embedding_length(h)
    w.add_feed_forward_length(f)
    w.add_head_count(c["heads"])
    w.add_head_count_kv(c["kv_heads"])
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen2" if arch == "qwen2" else "smollm")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_add_bos_token(arch == "llama")
    if extra:
        extra(w)
    w.add_chat_template("{% for message in messages %}<|im_start|>{{ message['content'] }}<|im_end|>{% endfor %}")
    w.add_tensor("token_embd.weight", mat(len(tokens), h))
    w.add_tensor("output_norm.weight", np.ones(h, dtype=np.float32))
    b = "blk.0."
    for name, shape in (("attn_norm.weight", (h,)), ("attn_q.weight", (q, h)), ("attn_k.weight", (kv, h)),
                        ("attn_v.weight", (kv, h)), ("attn_output.weight", (h, q)), ("ffn_norm.weight", (h,)),
                        ("ffn_gate.weight", (f, h)), ("ffn_up.weight", (f, h)), ("ffn_down.weight", (h, f))):
        w.add_tensor(b + name, mat(*shape) if len(shape) == 2 else np.ones(shape, dtype=np.float32))
    if arch == "qwen2":
        for name, rows in (("attn_q.bias", q), ("attn_k.bias", kv), ("attn_v.bias", kv)):
            w.add_tensor(b + name, rng.standard_normal(rows).astype(np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def gguf_seeds():
    write_micro_model("llama", out("gguf", "ok-micro-llama.gguf"))
    write_micro_model("qwen2", out("gguf", "ok-micro-qwen2.gguf"))
    # Every metadata value type and every dequantizable tensor type, but no model metadata.
    copy("gguf", "Tests/Fixtures/tiny-dequant-types.gguf", "bad-no-model-all-value-types.gguf")
    llama = open(out("gguf", "ok-micro-llama.gguf"), "rb").read()
    write("gguf", "bad-truncated-in-metadata.gguf", llama[:200])
    # 4 billion layers: the expected-shape list was built for all of them.
    write_micro_model("llama", out("gguf", "bad-crash-block-count.gguf"), lambda w: None)
    patched = bytearray(open(out("gguf", "bad-crash-block-count.gguf"), "rb").read())
    at = patched.index(b"llama.block_count") + len("llama.block_count")
    assert patched[at:at + 4] == struct.pack("<I", 4)
    patched[at + 4:at + 8] = struct.pack("<I", 0xFFFFFFFF)
    write("gguf", "bad-crash-block-count.gguf", bytes(patched))
    # A linear RoPE factor near Float's maximum: the scaled context was Int(inf); now it saturates.
    write_micro_model("llama", out("gguf", "ok-crash-rope-factor.gguf"),
                      lambda w: (w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR), w.add_rope_scaling_factor(3e38)))


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def codebook(layers, heads, dim, centroids, wrope=True, query_aware=True, offset=2048, first_layer=0):
    """The .a2cb layout of CodebookFile.swift: 64-byte header, then per (layer, KV head) the
    Cholesky factor L, the centroids, iterations, converged and objective."""
    rng = np.random.default_rng(5)
    body = b""
    for _ in range(layers * heads):
        L = np.tril(rng.standard_normal((dim, dim))).astype(np.float32)
        np.fill_diagonal(L, np.abs(np.diag(L)) + 1)
        body += L.tobytes() + rng.standard_normal((centroids, dim)).astype(np.float32).tobytes()
        body += struct.pack("<IId", 7, 1, 0.5)
    header = b"A2ATSCB1" + struct.pack("<II", 1, (1 if wrope else 0) | (2 if query_aware else 0))
    header += b"0123456789abcdef" + struct.pack("<6I", layers, heads, dim, centroids, offset, first_layer)
    return header + struct.pack("<Q", fnv1a64(body)) + body


def artifact(kind, settings, tensors, shape=(2, 4, 2, 8)):
    """The .a2oa layout of OfflineArtifact.swift: 96-byte header, settings and tensors in name order."""
    name = lambda text: text.encode()[:32].ljust(32, b"\0")
    body = b""
    for key in sorted(settings):
        body += name(key) + struct.pack("<q", settings[key])
    for key in sorted(tensors):
        values = np.asarray(tensors[key], dtype=np.float32)
        body += name(key) + struct.pack("<Q", values.size) + values.tobytes()
    header = b"A2OFFAR1" + struct.pack("<7I", 1, len(settings), len(tensors), *shape)
    header += b"0123456789abcdef" + name(kind) + struct.pack("<I", 0)
    return header + struct.pack("<Q", fnv1a64(body)) + body


def binary_seeds():
    write("codebook", "ok-one-head.a2cb", codebook(1, 1, 2, 2))
    write("codebook", "ok-two-layers.a2cb", codebook(2, 2, 4, 3, wrope=False))
    damaged = bytearray(codebook(1, 1, 2, 2))
    damaged[70] ^= 0xFF
    write("codebook", "bad-checksum.a2cb", bytes(damaged))
    # Header counts whose product overflows Int (the size check trapped, or wrapped unchecked).
    overflow = bytearray(codebook(1, 1, 1, 1)[:64]) + b"\0\0\0\0"
    overflow[32:48] = struct.pack("<4I", 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 1)
    overflow[56:64] = struct.pack("<Q", fnv1a64(overflow[64:]))
    write("codebook", "bad-crash-size-overflow.a2cb", bytes(overflow))

    rng = np.random.default_rng(9)
    write("offline-artifact", "ok-doublesparsity.a2oa",
          artifact("doublesparsity", {"channels": 2, "tokens": 64}, {"channels": [0, 3, 1, 2], "scale": [0.5, 2.0]}))
    write("offline-artifact", "ok-infinigen.a2oa",
          artifact("infinigen", {"tokens": 64}, {"skew.0": rng.standard_normal(16), "skew.1": rng.standard_normal(16)}))
    write("offline-artifact", "bad-truncated.a2oa", artifact("infinigen", {"tokens": 64}, {"a": [1.0, 2.0]})[:-3])
    # A tensor count of 2^61 - 1: its end offset wrapped negative and passed the bounds check.
    lying = bytearray(artifact("infinigen", {}, {"skew": [1.0, 2.0]}))
    lying[96 + 32:96 + 40] = struct.pack("<Q", 0x1FFFFFFFFFFFFFFF)
    lying[88:96] = struct.pack("<Q", fnv1a64(lying[96:]))
    write("offline-artifact", "bad-crash-tensor-count.a2oa", bytes(lying))


def checkpoint_seeds():
    """Seeds of the Hugging Face checkpoint targets. Two-file targets (hf-tokenizer,
    checkpoint-config) take one input split at its first NUL byte: first file, NUL, second file."""
    import json
    fixtures = os.path.join(ROOT, "Tests", "Fixtures")

    def read(*parts):
        with open(os.path.join(fixtures, *parts), "rb") as f:
            return f.read()

    for kind in ("llama3", "metaspace", "qwen2", "sentencepiece", "smollm"):
        tokenizer = read("hf-tokenizers", kind, "tokenizer.json")
        config = read("hf-tokenizers", kind, "tokenizer_config.json")
        write("hf-tokenizer", f"ok-{kind}.json", tokenizer + b"\0" + config)
        template = json.loads(config).get("chat_template")
        if isinstance(template, str):
            write("chat-template", f"ok-{kind}.jinja", template)
    smollm = read("hf-tokenizers", "smollm", "tokenizer.json")
    write("hf-tokenizer", "ok-no-config.json", smollm)
    write("hf-tokenizer", "bad-unigram.json", smollm.replace(b'"type": "BPE"', b'"type": "Unigram"', 1)
          .replace(b'"type":"BPE"', b'"type":"Unigram"', 1))
    write("hf-tokenizer", "bad-template.json", smollm + b'\0{"chat_template": "{% for m in messages %}{{ m.content }"}')
    write("hf-tokenizer", "bad-not-json.json", b'{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [')
    write("chat-template", "bad-syntax.jinja", "{% for message in messages %}{{ message.content }")
    write("chat-template", "bad-raise.jinja",
          "{% if messages[0].role == 'user' %}{{ raise_exception('Conversations must start with a system turn') }}{% endif %}")
    write("chat-template", "bad-undefined-arithmetic.jinja", "{{ messages | length + nothing.at.all }}")

    for name in sorted(os.listdir(os.path.join(fixtures, "checkpoints"))):
        folder = os.path.join("checkpoints", name)
        if not os.path.isdir(os.path.join(fixtures, folder)):
            continue
        write("checkpoint-config", f"ok-{name}.json",
              read(folder, "config.json") + b"\0" + read(folder, "generation_config.json"))
    llama = json.loads(read("checkpoints", "llama-f32", "config.json"))
    write("checkpoint-config", "ok-no-generation-config.json", json.dumps(llama, indent=1))
    for field, value in (("hidden_act", "gelu"), ("num_key_value_heads", 3), ("rope_scaling", {"rope_type": "longrope"})):
        write("checkpoint-config", f"bad-{field}.json", json.dumps(dict(llama, **{field: value}), indent=1))
    write("checkpoint-config", "bad-generation-not-json.json", json.dumps(llama) + "\0{\"eos_token_id\": [2,")
    # Found by the fuzzer: an original_max_position_embeddings past Int64 (was a trap in Int(Double));
    # now read as an integer, which json-c saturates at Int64.max, so the config is accepted.
    llama3 = json.loads(read("checkpoints", "llama-bf16-llama3", "config.json"))
    llama3["rope_scaling"]["original_max_position_embeddings"] = 392233720368547758072
    write("checkpoint-config", "ok-crash-original-positions.json",
          json.dumps(llama3, indent=2).encode() + b"\0" + read("checkpoints", "llama-bf16-llama3", "generation_config.json"))

    # safetensors, written here from the format's README (8-byte little-endian header length,
    # JSON header padded with spaces to 8 bytes, then the tensors' bytes): an independent writer.
    def safetensors(tensors, metadata=None, pad=True, truncate=0):
        header, data = {}, b""
        if metadata is not None:
            header["__metadata__"] = metadata
        for name, dtype, shape, raw in tensors:
            header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
            data += raw
        text = json.dumps(header, separators=(",", ":")).encode()
        if pad:
            text += b" " * (-len(text) % 8)
        blob = struct.pack("<Q", len(text)) + text + data
        return blob[:len(blob) - truncate]

    values = np.linspace(-2, 2, 12)
    f32 = values.astype("<f4").tobytes()
    f16 = values.astype("<f2").tobytes()
    bf16 = (values.astype("<f4").view("<u4") >> 16).astype("<u2").tobytes()
    mixed = [("model.embed_tokens.weight", "F32", [3, 4], f32), ("model.norm.weight", "F16", [12], f16),
             ("lm_head.weight", "BF16", [4, 3], bf16), ("counts", "I64", [2], struct.pack("<qq", 1, 2)),
             ("empty", "F32", [0, 4], b"")]
    write("safetensors", "ok-mixed.safetensors", safetensors(mixed, metadata={"format": "pt"}))
    write("safetensors", "ok-unpadded.safetensors", safetensors(mixed[:2], pad=False))
    write("safetensors", "ok-no-tensors.safetensors", safetensors([]))
    write("safetensors", "bad-truncated.safetensors", safetensors(mixed, truncate=5))
    write("safetensors", "bad-shape.safetensors", safetensors([("w", "F32", [5, 4], f32)]))
    write("safetensors", "bad-dtype.safetensors", safetensors([("w", "F31", [12], f32)]))
    overlap = safetensors([("a", "F32", [12], f32), ("b", "F32", [12], f32)])
    write("safetensors", "bad-overlap.safetensors", overlap.replace(b'"data_offsets":[48,96]', b'"data_offsets":[0,48]'))
    write("safetensors", "bad-header-length.safetensors", struct.pack("<Q", 1 << 40) + b"{}      ")
    # 2^61 F64 values: the element count fits Int, the byte count does not (was a trap).
    write("safetensors", "bad-crash-byte-count-overflow.safetensors",
          safetensors([("a", "F64", [1 << 61], b"")], pad=False))


if __name__ == "__main__":
    json_seeds()
    gguf_seeds()
    binary_seeds()
    checkpoint_seeds()
