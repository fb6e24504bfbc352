"""Build benchmark: the full taiyi_style recipe on the mirror, wall time and peak memory of the process tree.

Peak RSS is sampled every 0.2 s over the build process and its worker processes (summed), since datasets are
prepared in parallel workers; it also prints the main process' own peak. Target (issue 4): <= 2 min, <= 4 GiB.

    python benchmarks/build.py --mirror ../shared/corpora [--recipe recipes/taiyi_style.yaml] [--workers 2] [--keep DIR]

``--keep DIR`` writes the build to DIR (kept, e.g. to score perfect predictions on it) instead of a temporary folder.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

from tree_memory import TreePeak  # benchmarks/tree_memory.py (the script's folder is on sys.path)

from biohub.hub.build import build
from biohub.hub.recipe import load_recipe

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", type=Path, default=ROOT.parent / "shared" / "corpora")
    parser.add_argument("--recipe", type=Path, default=ROOT / "recipes" / "taiyi_style.yaml")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", type=Path, default=None, help="write the build here (kept) instead of a temporary folder")
    args = parser.parse_args()
    recipe = load_recipe(args.recipe)
    with tempfile.TemporaryDirectory() as out, TreePeak() as peak:
        start = time.perf_counter()
        repo = args.keep or Path(out) / "repo"
        info = build(recipe, args.mirror, repo, workers=args.workers, progress=False)
        wall = time.perf_counter() - start
    rows = sum(sum(splits.values()) for splits in info["configs"].values())
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"recipe {recipe.name}: {len(recipe.datasets)} datasets, {len(info['configs'])} configs, {rows:,} rows written")
    print(
        f"mix_stage1 {info['configs']['mix_stage1']['train']:,} / mix_stage2 {info['configs']['mix_stage2']['train']:,} examples"
    )
    print(f"wall time: {wall:.1f} s with {args.workers} worker(s)")
    print(f"peak RSS, process tree (sampled): {peak.peak / 2**20:.0f} MiB; main process: {own:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
