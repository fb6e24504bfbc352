"""One conversion of each real corpus per test process, shared by every test that reads it.

The contract tests (tests/converters/test_real_corpora.py), the raw-source check (test_raw_sources.py) and the
``unified`` fixture (tests/conftest.py, which the template, eval and hub tests over real corpora use) all need the
same conversion of a corpus. :func:`converted` converts it once per process, with the raw source texts collected on
the way (then reduced to the ids of the records without one, so the texts are not kept), and :func:`corpus` is the
pytest parameter of a per-corpus test: it puts every test of one corpus into one pytest-xdist group
(``--dist loadgroup``, as ``make test`` runs), so they run in the process that holds its conversion.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest

from biohub.converters.catalog import load_catalog
from biohub.converters.convert import ConversionResult, convert_entry
from tests.conftest import mirror_path

CATALOG = load_catalog()


@dataclass(frozen=True)
class Converted:
    """A conversion of a real corpus (its reference source, or an alternate), and the ids of the records it kept
    whose reader handed over no raw source text."""

    result: ConversionResult
    without_raw: tuple[str, ...]

    @property
    def kept(self) -> int:
        """Records converted, over every split."""
        return sum(len(records) for records in self.result.records.values())


@cache
def converted(name: str, alternate: str | None = None) -> Converted:
    """The conversion of catalog entry ``name`` (or its alternate source) from the mirror, once per process."""
    sink: dict[str, str] = {}
    result = convert_entry(CATALOG[name], mirror_path(), alternate=alternate, progress=False, raw_sink=sink)
    kept = [record for records in result.records.values() for record in records]
    return Converted(result, tuple(record.id for record in kept if not sink.get(record.id, "").strip()))


def corpus(name: str, *more: Any) -> Any:
    """The pytest parameter of a test over corpus ``name`` (and further values), in that corpus's xdist group."""
    return pytest.param(name, *more, marks=pytest.mark.xdist_group(f"corpus-{name}"))
