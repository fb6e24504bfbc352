"""Conversion benchmark: every catalogued corpus, with a parse-only baseline in the same run.

Three timings, in one process:

1. **parse-only baseline**, per corpus: the reader alone iterating over the source files (no validation, no writing);
2. **full conversion per corpus**, one process (``jobs=1``): read + validate + count + write parquet/ledger, each
   corpus on its own, so that records/s can be compared with the baseline per corpus and per format;
3. **``convert --all`` as one call**, as the CLI runs it (worker processes, one per CPU by default): the wall time of
   the goal, and the peak resident memory of the whole process tree (this process and its workers, summed, sampled
   every 50 ms).

Goal (issue 20): all corpora in <= 60 s wall and <= 2 GiB peak RSS on a 2-core machine.

    python benchmarks/convert.py --mirror ../shared/corpora [--datasets a,b] [--jobs N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import psutil
from tree_memory import TreePeak  # benchmarks/tree_memory.py (the script's folder is on sys.path)

from biohub.converters.api import convert_catalogued, default_jobs
from biohub.converters.base import ReadContext
from biohub.converters.catalog import CatalogEntry, load_catalog
from biohub.converters.registry import get_reader


def parse_only(entry: CatalogEntry, mirror: Path) -> int:
    """The baseline: iterate the reader over every split, no validation, no writing."""
    items = 0
    for source in (entry.source, *entry.more_sources):
        reader = get_reader(source.format).from_mapping(source.options)
        for split, files in source.splits.items():
            ctx = ReadContext(entry.name, split, source.language or entry.languages[0], entry.labels)
            items += sum(1 for _ in reader.read([mirror / f.path for f in files], ctx))
    return items


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "corpora")
    parser.add_argument("--datasets", default="", help="comma-separated subset (default: all)")
    parser.add_argument("--jobs", type=int, default=None, help="worker processes of the one-call run (default: CPUs)")
    args = parser.parse_args()
    catalog = load_catalog()
    names = [n for n in args.datasets.split(",") if n] or list(catalog)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch)
        for name in names:
            start = time.perf_counter()
            parse_only(catalog[name], args.mirror)
            baseline = time.perf_counter() - start
            start = time.perf_counter()
            (result,) = convert_catalogued(args.mirror, out / "each", [name], progress=False, jobs=1)
            full = time.perf_counter() - start
            records = sum(ledger.read for ledger in result.ledger.values())
            rows.append((name, catalog[name].source.format, records, baseline, full))
        jobs = args.jobs or default_jobs()
        with TreePeak() as memory:
            start = time.perf_counter()
            results = convert_catalogued(args.mirror, out / "all", names, progress=False, jobs=jobs)
            whole = time.perf_counter() - start
    peak_rss = max(memory.peak, psutil.Process().memory_info().rss)

    print(f"{'dataset':<26}{'format':<20}{'records':>9}{'parse s':>9}{'full s':>9}{'rec/s':>10}{'full/parse':>11}")
    for name, fmt, records, baseline, full in rows:
        ratio = full / max(baseline, 1e-9)
        print(f"{name:<26}{fmt:<20}{records:>9}{baseline:>9.2f}{full:>9.2f}{records / full:>10.0f}{ratio:>11.2f}")
    by_format: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    for _, fmt, records, baseline, full in rows:
        by_format[fmt][0] += records
        by_format[fmt][1] += baseline
        by_format[fmt][2] += full
    print(f"\n{'format':<20}{'records':>9}{'parse rec/s':>13}{'full rec/s':>12}{'full/parse':>11}")
    for fmt, (records, baseline, full) in sorted(by_format.items(), key=lambda item: -item[1][2]):
        print(f"{fmt:<20}{records:>9.0f}{records / baseline:>13.0f}{records / full:>12.0f}{full / baseline:>11.2f}")
    records = sum(r[2] for r in rows)
    parse_total = sum(r[3] for r in rows)
    full_total = sum(r[4] for r in rows)
    print(
        f"\nper corpus, one process: {len(rows)} corpora, {records} records; parse-only {parse_total:.1f} s, "
        f"full {full_total:.1f} s ({full_total / parse_total:.2f}x the baseline)"
    )
    converted = sum(ledger.read for result in results for ledger in result.ledger.values())
    print(
        f"one call (convert --all), {jobs} worker process(es): {len(results)} corpora, {converted} records in "
        f"{whole:.1f} s wall ({converted / whole:.0f} rec/s; {full_total / whole:.2f}x the per-corpus total); "
        f"peak RSS of the process tree {peak_rss / 2**20:.0f} MiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
