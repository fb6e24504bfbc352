"""Marked-argument relation reader (SciBERT ChemProt style): clean text, offsets, markers, and bad lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biohub.converters.base import ConvertError, Defect, Rejection
from biohub.converters.formats.marked_re import MarkedReOptions, MarkedReReader
from biohub.schema import KBRecord, LabelSet, validate
from tests.converters.conftest import json_text, read_items, write_text

MARKERS = [{"open": "<< ", "close": " >>", "type": "A"}, {"open": "[[ ", "close": " ]]", "type": "B"}]


def write(tmp_path: Path, lines: list, name: str = "train.txt") -> Path:
    return write_text(tmp_path, name, "".join(json_text(line, indent=None) + "\n" for line in lines))


def read(path: Path, **options) -> list:
    return read_items(MarkedReReader(MarkedReOptions(**{"markers": MARKERS, **options})), path)


def pair(text: str, label: str = "INHIBITOR") -> dict:
    return {"text": text, "label": label, "metadata": []}


def spans(record: KBRecord) -> list[tuple[str, str, list[tuple[int, int]]]]:
    return [(e.type, e.text[0], e.offsets) for e in record.entities]


def test_markers_are_removed_and_arguments_located(tmp_path: Path) -> None:
    path = write(tmp_path, [pair("<< Velkinase 3 >> is blocked by [[ torvamib ]] in vitro.")])
    (record,) = read(path)
    assert record.id == "toy.train.train-1"
    assert record.passages[0].text == ["Velkinase 3 is blocked by torvamib in vitro."]
    assert spans(record) == [("A", "Velkinase 3", [(0, 11)]), ("B", "torvamib", [(26, 34)])]
    (relation,) = record.relations
    assert (relation.id, relation.type, relation.arg1_id, relation.arg2_id) == (
        "toy.train.train-1.r0", "INHIBITOR", "toy.train.train-1.e0", "toy.train.train-1.e1",
    )
    assert json.loads(record.meta) == {"source": {"path": "train.txt", "line": 1}}
    assert validate(record, LabelSet(entity_types=("A", "B"), relation_types=("INHIBITOR",))) == []


def test_text_next_to_markers_is_kept_exactly(tmp_path: Path) -> None:
    lines = [
        pair("The agonist [[[ torvamib ]]] binds (<< VK3 >>)."),  # brackets and parentheses hug the markers
        pair("Order: << velkinol >>>x; and [[ VK3 ]]> 0.5 >> 0.1."),  # literal > and >> after the closers
    ]
    first, second = read(write(tmp_path, lines))
    assert first.passages[0].text == ["The agonist [torvamib] binds (VK3)."]
    assert spans(first) == [("A", "VK3", [(30, 33)]), ("B", "torvamib", [(13, 21)])]
    assert second.passages[0].text == ["Order: velkinol>x; and VK3> 0.5 >> 0.1."]
    assert spans(second) == [("A", "velkinol", [(7, 15)]), ("B", "VK3", [(23, 26)])]
    for record in (first, second):
        assert validate(record) == []


def test_nested_markers(tmp_path: Path) -> None:
    (record,) = read(write(tmp_path, [pair("Blocking << [[ torva ]] receptor >> works.")]))
    assert record.passages[0].text == ["Blocking torva receptor works."]
    assert spans(record) == [("A", "torva receptor", [(9, 23)]), ("B", "torva", [(9, 14)])]


def test_overlap_duplication_is_repaired_only_when_asked(tmp_path: Path) -> None:
    path = write(tmp_path, [pair("High << sodium channel >>[[ sodium ]] channel activity.", "SUBSTRATE")])
    (kept,) = read(path)
    assert kept.passages[0].text == ["High sodium channelsodium channel activity."]
    defect, record = read(path, repair_overlaps=True)
    assert isinstance(defect, Defect) and (defect.locator, defect.reason) == (
        "1",
        "overlapping arguments (duplicated text repaired)",
    )
    assert record.passages[0].text == ["High sodium channel activity."]
    assert spans(record) == [("A", "sodium channel", [(5, 19)]), ("B", "sodium", [(5, 11)])]
    (partial,) = [
        r
        for r in read(write(tmp_path, [pair("A << GST-4 >>[[ 4-HNE ]] assay.")], "b.txt"), repair_overlaps=True)
        if isinstance(r, KBRecord)
    ]
    assert partial.passages[0].text == ["A GST-4-HNE assay."]
    assert spans(partial) == [("A", "GST-4", [(2, 7)]), ("B", "4-HNE", [(6, 11)])]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("no markers at all [[ x ]]", "marker missing"),
        ("<< a >> and << b >> with [[ c ]]", "ambiguous markers"),
        ("<< a and [[ b ]] here", "unclosed marker"),
        ("<< a [[ b >> c ]]", "crossing markers"),
        ("<<  a >> [[ b ]]", "bad argument span"),
    ],
)
def test_bad_markers_are_rejected_with_line_and_reason(tmp_path: Path, text: str, reason: str) -> None:
    path = write(tmp_path, [pair("<< ok >> then [[ fine ]]."), pair(text)])
    record, rejection = read(path)
    assert isinstance(record, KBRecord) and isinstance(rejection, Rejection)
    assert (rejection.path, rejection.locator, rejection.reason) == (str(path), "2", reason)
    assert rejection.detail.startswith("line 2:")


def test_missing_fields_are_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, [{"text": "<< a >> [[ b ]]"}, {"label": "X"}, ["not", "an", "object"]])
    reasons = [(i.locator, i.reason) for i in read(path)]
    assert reasons == [("1", "missing field"), ("2", "missing field"), ("3", "not a JSON object")]


def test_truncated_json_line_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, [pair("<< a >> [[ b ]]"), '{"text": "<< a >> [[ b'])
    with pytest.raises(ConvertError) as err:
        read(path)
    assert f"{path}:2" in str(err.value)


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="two marker pairs"):
        MarkedReOptions(markers=MARKERS[:1])
    with pytest.raises(ValueError, match="open, close and type"):
        MarkedReOptions(markers=[{"open": "<<", "close": ">>"}, MARKERS[1]])
