"""Timing of the two peers on prompt token ids given by peers.py: llama.cpp through
llama-cpp-python's ctypes bindings, and Hugging Face transformers on PyTorch (CPU, f32).

Each runs in its own process (one thread pool, one allocator per engine), measures prefill
and greedy decoding the way engine-bench measures ours, and writes JSON:
{"engine", "versions", "settings", "prefill": [{tokens, tok_s_best, tok_s_median, repeats}],
 "decode": [{context, steps, ms_best, ms_median, repeats, tokens}]}.

Same work as ours: the prompt's logits are computed for its last position only (ours runs the
LM head on the last row; llama.cpp with logits_all=False; transformers with logits_to_keep=1,
as its generate() does); decoding is greedy (argmax, lowest id on ties) over `steps` single-token
forward passes from the state right after the prefill, restored before each repeat.
"""
import statistics
import time

import numpy as np


def prefill_entry(n, times):
    """A prefill figure of `n` tokens from its repeats' wall times: best and median tokens/s."""
    return {"tokens": n, "tok_s_best": n / min(times), "tok_s_median": n / statistics.median(times),
            "repeats": len(times)}


def decode_entry(n, steps, times, tokens):
    """A decode figure at context `n` from its repeats' wall times over `steps` steps: ms/token."""
    return {"context": n, "steps": steps, "ms_best": 1e3 * min(times) / steps,
            "ms_median": 1e3 * statistics.median(times) / steps, "repeats": len(times), "tokens": tokens}


def run_llama(model, prompts, threads, repeats, steps):
    """llama.cpp with its defaults (f16 K/V cache, no flash attention, n_batch 512)."""
    import llama_cpp
    from llama_cpp import Llama
    longest = max(len(p) for p in prompts)
    llm = Llama(model_path=model, n_ctx=longest + steps + 8, n_batch=512, n_threads=threads,
                n_threads_batch=threads, logits_all=False, verbose=False)
    vocab = llm.n_vocab()

    def next_token():
        # logits_all=False keeps no scores in Python: read the context's last row, as its sampler does.
        return int(np.argmax(np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(vocab,))))

    result = {"engine": "llama.cpp", "prefill": [], "decode": [],
              "versions": {"llama_cpp_python": llama_cpp.__version__,
                           "system_info": llama_cpp.llama_print_system_info().decode(errors="replace").strip()},
              "settings": {"n_threads": threads, "n_threads_batch": threads, "n_batch": 512,
                           "kv_cache": "f16 (default)", "flash_attn": False, "logits_all": False}}
    for prompt in prompts:
        n = len(prompt)
        times = []
        for _ in range(repeats):
            llm.reset()  # the next eval removes every cached position
            start = time.perf_counter()
            llm.eval(prompt)
            first = next_token()
            times.append(time.perf_counter() - start)
        result["prefill"].append(prefill_entry(n, times))
        times = []
        for _ in range(repeats):
            llm.n_tokens = n  # back to the state after the prefill: eval drops positions ≥ n
            generated = [first]
            start = time.perf_counter()
            for _ in range(steps):
                llm.eval([generated[-1]])
                generated.append(next_token())
            times.append(time.perf_counter() - start)
        result["decode"].append(decode_entry(n, steps, times, generated))
    return result


def load_transformers(model, attention):
    """The GGUF through transformers' own loader (weights dequantized to f32)."""
    import os
    import torch
    from transformers import AutoModelForCausalLM
    folder, name = os.path.split(os.path.abspath(model))
    kwargs = {"gguf_file": name, "attn_implementation": attention}
    try:  # transformers ≥ 4.56 names it dtype; older ones torch_dtype
        loaded = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, **kwargs)
    except TypeError:
        loaded = AutoModelForCausalLM.from_pretrained(folder, torch_dtype=torch.float32, **kwargs)
    return loaded.eval()


def run_transformers(model, prompts, threads, repeats, steps, attention):
    import copy
    import inspect
    import torch
    import transformers
    from transformers import DynamicCache
    torch.set_num_threads(threads)
    start = time.perf_counter()
    net = load_transformers(model, attention)
    load_s = time.perf_counter() - start
    result = {"engine": "transformers", "prefill": [], "decode": [],
              "versions": {"transformers": transformers.__version__, "torch": torch.__version__,
                           "torch_config": torch.__config__.parallel_info().splitlines()[0:4]},
              "settings": {"threads": torch.get_num_threads(), "dtype": "float32",
                           "attention": getattr(net.config, "_attn_implementation", attention),
                           "architecture": net.config.model_type, "load_s": round(load_s, 1)}}

    # The LM head on the last position only: logits_to_keep (≥ 4.50), num_logits_to_keep (4.45–4.49);
    # the K/V cache argument is `cache` from 5.x on, `past_key_values` before.
    accepted = inspect.signature(net.forward).parameters
    last_only = next(({name: 1} for name in ("logits_to_keep", "num_logits_to_keep") if name in accepted), {})
    cache_name = "cache" if "cache" in accepted else "past_key_values"
    result["settings"]["last_position_logits_only"] = bool(last_only)

    def forward(ids, cache):
        out = net(input_ids=torch.tensor([ids]), use_cache=True, **{cache_name: cache}, **last_only)
        return int(torch.argmax(out.logits[0, -1]))

    with torch.inference_mode():
        for prompt in prompts:
            n = len(prompt)
            times = []
            for _ in range(repeats):
                cache = DynamicCache(config=net.config)
                start = time.perf_counter()
                first = forward(prompt, cache)
                times.append(time.perf_counter() - start)
            result["prefill"].append(prefill_entry(n, times))
            times = []
            for _ in range(repeats):
                # A copy per repeat keeps the post-prefill cache (not timed).
                state = copy.deepcopy(cache)
                generated = [first]
                start = time.perf_counter()
                for _ in range(steps):
                    generated.append(forward([generated[-1]], state))
                times.append(time.perf_counter() - start)
            result["decode"].append(decode_entry(n, steps, times, generated))
    return result
