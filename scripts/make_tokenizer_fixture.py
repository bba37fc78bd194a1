#!/usr/bin/env python3
"""Writes the tokenizer golden fixtures used by Tests/A2ATSModelTests/Tokenizer*Tests.swift.

Independent reference: Hugging Face `tokenizers` (PyPI), built from the vocabulary and
merges stored in the default model's GGUF file (read with the PyPI `gguf` package), and
`jinja2` rendering the chat template the file carries.

Outputs (in Tests/Fixtures/):
  tokenizer-smollm2-vocab.json  the GGUF tokenizer fields, so the Swift tests do not need
                                a GGUF reader: tokens, merges, token_type, pre, bos, eos,
                                add_bos, chat_template
  tokenizer-parity.json         {"strings": [{"text", "ids", "ids_gpt2", "ids_llama_bpe"}],
                                 "chat": [{"template", "user", "expected"}]}
                                ids = HF ids with the file's own pre-tokenizer (smollm);
                                ids_gpt2 / ids_llama_bpe = the same vocabulary with the
                                "gpt2" and "llama-bpe" pre-tokenizers.

Usage: python3 scripts/make_tokenizer_fixture.py [path/to/SmolLM2-135M-Instruct.Q4_1.gguf]
"""
import json
import os
import random
import sys

import jinja2
from gguf import GGUFReader
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers

MODEL = os.path.expanduser("~/.cache/a2ats-eval/models/SmolLM2-135M-Instruct.Q4_1.gguf")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "Tests", "Fixtures")

GPT2_REGEX = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
LLAMA3_REGEX = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"""
                r""" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""")

# The Llama-3-8B-Instruct template (Meta's tokenizer_config.json), to check the header form.
LLAMA3_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'"
    "+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
    "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}")
# A plain ChatML template with no default system prompt (as many fine-tunes carry).
PLAIN_CHATML_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content']"
    " + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\\n' }}{% endif %}")


def field_value(reader, key):
    field = reader.fields[key]
    part = field.parts[field.data[0]]
    if field.types[0].name == "STRING":
        return bytes(part).decode("utf-8")
    return part.tolist()[0]


def string_array(reader, key):
    field = reader.fields[key]
    return [bytes(field.parts[i]).decode("utf-8") for i in field.data]


def build_tokenizer(tokens, merges, token_types, pre):
    vocab = {tok: i for i, tok in enumerate(tokens)}
    pairs = [tuple(m.split(" ")) for m in merges]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=pairs, ignore_merges=(pre == "llama-bpe")))
    if pre == "smollm":
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(r"\p{N}"), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    elif pre == "gpt2":
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    elif pre == "llama-bpe":
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(LLAMA3_REGEX), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    specials = [tokens[i] for i, t in enumerate(token_types) if t in (3, 4)]
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    return tok


def fixture_strings():
    s = [
        "", " ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n ", "\t\t\tx", "a", "A", "Hello",
        "Hello world", "Hello, world!", " Hello world", "Hello world ", "  Hello   world  ",
        "The quick brown fox jumps over the lazy dog.",
        "It's a dog's life, isn't it? We'll see, they've said I'd, you're, I'm.",
        "IT'S LOUD. I'M HERE. THEY'LL GO. WE'VE BEEN. YOU'RE. HE'D.",
        "don't can't won't shouldn't 'tis 'twas rock'n'roll",
        "' 's 't 're 've 'm 'll 'd '", "''s", "Ma'am O'Neil d'Artagnan",
        "12345", "0", "1 2 3", "3.14159", "1,000,000", "2024-07-26", "v1.2.3", "x86_64",
        "Call 555-0123 now", "abc123def", "123abc", " 42", "  42", "a 1", "a  1", "1  a",
        "Room 101, floor 7, 2nd door", "100%", "$19.99", "−5 °C", "½ ¼ ¾ ² ³ ¹",
        "Ⅻ Ⅳ ⅷ", "٠١٢٣٤٥", "१२३", "一二三 123",
        "def f(x):\n    return x * 2\n", "for (int i = 0; i < n; ++i) {\n\tsum += a[i];\n}",
        "if x == 1:\n        pass\n    else:\n        raise ValueError('bad')",
        "#include <stdio.h>\nint main(void) { printf(\"hi\\n\"); return 0; }",
        "let s = \"a\\tb\" // comment", "<div class=\"x\">&nbsp;</div>", "SELECT * FROM t WHERE a>=3;",
        "x=>x+1", "a->b", "foo_bar_baz", "camelCaseIdentifier", "__init__", "...", "!!!", "?!",
        "---", "===", "***bold***", "`code`", "~/path/to/file.txt", "C:\\Windows\\System32",
        "https://example.com/a?b=c&d=e#f", "user@example.com", "{\"key\": [1, 2, {\"n\": null}]}",
        "café", "naïve résumé", "Ærøskøbing", "Straße", "ﬁnance", "e\u0301", "A\u030a",
        "Ελληνικά γράμματα", "Русский текст", "Привет, мир!", "עברית", "שלום עולם",
        "العربية", "مرحبا بالعالم", "فارسی", "हिन्दी", "ภาษาไทย", "한국어 텍스트", "日本語のテキスト",
        "中文字符测试", "你好，世界！", "漢字と仮名", "Tiếng Việt", "Türkçe ğüşıöç",
        "😀", "😀😃😄", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷🇩🇪", "❤️", "⭐ star", "a😀b", " 😀 ", "🤖 robots",
        "\u200b", "a\u200bb", "\u00a0", "a\u00a0b", "\u3000", "a\u3000b", "\u2028", "\u0085x",
        "\ufeffBOM", "\u2003em space", "tab\there", "line1\nline2\nline3", "para\n\n\npara",
        "trailing \n", " \t \n", "\n  indented", "x\r\ny\rz", "   \n\n   ", "a \t b",
        "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|im_start|>user\nhi<|im_end|>",
        "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
        "text<|endoftext|>more", " <|im_start|> ", "<|im_start|><|im_end|>", "<|im_start", "im_start|>",
        "< |im_start| >", "<|im_start|>x<|im_start|>", "<repo_name>foo<file_sep>bar", "<filename>a.py",
        "<jupyter_code>print(1)<jupyter_output>1", "<|unknown|>", "<<|im_end|>>",
        "The year 1984 and 2001: A Space Odyssey (1968).", "Sum: 1+2+3=6; product 1*2*3=6.",
        "Q: What is the capital of France?\nA: Paris.",
        "One of the special magic numbers for long-context is: 7340914.",
        "What is the special magic number for gentle-otter mentioned in the provided text?",
        "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.",
        "UUID 3f2504e0-4f89-11d3-9a0c-0305e82c3301 found",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "ababababababababababababab", " " * 40 + "x", "x" + " " * 40, "\n" * 20, "-" * 64, "=" * 30,
        "0123456789" * 5, "Supercalifragilisticexpialidocious", "pneumonoultramicroscopicsilicovolcanoconiosis",
        "Mixed: café 123 😀 <|im_end|> \t end", "ALLCAPS and lowercase And Title Case",
        "ſ 'S 'ſ 'ST", "'S", "'Re 'VE 'Ll 'D 'M 'T", "He said 'hello' and left.",
        "\"Quoted\" text and 'single' quotes", "«guillemets» „low“ “curly” ‘single’",
        "em—dash en–dash", "ellipsis… bullet • middot ·", "©®™", "∑∫∂√∞≈≠≤≥", "→←↑↓⇒",
        "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "𝟘𝟙𝟚", "𐍈", "\u0000", "\x01\x02\x7f", "control\x1bchar",
    ]
    rng = random.Random(20250226)
    pools = [
        "abcdefghijklmnopqrstuvwxyz",
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
        " \t\n\r",
        ".,;:!?'\"()[]{}<>-_+=*/\\|@#$%^&~`",
        "éèêëàâäôöûüçñßøåæœ",
        "日本語中文字한국어",
        "😀👍🏽🎉",
        "0123456789",
        "αβγδεζηθ",
        "абвгдежз",
    ]
    words = ["the", "of", "and", "to", "in", "is", "you", "that", "it", "he", "was", "for",
             "on", "are", "as", "with", "his", "they", "I", "at", "be", "this", "have", "from",
             "magic", "number", "needle", "haystack", "context", "don't", "it's", "2024", "3.5"]
    for _ in range(40):
        n = rng.randint(1, 30)
        s.append("".join(rng.choice(rng.choice(pools)) for _ in range(n)))
    for _ in range(30):
        n = rng.randint(3, 25)
        parts = []
        for _ in range(n):
            w = rng.choice(words)
            if rng.random() < 0.2:
                w = w.capitalize()
            parts.append(w)
            parts.append(rng.choice([" ", " ", " ", "  ", ", ", ". ", "\n", "\t", " - "]))
        s.append("".join(parts))
    for _ in range(10):
        n = rng.randint(1, 6)
        s.append("".join(rng.choice(["<|im_start|>", "<|im_end|>", "hello", " ", "\n", "42", "é"])
                         for _ in range(n)))
    # Long words take the heap-based merge path (over 64 bytes).
    s.append("a" * 3000)
    s.append(" " * 500 + "x")
    s.append("abc" * 40)
    s.append("".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(2000)))
    s.append("".join(rng.choice("etaoinshrdlu") for _ in range(300)))
    s.append("".join(rng.choice("абвгдежзийклмнопрст") for _ in range(200)))
    s.append("".join(rng.choice("日本語中文字한국어") for _ in range(400)))
    s.append("=" * 200 + "\n" + "-+" * 100)
    return s


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else MODEL
    reader = GGUFReader(path)
    tokens = string_array(reader, "tokenizer.ggml.tokens")
    merges = string_array(reader, "tokenizer.ggml.merges")
    tt = reader.fields["tokenizer.ggml.token_type"]
    token_types = [int(tt.parts[i][0]) for i in tt.data]
    pre = field_value(reader, "tokenizer.ggml.pre")
    template = field_value(reader, "tokenizer.chat_template")
    bos = int(field_value(reader, "tokenizer.ggml.bos_token_id"))
    eos = int(field_value(reader, "tokenizer.ggml.eos_token_id"))
    add_bos = bool(field_value(reader, "tokenizer.ggml.add_bos_token"))
    assert pre == "smollm", pre

    vocab = {"tokens": tokens, "merges": merges, "token_type": token_types, "pre": pre,
             "bos": bos, "eos": eos, "add_bos": add_bos, "chat_template": template}
    os.makedirs(FIXTURES, exist_ok=True)
    with open(os.path.join(FIXTURES, "tokenizer-smollm2-vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False, separators=(",", ":"))

    hf = {name: build_tokenizer(tokens, merges, token_types, name)
          for name in ("smollm", "gpt2", "llama-bpe")}
    strings = fixture_strings()
    records = []
    for text in strings:
        ids = hf["smollm"].encode(text, add_special_tokens=False).ids
        # Sanity: HF's own round trip holds for the reference too.
        assert hf["smollm"].decode(ids, skip_special_tokens=False) == text, repr(text)
        records.append({"text": text, "ids": ids,
                        "ids_gpt2": hf["gpt2"].encode(text, add_special_tokens=False).ids,
                        "ids_llama_bpe": hf["llama-bpe"].encode(text, add_special_tokens=False).ids})

    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
    chat = []
    for tmpl in (template, PLAIN_CHATML_TEMPLATE, LLAMA3_TEMPLATE):
        for user in ("hi", "What is the special magic number?\n  Answer briefly. ", "  padded  "):
            rendered = env.from_string(tmpl).render(
                messages=[{"role": "user", "content": user}], add_generation_prompt=True,
                bos_token="<|begin_of_text|>", eos_token="<|eot_id|>")
            # The BOS text a template writes is left to encodeForModel, which adds the id.
            rendered = rendered.removeprefix("<|begin_of_text|>")
            chat.append({"template": tmpl, "user": user, "expected": rendered})

    with open(os.path.join(FIXTURES, "tokenizer-parity.json"), "w", encoding="utf-8") as f:
        json.dump({"strings": records, "chat": chat}, f, ensure_ascii=False, indent=0)
    print(f"{len(records)} strings, {len(chat)} chat cases; vocab {len(tokens)} tokens, {len(merges)} merges")


if __name__ == "__main__":
    main()
