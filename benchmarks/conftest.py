"""Benchmarks run on request: `python -m pytest benchmarks/` (pytest-benchmark prints its table).
Batched benchmarks record how many packets one call handles; the summary below divides by it so
the figures read per packet."""

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))   # share the corpus loader with the tests


def pytest_terminal_summary(terminalreporter):
    rows = []
    for bench in getattr(terminalreporter.config, "_benchmarksession", None).benchmarks \
            if getattr(terminalreporter.config, "_benchmarksession", None) else []:
        per_call = bench.stats.median
        n = bench.extra_info.get("packets_per_call", 1)
        rows.append((bench.name, per_call / n * 1e9, n))
    if rows:
        terminalreporter.write_sep("-", "per packet (median of rounds / packets per call)")
        for name, ns, n in rows:
            terminalreporter.write_line(f"{name:<45} {ns:10.1f} ns/packet   ({n} per call)")
