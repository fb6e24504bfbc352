"""Conversion benchmark: every catalogued corpus, end to end, with a parse-only baseline in the same run.

For each dataset it times (a) the baseline: the reader alone iterating over the source files, and (b) the full
conversion: read + validate + count + write parquet/ledger. It prints records/s, wall time, the full/baseline ratio
and the process' peak RSS. Target (issue 2): all corpora in <= 60 s and <= 2 GiB peak RSS on a 2-core machine.

    python benchmarks/convert.py --mirror ../shared/corpora [--datasets a,b]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

from biohub.converters.api import convert_catalogued
from biohub.converters.base import ReadContext
from biohub.converters.catalog import load_catalog
from biohub.converters.registry import get_reader


def parse_only(name: str, mirror: Path) -> int:
    """The baseline: iterate the reader over every split, no validation, no writing."""
    entry = load_catalog()[name]
    items = 0
    for source in (entry.source, *entry.more_sources):
        reader = get_reader(source.format).from_mapping(source.options)
        for split, files in source.splits.items():
            ctx = ReadContext(name, split, source.language or entry.languages[0], entry.labels)
            items += sum(1 for _ in reader.read([mirror / f.path for f in files], ctx))
    return items


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "corpora")
    parser.add_argument("--datasets", default="", help="comma-separated subset (default: all)")
    args = parser.parse_args()
    names = [n for n in args.datasets.split(",") if n] or list(load_catalog())
    rows = []
    with tempfile.TemporaryDirectory() as out:
        total_start = time.perf_counter()
        for name in names:
            start = time.perf_counter()
            parse_only(name, args.mirror)
            baseline = time.perf_counter() - start
            start = time.perf_counter()
            (result,) = convert_catalogued(args.mirror, Path(out), [name], progress=False)
            full = time.perf_counter() - start
            records = sum(ledger.read for ledger in result.ledger.values())
            rows.append((name, records, baseline, full))
        wall = time.perf_counter() - total_start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'dataset':<26}{'records':>9}{'parse s':>9}{'full s':>9}{'rec/s':>10}{'full/parse':>11}")
    for name, records, baseline, full in rows:
        print(f"{name:<26}{records:>9}{baseline:>9.2f}{full:>9.2f}{records / full:>10.0f}{full / max(baseline, 1e-9):>11.2f}")
    records = sum(r[1] for r in rows)
    full_total = sum(r[3] for r in rows)
    parse_total = sum(r[2] for r in rows)
    print(
        f"{'TOTAL':<26}{records:>9}{parse_total:>9.2f}{full_total:>9.2f}"
        f"{records / full_total:>10.0f}{full_total / parse_total:>11.2f}"
    )
    print(f"conversion wall time (full runs only): {full_total:.1f} s; whole benchmark incl. baselines: {wall:.1f} s")
    print(f"peak RSS: {peak_mib:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
