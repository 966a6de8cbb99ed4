"""The native core under AddressSanitizer and UndefinedBehaviorSanitizer: a copy of the tree is
built with FASTDHCP_SANITIZE=1 and the codec, differential (with a smaller fuzz budget), batch I/O
and allocator tests run against it. Any report fails the run (halt_on_error / abort_on_error)."""

import os
import pathlib
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
SUITES = ["tests/test_codec.py", "tests/test_differential.py", "tests/test_mmsg.py",
          "tests/test_allocator.py"]


def runtime(name: str) -> str:
    path = subprocess.run(["gcc", f"-print-file-name={name}"], capture_output=True, text=True,
                          check=True).stdout.strip()
    assert os.path.isabs(path) and os.path.exists(path), f"{name} not found (gcc's sanitizer runtime)"
    return path


def test_native_core_is_clean_under_asan_and_ubsan(tmp_path):
    tree = tmp_path / "tree"
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    for f in files:
        (tree / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / f, tree / f)
    env = dict(os.environ, FASTDHCP_SANITIZE="1")
    build = subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace"], cwd=tree,
                           env=env, capture_output=True, text=True, timeout=900)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    env.update(
        LD_PRELOAD=f"{runtime('libasan.so')} {runtime('libubsan.so')}",
        ASAN_OPTIONS="detect_leaks=0:abort_on_error=1",          # CPython itself "leaks" at exit
        UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1",
        FASTDHCP_FUZZ_COUNT="100000",
        PYTHONPATH=str(tree))
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SUITES],
                         cwd=tree, env=env, capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
