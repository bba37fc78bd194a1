#!/usr/bin/env python3
"""Writes Tests/Fixtures/metric-cases.json: reference values for the two metrics whose
algorithms are intricate, computed by the very packages LongBench's metrics.py calls.

  rouge:    rouge.Rouge().get_scores([pred], [ref], avg=True)["rouge-l"]["f"]  (PyPI rouge 1.0.1),
            0.0 where it raises, exactly as LongBench's rouge_score does;
  code_sim: fuzzywuzzy.fuzz.ratio(line, ref) / 100  (PyPI fuzzywuzzy 0.18.0, pure-Python
            difflib path: python-Levenshtein must NOT be installed), applied to the line
            LongBench's code_sim_score picks.

Run:  python3 -m venv /tmp/v && /tmp/v/bin/pip install rouge==1.0.1 fuzzywuzzy==0.18.0
      /tmp/v/bin/python scripts/make_metric_fixture.py
"""
import json
import os
import random

from rouge import Rouge
from fuzzywuzzy import fuzz
import fuzzywuzzy.fuzz as fuzz_module

assert fuzz_module.SequenceMatcher.__module__ == "difflib", "uninstall python-Levenshtein"


def rouge_l(prediction, reference):
    try:
        return Rouge().get_scores([prediction], [reference], avg=True)["rouge-l"]["f"]
    except Exception:
        return 0.0


def code_sim(prediction, reference):
    line = ""
    for candidate in prediction.lstrip("\n").split("\n"):
        if "`" not in candidate and "#" not in candidate and "//" not in candidate:
            line = candidate
            break
    return fuzz.ratio(line, reference) / 100


rouge_cases = [
    ("the cat sat on the mat", "the cat lay on the mat"),
    ("The meeting discussed budgets. Then it ended.", "The meeting was about the budget. It ended early."),
    ("a b c d. e f", "a c e. b d f. g"),
    ("police killed the gunman", "the gunman was killed by police"),
    ("...", "anything at all"),
    ("", "reference"),
    ("one . . two", "one two"),
    ("x y x y x", "y x y"),
    ("Summary:\nthe report recommends  more funding for schools.", "The report recommends more school funding."),
]
code_cases = [
    ("    return a + b\n", "    return a + b"),
    ("# comment\n    x = foo(bar)\n", "    x = foo(baz)"),
    ("```python\n// no\nfor (int i = 0; i < n; i++) {\n", "for (int i = 0; i < n; ++i) {"),
    ("\n\nprint('hello world')", "print(\"hello, world\")"),
    ("abc", ""),
    ("#only comments", "value = 1"),
]

rng = random.Random(7)
alphabet = "ab c(d)e=f;"
for _ in range(6):
    # Long lines (>= 200 characters) exercise difflib's autojunk rule.
    a = "".join(rng.choice(alphabet) for _ in range(rng.randint(150, 320)))
    b = "".join(rng.choice(alphabet) for _ in range(rng.randint(200, 320)))
    code_cases.append((a, b))
words = "the a of report budget school funding police meeting ended cat mat".split()
for _ in range(6):
    a = " ".join(rng.choice(words) + rng.choice(["", "", "."]) for _ in range(rng.randint(5, 40)))
    b = " ".join(rng.choice(words) + rng.choice(["", "", "."]) for _ in range(rng.randint(5, 40)))
    rouge_cases.append((a, b))

cases = [{"metric": "rouge", "prediction": p, "reference": r, "expected": rouge_l(p, r)} for p, r in rouge_cases]
cases += [{"metric": "code_sim", "prediction": p, "reference": r, "expected": code_sim(p, r)} for p, r in code_cases]

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "metric-cases.json")
with open(out, "w", encoding="utf-8") as f:
    json.dump({"generator": "scripts/make_metric_fixture.py", "rouge": "1.0.1", "fuzzywuzzy": "0.18.0 (difflib)",
               "cases": cases}, f, ensure_ascii=False, indent=1)
    f.write("\n")
print(f"wrote {len(cases)} cases to {out}")
