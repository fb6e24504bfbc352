"""Shared fixtures: the local mirror of real corpora (../shared/corpora), a tiny config-built model folder, and the two
Hub folders built from the shipped example corpora (once per test run, shared by the pytest-xdist workers):
``demo_hub``, what ``biohub build recipes/demo.yaml`` writes, and ``hub``, a small hand-assembled one
(tests/hub/test_export.py's ``make_hub``)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.built_once import built_once, small_hub

ROOT = Path(__file__).resolve().parents[1]


def _cpu_share(workers: int) -> int:
    """The CPUs one of ``workers`` test processes may use: its share of the CPUs this process may run on."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, cpus // workers)


# torch (imported later, by the tests) starts one thread per core in every pytest-xdist worker; on 2 cores and -n 2
# the workers' threads fight, and a step of the tiny model took about 3x the CPU. So a worker sets its share before
# torch is imported (processes the tests start inherit it); an OMP_NUM_THREADS set by the caller wins.
if "PYTEST_XDIST_WORKER_COUNT" in os.environ:
    os.environ.setdefault("OMP_NUM_THREADS", str(_cpu_share(int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))))


def mirror_path() -> Path:
    """``$BIOHUB_MIRROR`` or ``../shared/corpora`` beside the project."""
    return Path(os.environ.get("BIOHUB_MIRROR", ROOT.parent / "shared" / "corpora"))


@pytest.fixture(scope="session")
def mirror() -> Path:
    path = mirror_path()
    if not path.is_dir():
        if os.environ.get("CI"):
            pytest.fail(
                f"the real-corpus mirror {path} is missing in CI; set BIOHUB_MIRROR or place ../shared beside the project"
            )
        pytest.skip(f"no real-corpus mirror at {path}")
    return path


@pytest.fixture(scope="session")
def unified(mirror: Path, tmp_path_factory: pytest.TempPathFactory):
    """``unified(*names)`` converts catalogued corpora (each written once per test run, shared by the pytest-xdist
    workers) and returns a folder holding them (links to the shared conversions) and their ``ledger.json``. A corpus is
    written from this process's conversion of it (tests/real_conversions.py), the one the contract tests check."""
    from biohub.converters.convert import update_ledger, write_result
    from tests.real_conversions import converted

    root = tmp_path_factory.mktemp("unified")
    ledger: dict[str, object] = {}

    def get(*names: str) -> Path:
        todo = [name for name in names if name not in ledger]
        for name in todo:

            def convert(out: Path, name: str = name) -> None:  # what `biohub convert --datasets NAME` writes
                result = converted(name).result
                out.mkdir(parents=True)
                write_result(result, out, mirror)
                update_ledger(out, [result])

            shared = built_once(tmp_path_factory, f"unified-{name}", convert)
            (root / name).symlink_to(shared / name, target_is_directory=True)
            ledger[name] = json.loads((shared / "ledger.json").read_text(encoding="utf-8"))[name]
        if todo:
            (root / "ledger.json").write_text(json.dumps(ledger, sort_keys=True), encoding="utf-8")
        return root

    return get


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer LLaMA model (hidden 64) with SmolLM2's tokenizer, saved as a model folder."""

    def make(folder: Path) -> None:
        from biohub.models import load_tokenizer, tiny_model

        tokenizer = load_tokenizer("default")
        tiny_model(tokenizer).save_pretrained(folder)
        tokenizer.save_pretrained(folder)

    return built_once(tmp_path_factory, "tiny-model", make)


@pytest.fixture(scope="session")
def demo_hub(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo recipe built from the example corpora (``examples/mirror``), as ``make demo`` builds it, with one
    worker. Read-only: a test that changes a Hub folder copies it first."""

    def make(folder: Path) -> None:
        from biohub.hub.build import build
        from biohub.hub.recipe import load_recipe

        recipe = load_recipe(ROOT / "recipes" / "demo.yaml")
        build(recipe, ROOT / "examples" / "mirror", folder, verify=False, progress=False, workers=1)

    return built_once(tmp_path_factory, "demo-hub", make)


@pytest.fixture(scope="session")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small Hub folder: six example corpora's instruction configs, ``mix_stage1``/``mix_stage2`` (a multi-turn row
    in stage 2), one ``*_unified`` config and ``build_info.json`` (tests/hub/test_export.py's ``make_hub``). Read-only."""
    return small_hub(tmp_path_factory)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The `slow` tests first, in collection order (a stable sort): under pytest-xdist the longest tests then start
    at once instead of leaving one worker busy with the mirror-wide build while the other has nothing left to run."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
