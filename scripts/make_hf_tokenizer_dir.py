#!/usr/bin/env python3
"""Writes a Hugging Face tokenizer directory (tokenizer.json + tokenizer_config.json) for an
installed GGUF model, so the tokenizer.json loader can be held against the GGUF tokenizer on a
full-size real vocabulary (HuggingFaceTokenizerRealVocabularyTests, skipped when absent).

Independent reference: Hugging Face `tokenizers` builds the tokenizer from the GGUF's own
vocabulary, merges and token types (read with the PyPI `gguf` package) with the pre-tokenizer
its `tokenizer.ggml.pre` names, as transformers' GGUF converter does, and saves it; the config
carries the GGUF's BOS/EOS, add_bos_token and chat template. (transformers itself needs torch
to read GGUF files, which this machine does not have.)

Usage: python3 scripts/make_hf_tokenizer_dir.py MODEL.gguf OUT_DIR
  e.g. OUT_DIR = ~/.cache/a2ats-eval/hf-tokenizers/<GGUF file name without .gguf>
"""
import json
import os
import sys

from gguf import GGUFReader
from tokenizers import processors

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_qwen2_tokenizer_fixture import build as build_qwen2  # noqa: E402
from make_tokenizer_fixture import build_tokenizer, field_value, string_array  # noqa: E402


def main():
    reader = GGUFReader(sys.argv[1])
    out = sys.argv[2]
    tokens = string_array(reader, "tokenizer.ggml.tokens")
    merges = string_array(reader, "tokenizer.ggml.merges")
    tt = reader.fields["tokenizer.ggml.token_type"]
    token_types = [int(tt.parts[i][0]) for i in tt.data]
    pre = field_value(reader, "tokenizer.ggml.pre")
    if pre == "qwen2":
        specials = [tokens[i] for i, t in enumerate(token_types) if t in (3, 4)]
        tok = build_qwen2({t: i for i, t in enumerate(tokens)}, merges, specials)
    else:
        tok = build_tokenizer(tokens, merges, token_types, pre)
    bos = field_value(reader, "tokenizer.ggml.bos_token_id")
    eos = field_value(reader, "tokenizer.ggml.eos_token_id")
    add_bos = bool(field_value(reader, "tokenizer.ggml.add_bos_token")) if "tokenizer.ggml.add_bos_token" in reader.fields else False
    if add_bos:
        tok.post_processor = processors.TemplateProcessing(single=f"{tokens[bos]} $A", special_tokens=[(tokens[bos], bos)])
    os.makedirs(out, exist_ok=True)
    tok.save(os.path.join(out, "tokenizer.json"))
    config = {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": tokens[bos], "eos_token": tokens[eos],
              "add_bos_token": add_bos, "chat_template": field_value(reader, "tokenizer.chat_template")}
    with open(os.path.join(out, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, ensure_ascii=False, indent=2)
    print(f"{out}: {len(tokens)} tokens, {len(merges)} merges, pre {pre}, add_bos {add_bos}")


if __name__ == "__main__":
    main()
