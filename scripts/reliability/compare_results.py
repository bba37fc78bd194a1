#!/usr/bin/env python3
"""Compares two or more sets of results.jsonl files on every field but timings (contract.md:
"results equal an uninterrupted run" compares every field except timings).

    compare_results.py A/results.jsonl B/results.jsonl            # one file against another
    compare_results.py A/results.jsonl --against S0/results.jsonl S1/results.jsonl ...   # merged shards

Rows are matched by the resume key (task, length, id, method, budget plus kv_budget /
attended_target); each side must hold every key exactly once. With --ordered the files must
also list the rows in the same order (a resumed run against an uninterrupted one). Prints one
line per difference and exits 1 if there is any, else prints a summary and exits 0.
Python standard library only.
"""
import argparse
import json
import sys

TIMINGS = {"seconds", "prefill_seconds", "selection_seconds"}


def key(row):
    return tuple(json.dumps(row.get(f), sort_keys=True) for f in
                 ("task", "length", "id", "method", "budget", "kv_budget", "attended_target"))


def load(paths):
    rows, problems = [], []
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                if not line.endswith("\n"):
                    problems.append(f"{path}:{number}: last line is incomplete")
                    continue
                rows.append(json.loads(line))
    return rows, problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("reference")
    parser.add_argument("others", nargs="*")
    parser.add_argument("--against", nargs="+", help="files whose rows together are compared with the reference")
    parser.add_argument("--ordered", action="store_true", help="rows must also come in the same order")
    args = parser.parse_args()
    other_paths = args.against or args.others
    if not other_paths:
        parser.error("give a second results file, or --against FILES")
    reference, problems = load([args.reference])
    other, more = load(other_paths)
    problems += more
    for name, rows in (("reference", reference), ("other", other)):
        seen = {}
        for row in rows:
            seen[key(row)] = seen.get(key(row), 0) + 1
        problems += [f"{name}: key {k} appears {n} times" for k, n in seen.items() if n > 1]
    ref_by_key = {key(r): r for r in reference}
    other_by_key = {key(r): r for r in other}
    problems += [f"missing in other: {k}" for k in ref_by_key if k not in other_by_key]
    problems += [f"extra in other: {k}" for k in other_by_key if k not in ref_by_key]
    compared = 0
    for k, row in ref_by_key.items():
        if k not in other_by_key:
            continue
        theirs = other_by_key[k]
        for field in sorted(set(row) | set(theirs)):
            if field in TIMINGS:
                continue
            if row.get(field, "<absent>") != theirs.get(field, "<absent>"):
                problems.append(f"{k}: field {field}: {row.get(field, '<absent>')!r} != {theirs.get(field, '<absent>')!r}")
        compared += 1
    if args.ordered and [key(r) for r in reference] != [key(r) for r in other]:
        problems.append("rows are in a different order")
    for line in problems:
        print(line)
    if problems:
        print(f"DIFFERENT: {len(problems)} problems", file=sys.stderr)
        return 1
    print(f"EQUAL: {compared} rows, every field but {', '.join(sorted(TIMINGS))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
