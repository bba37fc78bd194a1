#!/usr/bin/env python3
"""Top-20 logits of the last position from the independent NumPy forward pass
(scripts/reference_forward.py) over the default GGUF model, for comparison with
`a2ats-eval forward` (run outside CI; it takes ~1 minute and ~3 GB for SmolLM2-135M).

  python3 scripts/parity_default_model.py --tokens 1,504,3458,...
  python3 scripts/parity_default_model.py --tokens ... --compare forward.json   # max |Δlogit| vs a2ats-eval output

Prints {"model": path, "tokens": [...], "top": [[id, logit], ... 20 pairs, highest first]}.
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_forward  # noqa: E402

DEFAULT = "~/.cache/a2ats-eval/models/SmolLM2-135M-Instruct.Q4_1.gguf"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=DEFAULT)
    p.add_argument("--tokens", required=True, help="comma-separated token ids, BOS included if wanted")
    p.add_argument("--compare", help="JSON written by `a2ats-eval forward`: report max |logit difference| on its top-20")
    args = p.parse_args()
    path = os.path.abspath(os.path.expanduser(args.model))
    tokens = [int(t) for t in args.tokens.split(",") if t.strip()]
    logits = reference_forward.load(path).forward(tokens)[-1]
    order = np.argsort(-logits)[:20]
    result = {"model": path, "tokens": tokens, "top": [[int(i), float(logits[i])] for i in order]}
    if args.compare:
        with open(args.compare) as f:
            theirs = json.load(f)
        if theirs.get("tokens") != tokens:
            sys.exit(f"{args.compare}: tokens differ from --tokens")
        diffs = [abs(float(logit) - float(logits[int(i)])) for i, logit in theirs["top"]]
        result["max_abs_diff"] = max(diffs)
        result["max_rel_diff"] = max(d / max(abs(float(logits[int(i)])), 1e-6) for d, (i, _) in zip(diffs, theirs["top"]))
        result["same_top_ids"] = [int(i) for i, _ in theirs["top"]] == [int(i) for i in order]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
