"""Benchmarks run on request: `python -m pytest benchmarks/` (pytest-benchmark prints its table).
Batched benchmarks record how many packets one call handles; the summary below divides by it so
the figures read per packet."""


def pytest_terminal_summary(terminalreporter):
    rows = []
    session = getattr(terminalreporter.config, "_benchmarksession", None)
    for bench in session.benchmarks if session else []:
        per_call = bench.stats.median
        n = bench.extra_info.get("packets_per_call", 1)
        note = bench.extra_info.get("note")
        share = bench.extra_info.get("alloc_share")
        if share is not None:
            note += f"; allocation alone {per_call / n * 1e9 * share:.1f} ns"
        reference = bench.extra_info.get("reference_ns")
        if reference is not None:
            note += f": /24 {reference:.1f} ns, ratio {per_call / n * 1e9 / reference:.2f}"
        rows.append((bench.name, per_call / n * 1e9, n, f"; {note}" if note else ""))
    if rows:
        terminalreporter.write_sep("-", "per packet (median of rounds / packets per call)")
        for name, ns, n, note in rows:
            terminalreporter.write_line(f"{name:<45} {ns:10.1f} ns/packet   ({n} per call{note})")
