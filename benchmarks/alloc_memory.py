"""Memory and build/load times of the allocator. Prints figures; asserts nothing.

    python benchmarks/alloc_memory.py

Targets: an empty /8 pool with its table <= 16 MB; one million bound leases <= 150 MB RSS for the
whole Python process; building a /8 pool <= 50 ms; loading one million leases <= 1 s.
Each measurement runs in a fresh interpreter so one does not inflate the next.
"""

import subprocess
import sys
import textwrap

PRELUDE = """
import time
import fastdhcp as _core
from fastdhcp._core import bind_many
def rss_mb():
    for line in open('/proc/self/status'):
        if line.startswith('VmRSS:'):
            return int(line.split()[1]) / 1024
"""

CASES = {
    "python + fastdhcp imported (baseline)": "print(f'{rss_mb():.1f} MB RSS')",
    "empty /8 pool with its lease table": """
        base = rss_mb()
        t = time.perf_counter()
        a = _core.Allocator()
        a.add_subnet(1, '10.0.0.0/8', [('10.0.0.1', '10.255.255.254')])
        ms = (time.perf_counter() - t) * 1e3
        print(f'{rss_mb():.1f} MB RSS ({rss_mb() - base:+.1f} MB over baseline); built in {ms:.2f} ms')
    """,
    "1,000,000 bound leases (offer+request each) in a /8": """
        a = _core.Allocator()
        a.add_subnet(1, '10.0.0.0/8', [('10.0.0.1', '10.255.255.254')])
        t = time.perf_counter()
        n = bind_many(a, 1, 1_000_000, 0x020000000000, now=1_000_000)
        s = time.perf_counter() - t
        print(f'{rss_mb():.1f} MB RSS for {n} leases; bound in {s:.2f} s ({s / n * 1e9:.0f} ns each)')
    """,
    "load 1,000,000 leases from a list of records": """
        recs = [(0x0A000001 + i, (0x020000000000 + i).to_bytes(6, 'big'), b'', 3600, 2_000_000_000, 1, 2, '')
                for i in range(1_000_000)]
        a = _core.Allocator()
        a.add_subnet(1, '10.0.0.0/8', [('10.0.0.1', '10.255.255.254')])
        t = time.perf_counter()
        n = a.load(recs, now=1_000_000)
        s = time.perf_counter() - t
        del recs
        print(f'loaded {n} in {s:.3f} s; {rss_mb():.1f} MB RSS after dropping the input list')
    """,
}


def main():
    for name, body in CASES.items():
        code = PRELUDE + textwrap.dedent(body)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        print(f"{name:<52} {out.stdout.strip()}")


if __name__ == "__main__":
    main()
