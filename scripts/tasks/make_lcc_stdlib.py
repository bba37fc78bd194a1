"""A LongBench-format `lcc` file (code completion: the next line of a long code file) built
from CPython's standard library, for runs with no network: LongBench's own data lives on the
Hugging Face hub, which this machine cannot reach.

Each sample is a Python file of the standard library, cut before a non-trivial line (≥ 12
characters, not a comment, not a decorator, not blank) that has at least `--context-chars`
characters before it; `context` is those characters (starting at a line), `answers` the line.
Fields and metric are LongBench's (`lcc`: edit similarity of the first code line of the
prediction); run with `--task lcc=tasks/data/lcc-stdlib.jsonl --max-length 3968`, which keeps
the start and end of each context as LongBench's middle truncation does.

Source: CPython 3.11.7's Lib/ (PSF License), the interpreter running this script; the file
checked in is what it wrote (seed fixed), so other Python versions are not needed to rerun.
Run: python3 scripts/tasks/make_lcc_stdlib.py --out tasks/data/lcc-stdlib.jsonl
"""
import argparse
import json
import os
import random
import sysconfig


def candidates(root):
    for path in sorted(os.listdir(root)):
        full = os.path.join(root, path)
        if path.endswith(".py") and os.path.isfile(full) and os.path.getsize(full) >= 30000:
            yield full


def good_target(line):
    text = line.strip()
    return len(text) >= 12 and not text.startswith(("#", "@", '"""', "'''")) and text.isascii()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--samples", type=int, default=60)
    parser.add_argument("--context-chars", type=int, default=16000)
    parser.add_argument("--seed", type=int, default=20261127)
    args = parser.parse_args()
    root = sysconfig.get_paths()["stdlib"]
    rng = random.Random(args.seed)
    files = list(candidates(root))
    rng.shuffle(files)
    rows = []
    for path in files:
        if len(rows) == args.samples:
            break
        with open(path, encoding="utf-8") as f:
            lines = f.readlines()
        offsets = [0]
        for line in lines:
            offsets.append(offsets[-1] + len(line))
        options = [i for i in range(len(lines)) if offsets[i] >= args.context_chars and good_target(lines[i])]
        if not options:
            continue
        i = rng.choice(options)
        start = next(k for k in range(i + 1) if offsets[i] - offsets[k] <= args.context_chars)
        context = "".join(lines[start:i])
        rows.append({"input": "", "context": context, "answers": [lines[i].rstrip("\n")], "length": len(context.split()),
                     "dataset": "lcc", "language": "python", "all_classes": None,
                     "_id": f"stdlib-{os.path.basename(path)}-{i + 1}"})
    with open(args.out, "w") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} samples to {args.out}")


if __name__ == "__main__":
    main()
