"""Token-vector span reader (PICO extraction): voted spans from tiny invented sentences, each vote rule, and each kind
of bad input rejected, dropped or refused with its place and reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biohub.converters.base import ConvertError, Defect, Rejection
from biohub.converters.formats.token_vectors import TokenVectorOptions, TokenVectorReader
from biohub.schema import KBRecord, LabelSet, validate
from tests.converters.conftest import read_items, write_text

SENTENCES = {"1:0": "Forty  adults received velmora .", "1:1": "Pain fell ."}
PARTICIPANTS = {
    "1:0": {"annotations": [[1, 1, 0, 0, 0], [1, 1, 0, 0, 0], [0, 1, 0, 0, 0]], "wids": [7, 8, 9]},
    "1:1": {"annotations": [[0, 0, 0], [0, 0, 0], [0, 0, 0]], "wids": [7, 8, 9]},
}
OUTCOMES = {
    "1:0": {"annotations": [[0, 0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]], "wids": [7, 8, 9]},
    "1:1": {"annotations": [[1, 1, 0], [1, 0, 0], [0, 0, 0]], "wids": [7, 8, 9]},
}
TYPES = {"participants": "participant", "outcomes": "outcome"}


def read(folder: Path, sentences: object = None, participants: object = None, outcomes: object = None, **options) -> list:
    paths = [
        write_text(folder, "sentences.json", json.dumps(SENTENCES if sentences is None else sentences)),
        write_text(folder, "participants.json", json.dumps(PARTICIPANTS if participants is None else participants)),
        write_text(folder, "outcomes.json", json.dumps(OUTCOMES if outcomes is None else outcomes)),
    ]
    reader = TokenVectorReader(TokenVectorOptions(**{"types": TYPES, **options}))
    return read_items(reader, paths, labels=LabelSet(entity_types=("participant", "outcome")))


def spans(record: KBRecord) -> list[tuple[str, str, tuple[int, int]]]:
    return [(e.type, e.text[0], e.offsets[0]) for e in record.entities]


def test_majority_vote_makes_one_entity_per_run_of_voted_tokens(tmp_path: Path) -> None:
    first, second = read(tmp_path)
    assert isinstance(first, KBRecord) and validate(first, LabelSet(entity_types=("participant", "outcome"))) == []
    assert (first.id, first.document_id, first.passages[0].text) == ("toy.train.1:0", "1", ["Forty  adults received velmora ."])
    assert spans(first) == [("participant", "Forty  adults", (0, 13))]
    assert spans(second) == [("outcome", "Pain", (0, 4))]
    meta = json.loads(first.meta)
    vectors = PARTICIPANTS["1:0"]["annotations"]
    assert meta["annotators"]["participants"] == {"type": "participant", "wids": [7, 8, 9], "vectors": vectors}
    assert meta["vote"] == "majority"


@pytest.mark.parametrize(("vote", "expected"), [("any", [("outcome", "Pain fell", (0, 9))]), ("all", [])])
def test_other_vote_rules(tmp_path: Path, vote: str, expected: list) -> None:
    _, second = read(tmp_path, vote=vote)
    assert spans(second) == expected


def test_bad_vectors_are_rejected_naming_the_file_and_sentence(tmp_path: Path) -> None:
    participants = {
        "1:0": {"annotations": [[1, 1, 0, 0], [1, 1, 0, 0, 0], [0, 1, 0, 0, 0]]},
        "1:1": {"annotations": [[0, 2, 0], [0, 0, 0], [0, 0, 0]]},
    }
    items = read(tmp_path, participants=participants)
    assert [(r.reason, r.locator, Path(r.path).name) for r in items if isinstance(r, Rejection)] == [
        ("token vector length mismatch", "1:0", "participants.json"),
        ("bad label", "1:1", "participants.json"),
    ]


def test_missing_annotation_empty_text_and_unknown_sentence(tmp_path: Path) -> None:
    sentences = {"1:0": SENTENCES["1:0"], "1:1": SENTENCES["1:1"], "2:0": "  "}
    outcomes = {"1:0": OUTCOMES["1:0"], "9:9": OUTCOMES["1:1"]}
    items = read(tmp_path, sentences=sentences, outcomes=outcomes)
    rejected = [(r.reason, r.locator) for r in items if isinstance(r, Rejection)]
    assert rejected == [("missing labels", "1:1"), ("empty text", "2:0")]
    (defect,) = [d for d in items if isinstance(d, Defect)]
    assert (defect.reason, defect.locator, Path(defect.path).name, defect.dropped) == (
        "annotation for an unknown sentence",
        "9:9",
        "outcomes.json",
        True,
    )


def test_files_that_are_not_objects_or_no_sentences_file_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConvertError, match=r"outcomes.json: expected a JSON object keyed by sentence id"):
        read(tmp_path, outcomes=[1, 2])
    with pytest.raises(ConvertError, match="expected one sentences file 'sentences.json' among the inputs, found 0"):
        read_items(TokenVectorReader(), [write_text(tmp_path / "x", "outcomes.json", "{}")])
