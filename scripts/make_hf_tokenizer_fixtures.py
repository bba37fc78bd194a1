#!/usr/bin/env python3
"""Writes the Hugging Face tokenizer-directory fixtures used by
Tests/A2ATSModelTests/HuggingFaceTokenizer*Tests.swift and ChatTemplate*Tests.swift.

Independent references: Hugging Face `tokenizers` (PyPI) trains and runs every tokenizer,
and `transformers` renders every chat template (`apply_chat_template(..., tokenize=False)`,
its own sandboxed jinja2 environment: trim_blocks, lstrip_blocks, tojson, raise_exception).

Outputs, in Tests/Fixtures/hf-tokenizers/:
  <name>/tokenizer.json, <name>/tokenizer_config.json  small tokenizer directories:
    llama3       byte-level BPE, Llama-3 Split regex + ByteLevel, ignore_merges, [a, b] merges
    qwen2        byte-level BPE, NFC normalizer, Qwen2 Split regex + ByteLevel, "a b" merges
    smollm       byte-level BPE, Digits(individual) + ByteLevel(use_regex), GPT-2 regex
    sentencepiece  Llama-2/Mistral style BPE over characters: Prepend("▁") + Replace(" ", "▁")
                 normalizer, <0xNN> byte fallback, <unk> with fuse_unk, no pre-tokenizer
    metaspace    the same vocabulary with a Metaspace(prepend_scheme "first") pre-tokenizer
  golden-ids.json  {"<name>": [{"text", "ids", "ids_with_specials", "decoded"}]}: HF
                   encode(text, add_special_tokens=False), encode(text) (BOS from the
                   post-processor) and decode(ids, skip_special_tokens=False)
  chat-golden.json {"chats": [{"name", "fixture", "messages", "add_generation_prompt",
                    "expected" | "error"}] (each fixture's tokenizer_config.json holds the template),
                    "cases": [{"template", "expected"}] small templates over "case_context"}

The vocabularies are trained here (BpeTrainer on the fixture strings plus the repository's
README), so they are small (< 1 MB each) yet exercise real merges, byte fallback and unknowns.
The chat templates are the public ones from each model's tokenizer_config.json (Llama-3.1-8B-
Instruct, Qwen2.5-Instruct, Mistral-7B-Instruct v0.1 and v0.3, SmolLM2-Instruct).

Usage: python3 scripts/make_hf_tokenizer_fixtures.py   (venv with tokenizers, transformers, gguf)
"""
import json
import os
import sys

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_tokenizer_fixture import GPT2_REGEX, LLAMA3_REGEX, fixture_strings  # noqa: E402
from hf_chat_templates import TEMPLATES  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "hf-tokenizers")
QWEN2_REGEX = LLAMA3_REGEX.replace(r"\p{N}{1,3}", r"\p{N}")

LLAMA3_SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
QWEN2_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
SP_SPECIALS = ["<unk>", "<s>", "</s>"]


def strings():
    s = fixture_strings()
    s += [
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>",
        "a<|eot_id|>b", " <|eot_id|> ", "<s>Hello</s>", "<s> [INST] What? [/INST]", "Hello<s>world",
        "[INST]x[/INST]", "<unk>", "<0x41>", "▁", "▁▁x", "x▁y", " leading", "  two leading", "trailing  ",
        "MyToken inline", "xMyTokeny", "Ünïcödé ✓ 🙂", "𝔘 𝔫", "a\u0301\u0302", "ﬀ ﬃ", "Å Å",
    ]
    return s


def corpus():
    text = list(fixture_strings())
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text += f.read().split("\n\n")
    return text


def byte_level(name, regex, specials, normalizer=None, digits=False):
    tok = Tokenizer(models.BPE(ignore_merges=(name == "llama3")))
    if normalizer is not None:
        tok.normalizer = normalizer
    if digits:
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    else:
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(regex), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1500, min_frequency=1, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus(), trainer)
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    tok.add_tokens([AddedToken("MyToken", special=False, normalized=False)])
    if name == "llama3":  # Llama-3 adds BOS through its post-processor (no add_bos_token in its config)
        tok.post_processor = processors.TemplateProcessing(
            single="<|begin_of_text|> $A", special_tokens=[("<|begin_of_text|>", tok.token_to_id("<|begin_of_text|>"))])
    return tok


def sentencepiece():
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    trainer = trainers.BpeTrainer(vocab_size=1200, min_frequency=2, show_progress=False, limit_alphabet=120,
                                  special_tokens=SP_SPECIALS)
    tok.train_from_iterator(corpus(), trainer)
    # Llama-2 layout: <unk> <s> </s>, then the 256 byte tokens, then the trained pieces.
    data = json.loads(tok.to_str())
    trained = sorted(data["model"]["vocab"].items(), key=lambda kv: kv[1])
    vocab = {t: i for i, t in enumerate(SP_SPECIALS)}
    for b in range(256):
        vocab["<0x%02X>" % b] = len(vocab)
    for token, _ in trained:
        if token not in vocab:
            vocab[token] = len(vocab)
    data["model"]["vocab"] = vocab
    for added in data["added_tokens"]:
        added["id"] = vocab[added["content"]]
    tok = Tokenizer.from_str(json.dumps(data))
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)])
    return tok


def save(tok, path, string_merges):
    """Writes tokenizer.json; `string_merges` keeps the older "left right" merge format
    (tokenizers writes [left, right] pairs since 0.20, older files and many Hub models have strings)."""
    data = json.loads(tok.to_str())
    if string_merges:
        data["model"]["merges"] = [" ".join(m) for m in data["model"]["merges"]]
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False)


def metaspace(sp):
    data = json.loads(sp.to_str())
    data["normalizer"] = None
    data["pre_tokenizer"] = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": False}
    data["decoder"] = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": False}
    return Tokenizer.from_str(json.dumps(data))


CONFIGS = {
    "llama3": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>",
               "chat_template": "llama31"},
    "qwen2": {"bos_token": None, "eos_token": "<|im_end|>", "chat_template": "qwen25"},
    "smollm": {"bos_token": "<|im_start|>", "eos_token": "<|im_end|>", "chat_template": "smollm2"},
    "sentencepiece": {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "add_bos_token": True,
                      "add_eos_token": False, "chat_template": "mistral_v03"},
    "metaspace": {"bos_token": {"content": "<s>", "__type": "AddedToken", "special": True},
                  "eos_token": "</s>", "add_bos_token": True, "chat_template": "mistral_v01"},
}

CONVERSATIONS = [
    [{"role": "user", "content": "Hello!"}],
    [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "  What is 2+2?  "}],
    [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": " Hello, how can I help? "},
     {"role": "user", "content": "Tell me a joke.\nA short one."}],
    [{"role": "system", "content": "Answer in French."}, {"role": "user", "content": "Bonjour"},
     {"role": "assistant", "content": "Salut !"}, {"role": "user", "content": "Ça va ? 😀"}],
    [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}],
]


# Small templates for the interpreter's corners (whitespace control, scoping, filters, tests),
# rendered by transformers' own compiled environment with CASE_CONTEXT.
JINJA_CASES = [
    "{% for m in messages %}\n  {{ loop.index }}/{{ loop.length }} {{ m.role }}{% if not loop.last %},{% endif %}\n{% endfor %}",
    "  {%- set x = 1 %}\n  {% set y = 2 %}\n{{ x + y }} {# note #}\n  {{ 7 // 2 }} {{ 7 % 3 }} {{ -7 // 2 }} {{ 7 / 2 }} {{ 2 ** 10 }}",
    "{% set ns = namespace(n=0, found=false) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}"
    "{% set inner = 5 %}{% endfor %}{{ ns.n }} {{ inner is defined }}",
    "{{ messages[1:] | length }} {{ messages[-1]['content'][:3] }} {{ 'abcdef'[::2] }} {{ 'abcdef'[::-1] }}",
    "{{ messages | selectattr('role', 'equalto', 'user') | map(attribute='content') | join(' | ') }}",
    "{{ messages | rejectattr('role', 'eq', 'user') | list | length }} {{ [3, 1, 2] | first }} {{ [3, 1, 2] | last }}",
    "{{ tools | tojson }}\n{{ tools | tojson(indent=2) }}\n{{ {'a': [1, 2.5, none, true], 'é': 'x\"y'} | tojson }}",
    "{{ none }} {{ true }} {{ [1, 'a', none] }} {{ {'k': 'v'} }} {{ 1.0 }} {{ 'x' ~ 1 ~ none }} {{ undefined_name }}|",
    "{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %} {% for x in [] %}no{% else %}empty{% endfor %}",
    "{% for x in range(10) if x is odd %}{% if x > 6 %}{% break %}{% endif %}{% if x == 3 %}{% continue %}{% endif %}{{ x }}{% endfor %}",
    "{{ '  padded\t' | trim }}|{{ 'Hello' | upper }}{{ 'Hello' | lower }}|{{ 'a-b' | replace('-', '+') }}|{{ 'x' if false else 'y' }}",
    "{{ 'b' in 'abc' }} {{ 'z' not in ['a'] }} {{ 'role' in messages[0] }} {{ 3 is divisibleby 3 }} {{ messages is iterable }}",
    "{% if messages[0]['role'] == 'system' %}sys{% elif messages | length > 2 %}long{% else %}short{% endif %}\n"
    "    {% if true -%}\n   kept   \n    {%- endif %}\nend",
    "{{ '  strip me  '.strip() }}|{{ 'abc'.startswith('ab') }}|{{ 'A,B'.split(',') }}|{{ messages[0].get('missing', 'dflt') }}",
]

CASE_CONTEXT = {
    "messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "Hello there"},
                 {"role": "assistant", "content": "Hi"}, {"role": "user", "content": "Bye now"}],
    "tools": [{"name": "get_weather", "parameters": {"city": "Zürich", "days": 3}}],
}


def jinja_cases():
    from transformers.utils.chat_template_utils import _compile_jinja_template
    return [{"template": t, "expected": _compile_jinja_template(t).render(**CASE_CONTEXT)} for t in JINJA_CASES]


def render(tok, cfg, template, messages, generation_prompt):
    from transformers import PreTrainedTokenizerFast
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=cfg["bos_token"], eos_token=cfg["eos_token"])
    try:
        return {"expected": fast.apply_chat_template(messages, tokenize=False, chat_template=template,
                                                     add_generation_prompt=generation_prompt)}
    except Exception as error:  # raise_exception in the template
        return {"error": str(error)}


def main():
    os.makedirs(OUT, exist_ok=True)
    sp = sentencepiece()
    tokenizers = {
        "llama3": byte_level("llama3", LLAMA3_REGEX, LLAMA3_SPECIALS),
        "qwen2": byte_level("qwen2", QWEN2_REGEX, QWEN2_SPECIALS, normalizer=normalizers.NFC()),
        "smollm": byte_level("smollm", GPT2_REGEX, QWEN2_SPECIALS, digits=True),
        "sentencepiece": sp,
        "metaspace": metaspace(sp),
    }
    golden = {}
    chats = []
    for name, tok in tokenizers.items():
        folder = os.path.join(OUT, name)
        os.makedirs(folder, exist_ok=True)
        save(tok, os.path.join(folder, "tokenizer.json"), string_merges=(name == "qwen2"))
        reloaded = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
        golden[name] = []
        for text in strings():
            ids = reloaded.encode(text, add_special_tokens=False).ids
            golden[name].append({"text": text, "ids": ids,
                                 "ids_with_specials": reloaded.encode(text).ids,
                                 "decoded": reloaded.decode(ids, skip_special_tokens=False)})
        cfg = dict(CONFIGS[name])
        template_name = cfg.pop("chat_template")
        config = dict(cfg, chat_template=TEMPLATES[template_name], tokenizer_class="PreTrainedTokenizerFast")
        with open(os.path.join(folder, "tokenizer_config.json"), "w", encoding="utf-8") as f:
            json.dump(config, f, ensure_ascii=False, indent=2)
        bos = cfg["bos_token"]["content"] if isinstance(cfg["bos_token"], dict) else cfg["bos_token"]
        cfg["bos_token"] = bos
        for messages in CONVERSATIONS:
            for generation_prompt in (True, False):
                result = render(reloaded, cfg, TEMPLATES[template_name], messages, generation_prompt)
                chats.append(dict({"name": template_name, "fixture": name, "messages": messages,
                                   "add_generation_prompt": generation_prompt}, **result))
    with open(os.path.join(OUT, "golden-ids.json"), "w", encoding="utf-8") as f:
        json.dump(golden, f, ensure_ascii=False)
    with open(os.path.join(OUT, "chat-golden.json"), "w", encoding="utf-8") as f:
        json.dump({"chats": chats, "cases": jinja_cases(), "case_context": CASE_CONTEXT}, f, ensure_ascii=False, indent=1)
    for name in golden:
        size = os.path.getsize(os.path.join(OUT, name, "tokenizer.json"))
        print(f"{name}: {len(golden[name])} strings, tokenizer.json {size} bytes")
    print(f"chat renderings: {sum('expected' in c for c in chats)} strings, "
          f"{sum('error' in c for c in chats)} template errors")


if __name__ == "__main__":
    main()
