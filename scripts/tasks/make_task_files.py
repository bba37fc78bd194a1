#!/usr/bin/env python3
"""Writes tasks/longbench.json and tasks/ruler.json from the official configurations.

Provenance of the task definitions (run once by hand; the outputs are checked in):
  LongBench v1 (THUDM/LongBench, MIT): LongBench/config/dataset2prompt.json and
    dataset2maxlen.json; metrics from LongBench/eval.py's dataset2metric; the datasets run
    without a chat template from pred.py.
  RULER (NVIDIA/RULER, Apache-2.0): scripts/data/synthetic/constants.py (templates, answer
    prefixes, tokens_to_generate) and scripts/synthetic.yaml (generator arguments).

Usage: make_task_files.py DATASET2PROMPT.json DATASET2MAXLEN.json RULER_CONSTANTS.py OUT_DIR
After running, copy tasks/*.json to Sources/A2ATSTasks/Data/tasks/ (a test checks they match).
"""
import json, sys, importlib.util

prompt_path, maxlen_path, constants_path, out_dir = sys.argv[1:5]
prompts = json.load(open(prompt_path))
maxlen = json.load(open(maxlen_path))
METRIC = {
    "narrativeqa": "qa_f1", "qasper": "qa_f1", "multifieldqa_en": "qa_f1", "multifieldqa_zh": "qa_f1_zh",
    "hotpotqa": "qa_f1", "2wikimqa": "qa_f1", "musique": "qa_f1", "dureader": "rouge_zh",
    "gov_report": "rouge", "qmsum": "rouge", "multi_news": "rouge", "vcsum": "rouge_zh",
    "trec": "classification", "triviaqa": "qa_f1", "samsum": "rouge", "lsht": "classification",
    "passage_retrieval_en": "retrieval", "passage_count": "count", "passage_retrieval_zh": "retrieval_zh",
    "lcc": "code_sim", "repobench-p": "code_sim",
}
NO_CHAT = {"trec", "triviaqa", "samsum", "lsht", "lcc", "repobench-p"}
longbench = {"version": 1, "tasks": [
    {"name": name, "source": "longbench", "template": prompts[name], "answer_prefix": "",
     "chat_template": name not in NO_CHAT, "max_new_tokens": maxlen[name], "metric": METRIC[name],
     "truncation": "middle"} for name in prompts]}
assert len(longbench["tasks"]) == 21

spec = importlib.util.spec_from_file_location("constants", constants_path)
constants = importlib.util.module_from_spec(spec); spec.loader.exec_module(constants)
T = constants.TASKS
def niah(hay, k, v, nk=1, nv=1, nq=1):
    return ("niah", {"type_haystack": hay, "type_needle_k": k, "type_needle_v": v,
                     "num_needle_k": nk, "num_needle_v": nv, "num_needle_q": nq})
RULER = [  # scripts/synthetic.yaml
    ("niah_single_1", *niah("noise", "words", "numbers")),
    ("niah_single_2", *niah("essay", "words", "numbers")),
    ("niah_single_3", *niah("essay", "words", "uuids")),
    ("niah_multikey_1", *niah("essay", "words", "numbers", nk=4)),
    ("niah_multikey_2", *niah("needle", "words", "numbers")),
    ("niah_multikey_3", *niah("needle", "uuids", "uuids")),
    ("niah_multivalue", *niah("essay", "words", "numbers", nv=4)),
    ("niah_multiquery", *niah("essay", "words", "numbers", nq=4)),
    ("vt", "variable_tracking", {"type_haystack": "noise", "num_chains": 1, "num_hops": 4}),
    ("cwe", "common_words_extraction", {"freq_cw": 30, "freq_ucw": 3, "num_cw": 10, "num_fewshot": 1}),
    ("fwe", "freq_words_extraction", {"alpha": 2.0, "coded_wordlen": 6, "vocab_size": -1}),
    ("qa_1", "qa", {"dataset": "squad"}),
    ("qa_2", "qa", {"dataset": "hotpotqa"}),
]
ruler = {"version": 1, "tasks": []}
for name, family, args in RULER:
    base = T[family]
    metric = "string_match_part" if family == "qa" else "string_match_all"
    ruler["tasks"].append({"name": name, "source": "ruler", "template": base["template"],
                           "answer_prefix": base["answer_prefix"], "chat_template": False,
                           "max_new_tokens": base["tokens_to_generate"], "metric": metric,
                           "truncation": "none", "generator": {"task": family, "args": args}})
for fname, obj in (("longbench.json", longbench), ("ruler.json", ruler)):
    with open(f"{out_dir}/{fname}", "w") as f:
        json.dump(obj, f, ensure_ascii=False, indent=2); f.write("\n")
