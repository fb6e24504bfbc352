"""Contract tests over every catalog entry, run on the real corpora in the mirror (../shared/corpora).

For each entry: the ledger counts equal the counts of its SOURCE.md (held in the entry's ``expected``);
rejections and dropped annotations equal the entry's allow-lists exactly; every written record passes the
BigBio invariants; ids are unique across the dataset. Alternate distributions are checked the same way.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from biohub.converters.catalog import CatalogEntry, load_catalog
from biohub.converters.convert import ConversionResult, write_result
from biohub.converters.ledger import SplitLedger
from biohub.schema import KBRecord, from_row, validate
from tests.real_conversions import converted as shared_conversion
from tests.real_conversions import corpus

CATALOG = load_catalog()
ALTERNATES = [(entry.name, alt.name) for entry in CATALOG.values() for alt in entry.alternates]

pytestmark = pytest.mark.real_corpora


def converted(name: str, alternate: str | None = None) -> ConversionResult:
    return shared_conversion(name, alternate).result


def _merge(total: dict[str, Any], counts: dict[str, Any]) -> None:
    for key, value in counts.items():
        if isinstance(value, dict):
            _merge(total.setdefault(key, {}), value)
        else:
            total[key] = total.get(key, 0) + value


def _observed(ledger: SplitLedger) -> dict[str, Any]:
    return {**ledger.counts, "read": ledger.read, "annotations": ledger.annotations()}


def observed_counts(result: ConversionResult, split: str) -> dict[str, Any]:
    """A split's ledger counts (with the annotations its reader counted); ``all`` sums every split."""
    if split != "all":
        assert split in result.ledger, f"split {split!r} not produced; got {sorted(result.ledger)}"
        return _observed(result.ledger[split])
    total: dict[str, Any] = {}
    for ledger in result.ledger.values():
        _merge(total, _observed(ledger))
    return total


def _total(value: Any) -> Any:
    """An expected value; a list means the sum of numbers stated separately in SOURCE.md."""
    if isinstance(value, list):
        return sum(value)
    if isinstance(value, dict):
        return {key: _total(item) for key, item in value.items()}
    return value


def _numbers(value: Any) -> list[int]:
    if isinstance(value, dict):
        return [n for item in value.values() for n in _numbers(item)]
    return list(value) if isinstance(value, list) else [value]


# a count in SOURCE.md: a whole run of digits, not part of a word, a hash, a file name, a version or a decimal
# (CJK text around it is fine: "共1000条")
SOURCE_NUMBER = re.compile(r"(?<![A-Za-z0-9_])(?<![.,])\d+(?![A-Za-z0-9_])(?![.,][A-Za-z0-9])")


def source_numbers(text: str) -> set[int]:
    """The numbers written in a SOURCE.md, each as a whole token (``SOURCE_NUMBER``)."""
    return {int(match) for match in SOURCE_NUMBER.findall(text)}


def check_expected(result: ConversionResult, expected: dict[str, dict[str, Any]]) -> None:
    """Every count of ``expected`` equals the ledger's; ``annotations`` names only the units and columns it checks
    (e.g. ``{events: {read: 36858}}``), any other mapping (``entity_types``) must equal the ledger's whole."""
    assert expected, "a catalog entry must state the counts from its SOURCE.md"
    for split, wanted in expected.items():
        got = observed_counts(result, split)
        for key, value in wanted.items():
            if key == "annotations":
                for unit, columns in value.items():
                    row = got["annotations"].get(unit, {})
                    for column, number in columns.items():
                        seen, where = row.get(column), f"{result.dataset}/{split}: {unit} {column}"
                        assert seen == _total(number), f"{where} = {seen!r}, SOURCE.md says {number!r}"
                continue
            assert got.get(key) == _total(value), f"{result.dataset}/{split}: {key} = {got.get(key)!r}, SOURCE.md says {value!r}"


def check_vocabularies(result: ConversionResult, entry: CatalogEntry) -> None:
    """Every vocabulary of the entry was read, its counts are SOURCE.md's and no row was rejected."""
    tables = {table.name: table for table in result.vocabularies}
    assert sorted(tables) == sorted(v.name for v in entry.vocabularies)
    for vocabulary in entry.vocabularies:
        ledger = tables[vocabulary.name].ledger
        assert vocabulary.expected, f"{entry.name}: vocabulary {vocabulary.name} must state its counts from SOURCE.md"
        got = {**ledger.counts, "read": ledger.read}
        for key, value in vocabulary.expected.items():
            assert got.get(key) == value, f"{entry.name}/{vocabulary.name}: {key} = {got.get(key)!r}, SOURCE.md says {value}"
        assert not ledger.reasons, f"{entry.name}/{vocabulary.name}: rows rejected: {dict(ledger.reasons)}"


def check_allow_lists(
    result: ConversionResult, rejections: dict[str, dict[str, int]], defects: dict[str, dict[str, int]]
) -> None:
    for split, ledger in result.ledger.items():
        assert dict(ledger.reasons) == rejections.get(split, {}), (
            f"{result.dataset}/{split}: rejections changed: {dict(ledger.reasons)}"
        )
        assert dict(ledger.defects) == defects.get(split, {}), (
            f"{result.dataset}/{split}: defects changed: {dict(ledger.defects)}"
        )
    unknown = set(rejections) | set(defects)
    assert unknown <= set(result.ledger), f"allow-list names splits that were not produced: {unknown - set(result.ledger)}"


def test_every_mirror_folder_has_a_catalog_entry(mirror: Path) -> None:
    """Every mirror folder is catalogued or listed as awaiting its entry (issue 20), and never both."""
    folders = {p.name for p in mirror.iterdir() if p.is_dir()}
    lines = (Path(__file__).parent / "awaiting_catalog.txt").read_text(encoding="utf-8").splitlines()
    awaiting = {line for line in lines if line and not line.startswith("#")}
    assert not awaiting & set(CATALOG), f"catalogued but still listed as awaiting: {awaiting & set(CATALOG)}"
    assert folders == set(CATALOG) | awaiting, (
        f"missing entries: {folders - set(CATALOG) - awaiting}; listed without a folder: {(set(CATALOG) | awaiting) - folders}"
    )


@pytest.mark.parametrize("name", [corpus(name) for name in sorted(CATALOG)])
@pytest.mark.slow
def test_counts_equal_source_md(mirror: Path, name: str) -> None:
    check_expected(converted(name), CATALOG[name].expected)
    check_vocabularies(converted(name), CATALOG[name])


@pytest.mark.parametrize("name", [corpus(name) for name in sorted(CATALOG)])
def test_expected_counts_are_the_ones_in_source_md(mirror: Path, name: str) -> None:
    """Every number in ``expected`` is written in SOURCE.md (a guard against made-up expectations)."""
    entry: CatalogEntry = CATALOG[name]
    numbers = source_numbers((mirror / name / "SOURCE.md").read_text(encoding="utf-8"))
    for alternate in [entry, *entry.alternates]:
        for split, wanted in alternate.expected.items():
            for key, value in wanted.items():
                for number in _numbers(value):
                    assert number in numbers, f"{name}/{split}/{key}: {number} does not appear in SOURCE.md"
    for vocabulary in entry.vocabularies:
        for key, number in vocabulary.expected.items():
            assert number in numbers, f"{name}/{vocabulary.name}/{key}: {number} does not appear in SOURCE.md"


def test_source_numbers_are_whole_numbers_not_digits_inside_other_tokens() -> None:
    """Digits inside a commit hash, a corpus name, a file name, a version or a decimal are not counts."""
    text = (
        "# bc5cdr: BC5CDR v1.2\n- Commit: 0b66ee9245653b622cb6c36\n- Path(s): CDR_TestSet_2.PubTator.txt, part 3.xml\n"
        "- test: 500 documents, 9809 mentions (1066 relations); kappa 0.85; 20-400 per corpus\n- 共1000条，其中12条重复。\n"
    )
    assert source_numbers(text) == {500, 9809, 1066, 20, 400, 1000, 12}


@pytest.mark.parametrize("name", [corpus(name) for name in sorted(CATALOG)])
@pytest.mark.slow
def test_rejections_equal_the_allow_list(mirror: Path, name: str) -> None:
    entry = CATALOG[name]
    check_allow_lists(converted(name), entry.known_rejections, entry.known_defects)


@pytest.mark.parametrize("name", [corpus(name) for name in sorted(CATALOG)])
@pytest.mark.slow
def test_written_records_keep_the_invariants(mirror: Path, name: str, tmp_path: Path) -> None:
    entry = CATALOG[name]
    result = converted(name)
    write_result(result, tmp_path, mirror)
    ids: Counter[str] = Counter()
    for split in result.ledger:
        table = pq.read_table(tmp_path / name / f"{split}.parquet")
        rows = table.to_pylist()
        assert len(rows) == result.ledger[split].converted
        for row in rows:
            record = from_row(result.schema, row)
            assert record.split == split and record.dataset == name
            assert validate(record, entry.labels) == [], record.id
            ids[record.id] += 1
            if isinstance(record, KBRecord):
                for part in (record.passages, record.entities, record.relations, record.events, record.coreferences):
                    ids.update(item.id for item in part)
    duplicates = [key for key, count in ids.items() if count > 1]
    assert not duplicates, f"ids not unique across {name}: {duplicates[:5]}"


@pytest.mark.parametrize(("name", "alternate"), [corpus(name, alternate) for name, alternate in ALTERNATES])
@pytest.mark.slow
def test_alternate_sources(mirror: Path, name: str, alternate: str) -> None:
    alt = CATALOG[name].alternate(alternate)
    result = converted(name, alternate)
    check_expected(result, alt.expected)
    check_allow_lists(result, alt.known_rejections, alt.known_defects)


@pytest.mark.parametrize(
    ("name", "alternate"), [corpus(name, None) for name in sorted(CATALOG)] + [corpus(*pair) for pair in ALTERNATES]
)
@pytest.mark.slow
def test_every_annotation_read_is_accounted_for(mirror: Path, name: str, alternate: str | None) -> None:
    """For the units a reader counts (BioC, PubTator, CBLUE NER/RE), every annotation read is converted, dropped as a
    listed defect, or inside a rejected record: nothing is lost silently."""
    result = converted(name, alternate)
    for split, ledger in result.ledger.items():
        assert ledger.unaccounted() == {}, f"{name}/{split}: {ledger.annotations()}"
        for unit, row in ledger.annotations().items():
            assert row["read"] >= row["converted"] > 0 or row["read"] == 0, f"{name}/{split}/{unit}: {row}"
