#!/usr/bin/env python3
"""Writes Tests/Fixtures/tokenizer-qwen2.json, the Qwen2 tokenizer golden fixture used by
Tests/A2ATSModelTests/Qwen2TokenizerTests.swift.

Independent reference: Hugging Face `tokenizers` (PyPI), a byte-level BPE built from the
vocabulary and merges stored in Qwen2.5-Coder-0.5B-Instruct's GGUF file (read with the PyPI
`gguf` package) with Qwen2's pre-tokenizer (the Split regex of Qwen2's tokenizer.json, then
ByteLevel without its own regex; no normalizer, as llama.cpp's "qwen2" pre-type), and `jinja2`
rendering the chat template the file carries.

The full vocabulary (151,936 tokens, 151,387 merges) would be a 5 MB fixture and CI does not
install the 491 MB model, so the fixture keeps a trimmed vocabulary that the Swift tests always
run on: the 256 byte tokens, every control and user-defined token, and for each token in the
reference ids every merge (with its operands, recursively) that yields it, with original ids
and in original rank order. BPE on a subset of merges that holds every merge the full run
applies makes the same choices (at each step the lowest-ranked applicable merge is the same),
so ids are unchanged; the script checks that by encoding every string again with HF on the
trimmed vocabulary. Qwen2TokenizerTests also checks the full vocabulary from the real file
when it is installed (skipped otherwise).

Output: {"vocab_size", "tokens": {id: token}, "token_type": {id: type} (non-normal kept tokens),
"merges": [...], "pre", "bos", "eos", "add_bos", "chat_template",
"strings": [{"text", "ids"}], "chat": [{"user", "expected"}]}

Usage: python3 scripts/make_qwen2_tokenizer_fixture.py path/to/Qwen2.5-Coder-0.5B-Instruct.gguf
"""
import json
import os
import random
import sys

import jinja2
from gguf import GGUFReader
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_tiny_fixtures import bytes_to_unicode  # noqa: E402
from make_tokenizer_fixture import field_value, fixture_strings, string_array  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "tokenizer-qwen2.json")

QWEN2_REGEX = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"""
               r""" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""")


def build(vocab, merges, specials):
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[tuple(m.split(" ")) for m in merges], ignore_merges=False))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_REGEX), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    return tok


def qwen_strings():
    """Strings where Qwen2's regex differs from Llama-3's (single digits) or its specials matter."""
    s = [
        "1", "12", "123", "1234", "12345678901234567890", "x1y22z333", "3.14159265358979", "1e-10", "0x1F2E",
        "2024-11-27T08:00:00Z", "v2.5.1-rc3", "192.168.0.1:8080", "½ and ²", "٣٤٥ ١٢", "phone: +1 (555) 010-9999",
        "<|fim_prefix|>def add(a, b):\n    <|fim_suffix|>\n    return c<|fim_middle|>",
        "<|repo_name|>qwen<|file_sep|>src/main.py\nprint('hi')", "<tool_call>\n{\"name\": \"f\"}\n</tool_call>",
        "<|object_ref_start|>cat<|object_ref_end|><|box_start|>(1,2)<|box_end|>",
        "<|vision_start|><|image_pad|><|vision_end|>", "[PAD151665]", "<|endoftext|><|endoftext|>",
        "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n",
        "def fib(n: int) -> int:\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n",
        "    \n\n\t\n  x", "a\r\n\r\nb", "x  \n  y", "  leading", "trailing  ", "tabs\t\t\tand spaces   ",
        "class Foo(Bar):\n\tpass\n\n\n# comment 42\n", "std::vector<int> v{1, 2, 3};", "a[i][j] += b[k] * 10;",
        "Ünïcödé Çäsé 'LL 'S 'Re", "I'LL, you'RE, we'VE", "The answer is 42. The year was 1999!",
    ]
    rng = random.Random(15)
    for _ in range(10):
        s.append("".join(rng.choice("0123456789 .,-\n") for _ in range(rng.randint(5, 40))))
    return s


def main():
    reader = GGUFReader(sys.argv[1])
    tokens = string_array(reader, "tokenizer.ggml.tokens")
    merges = string_array(reader, "tokenizer.ggml.merges")
    tt = reader.fields["tokenizer.ggml.token_type"]
    token_types = [int(tt.parts[i][0]) for i in tt.data]
    pre = field_value(reader, "tokenizer.ggml.pre")
    assert pre == "qwen2", pre
    template = field_value(reader, "tokenizer.chat_template")
    specials = [tokens[i] for i, t in enumerate(token_types) if t in (3, 4)]
    full = build({t: i for i, t in enumerate(tokens)}, merges, specials)

    strings = fixture_strings() + qwen_strings()
    records = []
    for text in strings:
        ids = full.encode(text, add_special_tokens=False).ids
        assert full.decode(ids, skip_special_tokens=False) == text, repr(text)
        records.append({"text": text, "ids": ids})

    # Trim: byte tokens, specials, and every merge yielding a token the ids use, recursively.
    id_of = {t: i for i, t in enumerate(tokens)}
    yielding = {}
    for rank, m in enumerate(merges):
        a, b = m.split(" ")
        yielding.setdefault(a + b, []).append(rank)
    kept = {i for i, t in enumerate(token_types) if t in (3, 4)}
    kept |= {id_of[c] for c in bytes_to_unicode().values()}
    kept_merges, todo = set(), [tokens[i] for r in records for i in r["ids"]]
    seen = set()
    while todo:
        token = todo.pop()
        if token in seen:
            continue
        seen.add(token)
        kept.add(id_of[token])
        for rank in yielding.get(token, []):
            kept_merges.add(rank)
            todo.extend(merges[rank].split(" "))
    trimmed_merges = [merges[r] for r in sorted(kept_merges)]
    trimmed = build({tokens[i]: i for i in kept}, trimmed_merges, specials)
    for r in records:
        assert trimmed.encode(r["text"], add_special_tokens=False).ids == r["ids"], repr(r["text"])

    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
    chat = []
    for user in ("hi", "What is the special magic number?\n  Answer briefly. ", "  padded  ", "<|im_end|> inside"):
        rendered = env.from_string(template).render(messages=[{"role": "user", "content": user}],
                                                    add_generation_prompt=True)
        chat.append({"user": user, "expected": rendered})

    out = {"vocab_size": len(tokens), "tokens": {str(i): tokens[i] for i in sorted(kept)},
           "token_type": {str(i): token_types[i] for i in sorted(kept) if token_types[i] != 1},
           "merges": trimmed_merges, "pre": pre,
           "bos": int(field_value(reader, "tokenizer.ggml.bos_token_id")),
           "eos": int(field_value(reader, "tokenizer.ggml.eos_token_id")),
           "add_bos": bool(field_value(reader, "tokenizer.ggml.add_bos_token")),
           "chat_template": template, "strings": records, "chat": chat}
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, separators=(",", ":"))
    print(f"{len(records)} strings, {len(chat)} chat cases; kept {len(kept)} of {len(tokens)} tokens, "
          f"{len(trimmed_merges)} of {len(merges)} merges; {os.path.getsize(OUT)} bytes")


if __name__ == "__main__":
    main()
