#!/usr/bin/env python3
"""Peers side by side: a2ats-eval's engine-bench, llama.cpp and Hugging Face transformers on the
same GGUF, the same prompt token ids, greedy decoding and the same thread count (issue 16).

Run it through Benchmarks/peers/run.sh, which makes the throwaway virtual environment it needs.
`compare` (the default) writes the prompts, runs each engine in its own process one after the
other (never two at once: two busy processes on 2 cores slow both by 10x), prints one table with
ratios (ours / peer) and writes it as markdown with the host, versions, date and commands.
`llama` and `hf` time one peer (compare runs them) and write JSON.
"""
import argparse
import datetime
import json
import math
import os
import platform
import re
import shlex
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
DEFAULT_MODEL = "~/.cache/a2ats-eval/models/SmolLM2-135M-Instruct.Q4_1.gguf"
BUSY = 0.5  # 1-minute load average above which figures are not worth recording as quiet


def gguf_shape(model):
    """Vocabulary size and context length read from the GGUF itself (PyPI `gguf`)."""
    from gguf import GGUFReader
    reader = GGUFReader(model)
    vocab = len(reader.fields["tokenizer.ggml.tokens"].data)
    arch = bytes(reader.fields["general.architecture"].parts[-1]).decode()
    context = int(reader.fields[f"{arch}.context_length"].parts[-1][0])
    return arch, vocab, context


def prompts_for(lengths, vocab, seed):
    """Seeded random token ids, shorter prompts being prefixes of the longest (speed does not
    depend on the text, as engine-bench's own prompts)."""
    ids = np.random.default_rng(seed).integers(0, vocab, size=max(lengths)).tolist()
    return [ids[:n] for n in lengths]


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        return f"{names[0]} ({len(names)} logical CPUs)" if names else platform.processor()
    except OSError:
        return platform.processor() or "unknown"


def load():
    return os.getloadavg()[0]


def pinned(command, threads):
    """Every engine on the same `threads` CPUs. OpenBLAS follows the pinning; our own worker loops
    size themselves from the host's CPU count (Foundation ignores affinity), so below the host's
    count ours runs more workers than CPUs: compare at --threads = the host's CPUs."""
    if threads < (os.cpu_count() or threads):
        return ["taskset", "-c", f"0-{threads - 1}"] + command
    return command


def settle(seconds):
    """Waits up to `seconds` for the 1-minute load average to fall below BUSY (it decays over
    about a minute after other jobs stop, and the previous engine's own load lingers in it)."""
    end = time.time() + seconds
    while load() > BUSY and time.time() < end:
        time.sleep(5)


def run_logged(name, command, log, env, loads, wait, threads):
    """Runs one engine alone, recording the load average before and after it. The engine's own
    `threads` raise the average by threads·(1 − e^(−t/60)) over t seconds (the kernel's 1-minute
    exponential average), so `after` is compared with that, not with BUSY."""
    settle(wait)
    before = load()
    if before > BUSY:
        print(f"warning: load average {before:.2f} before {name}: other processes are running; "
              "its figures are not quiet", file=sys.stderr)
    print(f"== {name}: {shlex.join(command)}", flush=True)
    started = time.time()
    with open(log, "w") as out:
        code = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, env=env).returncode
    decay = math.exp(-(time.time() - started) / 60)
    own = before * decay + threads * (1 - decay)
    loads.append({"engine": name, "before": round(before, 2), "after": round(load(), 2), "own": round(own, 2)})
    if code != 0:
        with open(log) as f:
            tail = f.read()[-3000:]
        sys.exit(f"{name} failed (exit {code}); the end of {log}:\n{tail}")


def our_version(binary):
    """The commit our binary was built from (the checkout it sits in) and the Swift toolchain."""
    def first_line(command):
        try:
            return subprocess.run(command, capture_output=True, text=True).stdout.strip().splitlines()[0]
        except (OSError, IndexError):
            return "unknown"
    folder = os.path.dirname(os.path.abspath(binary))
    commit = first_line(["git", "-C", folder, "describe", "--always", "--dirty"])
    return {"commit": commit, "swift": first_line(["swift", "--version"])}


def by_length(figures, section, key):
    return {row[key]: row for row in figures.get(section, [])}


def cell(row, best, median, digits):
    if row is None:
        return "—"
    return f"{row[median]:.{digits}f} (best {row[best]:.{digits}f})"


def table(results, lengths):
    """Markdown rows: one per engine, then ratios ours / peer on the medians."""
    head = ([f"prefill tok/s @{n}" for n in lengths] + [f"decode ms/token @{n}" for n in lengths])
    rows = ["| engine | " + " | ".join(head) + " |", "|---|" + "---|" * len(head)]
    for name, figures in results.items():
        prefill, decode = by_length(figures, "prefill", "tokens"), by_length(figures, "decode", "context")
        cells = ([cell(prefill.get(n), "tok_s_best", "tok_s_median", 1) for n in lengths]
                 + [cell(decode.get(n), "ms_best", "ms_median", 2) for n in lengths])
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    ours = results.get("a2ats-eval")
    for name, figures in results.items():
        if name == "a2ats-eval" or ours is None:
            continue
        cells = []
        for section, key, value in (("prefill", "tokens", "tok_s_median"), ("decode", "context", "ms_median")):
            mine, theirs = by_length(ours, section, key), by_length(figures, section, key)
            cells += [f"{mine[n][value] / theirs[n][value]:.2f}×" if n in mine and n in theirs else "—"
                      for n in lengths]
        rows.append(f"| ours ÷ {name} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def agreement(results, log):
    """Plumbing check: the first greedy tokens of the 1024-token prompt (engine-bench prints 12),
    ours against each peer's. transformers (f32) agrees with ours; llama.cpp on a quantized file
    may not: its kernels round activations to 8 bits (on the default model its logits move by
    4-10 from exact arithmetic; on an F32 copy of the file it agrees to 3e-5)."""
    found = re.search(r"check: decode @1024 tokens ([\d ]+)", open(log).read()) if os.path.exists(log) else None
    if not found:
        return []
    ours = [int(t) for t in found.group(1).split()]
    lines = []
    for name, figures in results.items():
        row = by_length(figures, "decode", "context").get(1024)
        if name != "a2ats-eval" and row:
            compared = min(len(ours), len(row["tokens"]))
            same = next((i for i, (a, b) in enumerate(zip(ours, row["tokens"])) if a != b), compared)
            lines.append(f"{name}: the first {same} of {compared} greedy tokens at 1024 equal ours")
    return lines


def compare(args):
    model = os.path.abspath(os.path.expanduser(args.model))
    if not os.path.isfile(model):
        folder = os.path.dirname(os.path.expanduser(DEFAULT_MODEL))
        found = sorted(f for f in os.listdir(folder) if f.endswith(".gguf")) if os.path.isdir(folder) else []
        sys.exit(f"--model {args.model}: no such file; the peers need the GGUF's path"
                 + (f" (in {folder}: {', '.join(found)})" if found else ""))
    work = os.path.abspath(args.work)
    os.makedirs(work, exist_ok=True)
    arch, vocab, context = gguf_shape(model)
    lengths = [int(n) for n in args.lengths.split(",")]
    if max(lengths) + args.steps + 8 > context:
        sys.exit(f"--lengths {max(lengths)} + {args.steps} decode steps exceed the model's context {context}")
    if args.threads != os.cpu_count():
        print(f"warning: --threads {args.threads} on a host with {os.cpu_count()} CPUs: our worker loops use "
              "every CPU of the host, pinned to fewer (see pinned())", file=sys.stderr)
    tokens_file = os.path.join(work, "prompts.json")
    with open(tokens_file, "w") as f:
        json.dump(prompts_for(lengths, vocab, args.seed), f)
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads))
    common = ["--model", model, "--tokens", tokens_file, "--repeats", str(args.repeats)]
    engines = {"a2ats-eval": [args.engine_bench, "--quick"] + common}
    if not args.no_llama:
        engines["llama.cpp"] = [sys.executable, os.path.abspath(__file__), "llama"]
    if not args.no_hf:
        engines["transformers"] = [sys.executable, os.path.abspath(__file__), "hf", "--attention", args.attention]
    results, loads, commands = {}, [], []
    started = datetime.datetime.now(datetime.timezone.utc)
    for name, command in engines.items():
        out = os.path.join(work, f"{name}.json")
        if name != "a2ats-eval":
            command = command + common + ["--threads", str(args.threads), "--steps", str(args.steps)]
        command = pinned(command + ["--json", out], args.threads)
        commands.append(shlex.join(command))
        run_logged(name, command, os.path.join(work, f"{name}.log"), env, loads, args.settle, args.threads)
        with open(out) as f:
            results[name] = json.load(f)
    if "a2ats-eval" in results:
        results["a2ats-eval"]["versions"] = our_version(args.engine_bench)
    text = table(results, lengths)
    print("\n" + text)
    checks = agreement(results, os.path.join(work, "a2ats-eval.log"))
    for line in checks:
        print("check: " + line)
    busy = [l for l in loads if l["before"] > BUSY or l["after"] > l["own"] + BUSY]
    if busy:
        print(f"warning: load average above {BUSY} around {', '.join(l['engine'] for l in busy)}: "
              "not a quiet measurement", file=sys.stderr)
    if args.out:
        write_markdown(args, model, arch, lengths, results, loads, commands, checks, text, started, busy)
        print(f"wrote {args.out}")


def write_markdown(args, model, arch, lengths, results, loads, commands, checks, text, started, busy):
    versions = {name: figures.get("versions", {}) for name, figures in results.items()}
    ours_lines = results.get("a2ats-eval", {}).get("lines", [])
    lines = [
        "# a2ats-eval beside llama.cpp and Hugging Face transformers",
        "",
        f"- date: {started.strftime('%Y-%m-%d %H:%M UTC')}",
        f"- host: {cpu_model()}, {platform.system()} {platform.release()}",
        f"- threads: {args.threads} for every engine (pinned with taskset when the host has more CPUs)",
        f"- model: `{model}` ({arch}, {os.path.getsize(model) / 1e6:.0f} MB); the same file for all three",
        f"- prompts: {', '.join(map(str, lengths))} seeded random token ids (seed {args.seed}), the same ids for all three; "
        f"greedy decoding, {args.steps} decode steps; best and median of {args.repeats} repeats "
        f"(engine-bench times prompts over 2048 tokens {max(1, args.repeats - 1)} times, and decodes 32 steps)",
        "- load average (1 min) before / after each engine (after: what its own threads alone would give): "
        + ", ".join(f"{l['engine']} {l['before']:.2f} / {l['after']:.2f} ({l['own']:.2f})" for l in loads)
        + (" — **not quiet: do not quote these figures**" if busy else ""),
        "",
        "Medians, best in brackets. Ratios are ours ÷ peer on the medians: above 1 is faster for prefill "
        "(tok/s), below 1 is faster for decode (ms/token).",
        "",
        text,
        "",
    ]
    if checks:
        lines += ["Plumbing check: " + "; ".join(checks) + ".", ""]
    lines += ["## Versions and settings", ""]
    for name, figures in results.items():
        lines.append(f"- {name}: {json.dumps(versions[name])} {json.dumps(figures.get('settings', {}))}")
    if ours_lines:
        lines += ["", "engine-bench's own figures (ceilings measured in the same run):", "", "```"] + ours_lines + ["```"]
    lines += ["", "## Commands", "", "```", "# " + os.environ.get("PEERS_COMMAND", shlex.join(sys.argv))] + commands + ["```", ""]
    with open(args.out, "w") as f:
        f.write("\n".join(lines))


def one_peer(args):
    """`llama` / `hf`: time one peer on the prompts of --tokens and write its JSON."""
    import engines
    model = os.path.abspath(os.path.expanduser(args.model))
    with open(args.tokens) as f:
        prompts = json.load(f)
    if args.peer == "llama":
        result = engines.run_llama(model, prompts, args.threads, args.repeats, args.steps)
    else:
        result = engines.run_transformers(model, prompts, args.threads, args.repeats, args.steps, args.attention)
    with open(args.json, "w") as f:
        json.dump(result, f, indent=1)
    for row in result["prefill"]:
        print(f"{result['engine']} prefill {row['tokens']}: {row['tok_s_median']:.1f} tok/s (best {row['tok_s_best']:.1f})")
    for row in result["decode"]:
        print(f"{result['engine']} decode @{row['context']}: {row['ms_median']:.2f} ms/token (best {row['ms_best']:.2f})")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("peer", nargs="?", choices=["compare", "llama", "hf"], default="compare")
    p.add_argument("--model", default=DEFAULT_MODEL, help="GGUF file, the same for every engine")
    p.add_argument("--lengths", default="1024,4096", help="prompt lengths in tokens (compare)")
    p.add_argument("--steps", type=int, default=32, help="greedy decode steps timed per repeat "
                   "(engine-bench always decodes 32)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=2024)
    p.add_argument("--settle", type=float, default=180, help="before each engine, wait up to this many seconds "
                   f"for the 1-minute load average to fall below {BUSY} (the previous engine's own load "
                   "lingers about a minute and a half)")
    p.add_argument("--attention", default="sdpa", help="transformers' attn_implementation (sdpa, eager)")
    p.add_argument("--engine-bench", default=".build/release/engine-bench", help="our benchmark binary")
    p.add_argument("--work", default="/tmp/a2ats-peers", help="prompts, JSON and logs of each engine")
    p.add_argument("--out", help="markdown file for the table, host, versions and commands")
    p.add_argument("--no-llama", action="store_true")
    p.add_argument("--no-hf", action="store_true")
    p.add_argument("--tokens", help="(llama/hf) JSON list of prompts")
    p.add_argument("--json", help="(llama/hf) where to write the figures")
    args = p.parse_args()
    if args.peer == "compare":
        compare(args)
    else:
        one_peer(args)


if __name__ == "__main__":
    main()
