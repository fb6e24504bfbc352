"""Freed tensors leave the process (glibc's mmap threshold fixed), and training turns that on."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import pytest

from biohub.training import run
from biohub.training.recipe import load_train_recipe
from tests.training.test_train import write_recipe

FRAGMENT = """
import sys, torch
from biohub.training.memory import return_freed_memory

def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) << 10

applied = return_freed_memory() if sys.argv[1] == "fixed" else False
scratch = torch.ones(16 << 20, dtype=torch.uint8)
del scratch  # one large free: glibc slides its mmap threshold up to 16 MiB
before = rss()
freed = [torch.ones(4 << 20, dtype=torch.uint8) for _ in range(64)]  # 256 MiB of 4 MiB tensors
kept = torch.ones(4 << 20, dtype=torch.uint8)  # allocated after them, so above them on the heap
del freed
print(applied, (rss() - before) >> 20)
"""


def _held_mib(mode: str) -> tuple[bool, int]:
    process = subprocess.run([sys.executable, "-c", FRAGMENT, mode], capture_output=True, text=True, check=True)
    applied, held = process.stdout.split()
    return applied == "True", int(held)


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="Linux with glibc only")
def test_freed_tensors_leave_the_process() -> None:
    """The pattern of a training step: many large temporaries freed under a tensor that stays. With glibc's sliding
    threshold they stay resident (the case this fixes); with the fixed threshold they are unmapped."""
    applied, held = _held_mib("fixed")
    assert applied and held < 32
    applied, held = _held_mib("default")
    assert not applied and held > 200


def test_glibc_settings_of_the_user_win(monkeypatch: pytest.MonkeyPatch) -> None:
    from biohub.training.memory import return_freed_memory

    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    assert return_freed_memory() is False


@pytest.mark.parametrize("wanted", [True, False])
def test_training_returns_freed_memory_when_the_recipe_asks(
    tmp_path: Path, tiny_hub: Path, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch, wanted: bool
) -> None:
    """``train`` fixes the threshold before it loads anything, only for ``return_freed_memory: true``."""
    calls: list[bool] = []
    monkeypatch.setattr(run, "return_freed_memory", lambda: calls.append(True) or True)
    overrides = ["max_steps=1", "stages=[{name: only, data: [mix_stage1]}]", f"return_freed_memory={str(wanted).lower()}"]
    run.train(
        load_train_recipe(write_recipe(tmp_path, tiny_model_dir), overrides), str(tiny_hub), tmp_path / "run", show_progress=False
    )
    assert calls == ([True] if wanted else [])
