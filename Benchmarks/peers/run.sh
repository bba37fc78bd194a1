#!/usr/bin/env bash
# Peers side by side (issue 16): installs llama.cpp (llama-cpp-python) and Hugging Face
# transformers + PyTorch CPU into a throwaway virtual environment under --work, builds our
# engine-bench, then runs peers.py: the three engines one after the other on the same GGUF,
# prompt token ids, greedy decoding and thread count, one table with ratios (ours ÷ peer).
# Never needed by CI or the tests; nothing is installed outside --work.
#
# usage: Benchmarks/peers/run.sh [setup options] [-- peers.py options]
#   --work DIR            venv, sources, build, prompts and logs (default /tmp/a2ats-peers)
#   --llama-version V     llama-cpp-python sdist to use (default 0.3.16, the llama.cpp of docs/parity.md)
#   --llama-src DIR       an unpacked llama-cpp-python sdist (default: downloaded into --work)
#   --llama-build DIR     an existing build of its vendored llama.cpp (DIR/bin/libllama.so);
#                         default: build the `llama` library alone into --work (54 steps, ~30 min on 2 cores)
#   --torch cpu-wheel|pypi   how PyTorch arrives (default cpu-wheel; why: Benchmarks/README.md):
#       cpu-wheel  torch==$TORCH_VERSION+cpu from pip's configured indexes and find-links (a CPU-only
#                  wheel, ~190 MB, where the machine offers one: this one keeps it in /opt/wheels)
#       pypi       torch==$TORCH_VERSION from PyPI: runs on CPU but pulls ~3 GB of CUDA packages
#   --no-llama, --no-hf   leave a peer out (and its install)
#   --engine-bench PATH   our binary (default: swift build -c release --product engine-bench)
# peers.py options: --model GGUF --lengths 1024,4096 --steps 32 --repeats 3 --threads 2 --out FILE.md
#   (see python3 Benchmarks/peers/peers.py --help)
#
# Example, the check of the plumbing (not of speed):
#   Benchmarks/peers/run.sh --llama-build /work/peers/llama-build -- --lengths 256 --steps 4 --repeats 1 --out /tmp/p.md
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
COMMAND="Benchmarks/peers/run.sh $*"
WORK=/tmp/a2ats-peers LLAMA_VERSION=0.3.16 LLAMA_SRC="" LLAMA_BUILD="" TORCH=cpu-wheel ENGINE_BENCH=""
TORCH_VERSION=2.13.0 TRANSFORMERS_VERSION=5.24.0 LLAMA=1 HF=1 PASS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --work) WORK="$2"; shift 2 ;;
        --llama-version) LLAMA_VERSION="$2"; shift 2 ;;
        --llama-src) LLAMA_SRC="$2"; shift 2 ;;
        --llama-build) LLAMA_BUILD="$2"; shift 2 ;;
        --torch) TORCH="$2"; shift 2 ;;
        --engine-bench) ENGINE_BENCH="$2"; shift 2 ;;
        --no-llama) LLAMA=0; PASS+=(--no-llama); shift ;;
        --no-hf) HF=0; PASS+=(--no-hf); shift ;;
        --) shift; PASS+=("$@"); break ;;
        *) echo "run.sh: unknown option $1 (setup options first, then -- and peers.py's)" >&2; exit 2 ;;
    esac
done
case "$TORCH" in cpu-wheel|pypi) ;; *) echo "run.sh: --torch $TORCH: expected cpu-wheel or pypi" >&2; exit 2 ;; esac
mkdir -p "$WORK"
WORK="$(cd "$WORK" && pwd)"
say() { echo "run.sh: $*" >&2; }

# The venv: one per torch route, reused while its recorded setup matches.
VENV="$WORK/venv-$TORCH"
SETUP="llama=$LLAMA hf=$HF torch=$TORCH $TORCH_VERSION transformers=$TRANSFORMERS_VERSION"
if [ "$(cat "$VENV/.peers-setup" 2>/dev/null)" != "$SETUP" ]; then
    python3 -m venv "$VENV"
    PIP=("$VENV/bin/pip" install --disable-pip-version-check -q)
    # peers.py and llama-cpp-python's ctypes bindings; cmake and ninja build llama.cpp.
    "${PIP[@]}" numpy gguf typing_extensions diskcache jinja2 cmake ninja
    if [ "$HF" = 1 ]; then
        case "$TORCH" in
            cpu-wheel) "${PIP[@]}" --only-binary torch "torch==$TORCH_VERSION+cpu" || {
                say "no CPU-only torch $TORCH_VERSION wheel reachable: --torch pypi (3 GB of CUDA packages)"; exit 1; } ;;
            pypi) "${PIP[@]}" "torch==$TORCH_VERSION" ;;
        esac
        "${PIP[@]}" "transformers==$TRANSFORMERS_VERSION" accelerate   # accelerate: its GGUF loader needs it
    fi
    echo "$SETUP" > "$VENV/.peers-setup"
fi

# llama.cpp: the sdist's Python bindings over its vendored llama.cpp, built as a library alone.
if [ "$LLAMA" = 1 ]; then
    if [ -z "$LLAMA_SRC" ]; then
        LLAMA_SRC="$WORK/src/llama_cpp_python-$LLAMA_VERSION"
        if [ ! -d "$LLAMA_SRC" ]; then
            "$VENV/bin/pip" download --disable-pip-version-check -q --no-binary llama-cpp-python --no-deps \
                "llama-cpp-python==$LLAMA_VERSION" -d "$WORK/src"
            tar -xzf "$WORK/src/llama_cpp_python-$LLAMA_VERSION.tar.gz" -C "$WORK/src"
        fi
    fi
    if [ -z "$LLAMA_BUILD" ]; then
        LLAMA_BUILD="$WORK/llama-build-$LLAMA_VERSION"
        if [ ! -e "$LLAMA_BUILD/bin/libllama.so" ]; then
            say "building llama.cpp's library (nice 15, -j2; ~30 minutes on 2 cores) into $LLAMA_BUILD"
            PATH="$VENV/bin:$PATH" cmake -S "$LLAMA_SRC/vendor/llama.cpp" -B "$LLAMA_BUILD" -G Ninja \
                -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON -DGGML_NATIVE=ON -DLLAMA_BUILD_TESTS=OFF \
                -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF \
                -DLLAMA_BUILD_COMMON=OFF -DLLAMA_CURL=OFF > "$WORK/llama-cmake.log"
            PATH="$VENV/bin:$PATH" nice -n 15 cmake --build "$LLAMA_BUILD" --target llama -j2 > "$WORK/llama-build.log"
        fi
    fi
    [ -e "$LLAMA_BUILD/bin/libllama.so" ] || { say "no $LLAMA_BUILD/bin/libllama.so"; exit 1; }
    export PYTHONPATH="$(cd "$LLAMA_SRC" && pwd)${PYTHONPATH:+:$PYTHONPATH}"
    export LLAMA_CPP_LIB_PATH="$(cd "$LLAMA_BUILD/bin" && pwd)"
fi

# Ours.
if [ -z "$ENGINE_BENCH" ]; then
    (cd "$ROOT" && swift build -c release --product engine-bench 2>&1 | tail -3)
    ENGINE_BENCH="$ROOT/.build/release/engine-bench"
fi
ENGINE_BENCH="$(realpath "$ENGINE_BENCH")"

export PEERS_COMMAND="$COMMAND"
exec "$VENV/bin/python" "$HERE/peers.py" compare --work "$WORK" --engine-bench "$ENGINE_BENCH" "${PASS[@]}"
