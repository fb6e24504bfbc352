"""Every example ``instruct`` drops is counted by reason and task in the ledger and printed as one line per reason
and task (issue 25 item 11): an over-long non-NER example, and an NER document with a sentence no window fits."""

from __future__ import annotations

from pathlib import Path

import pytest

from biohub.errors import ConfigError
from biohub.templates.instruct import DROP_REASONS, InstructOptions, SplitStats, build_split, drop_lines, instruct
from tests.templates.test_length import KB_INFO, QA_INFO, CharCounter, _long_record, _qa, kb_record

MAX = 800


def test_every_drop_is_counted_by_reason_and_task() -> None:
    words = " ".join(f"drug{i}" for i in range(200))
    huge = kb_record("huge", [f"He took {words} today"], [("Chemical", ["drug7"])])  # one sentence, no window fits
    options = InstructOptions(seed=3, formats=("lines",), max_length=MAX)
    _, kb, _ = build_split([_long_record(), huge], KB_INFO, options, CharCounter())
    _, qa, _ = build_split([_qa("ctx", "A long context sentence. " * 40, "Short.")], QA_INFO, options, CharCounter())
    assert kb.to_json()["dropped"] == {"example_too_long": {"re": 2}, "sentence_too_long": {"ner": 1}}
    assert kb.to_json()["dropped_too_long"] == {"ner": 1, "re": 2}  # the total per task, as before
    assert qa.to_json()["dropped"] == {"example_too_long": {"qa_open_context": 1}}
    assert SplitStats().to_json()["dropped"] == {}

    lines = drop_lines({"toy": {"train": kb.to_json()}, "qa": {"test": qa.to_json()}}, MAX)
    why = {reason: text.replace("max_length", "max_length 800") for reason, text in DROP_REASONS.items()}
    assert lines == [
        f"toy train: dropped 2 re example(s): {why['example_too_long']}",
        f"toy train: dropped 1 ner example(s): {why['sentence_too_long']}",
        f"qa test: dropped 1 qa_open_context example(s): {why['example_too_long']}",
    ]
    assert "no window of whole sentences fits" in lines[1]


def test_a_negative_max_length_is_refused(tmp_path: Path) -> None:
    """It used to drop every example (each is longer than -1 tokens) and exit 0."""
    with pytest.raises(ConfigError, match=r"max_length \(--max-length\): must be at least 1, or 0 for no limit \(got -1\)"):
        instruct(tmp_path, tmp_path / "out", InstructOptions(max_length=-1), tokenizer=object())
    assert not (tmp_path / "out").exists()


def test_a_partially_labelled_record_makes_no_example_and_is_counted() -> None:
    """Issue 25 item 4: a record that lost annotations in conversion (``meta.dropped_annotations``) was templated as if
    fully labelled, teaching the model that the dropped mentions are not there."""
    import dataclasses

    from biohub.schema import dump_meta

    whole = kb_record("whole", ["Aspirin eases pain."], [("Chemical", ["Aspirin"])])
    gutted = kb_record("gutted", ["Ibuprofen eases fever."], [("Chemical", ["Ibuprofen"])])
    gutted = dataclasses.replace(gutted, meta=dump_meta({"dropped_annotations": {"entities": 3}}))
    options = InstructOptions(seed=3, formats=("lines",), max_length=0)
    examples, stats, _ = build_split([whole, gutted], KB_INFO, options, None)
    assert {example.source_id for example in examples} == {"whole"}
    assert stats.to_json()["partially_labelled"] == {"records": 1, "dropped_annotations": {"entities": 3}}
    assert "partially_labelled" not in build_split([whole], KB_INFO, options, None)[1].to_json()  # same bytes as before
    lines = drop_lines({"toy": {"train": stats.to_json()}}, 0)
    assert lines == ["toy train: skipped 1 record(s), partially labelled: 3 annotations dropped in conversion "
                     "(meta.dropped_annotations; no example made from them)"]


def test_build_prints_its_instruct_stage_drops_from_build_info() -> None:
    """Issue 25 item 11: build's instruct stage dropped over-long examples without a word on screen; the counts it
    writes to build_info.json (``datasets.<name>.instructions.train``) are now printed per reason and task."""
    from biohub.hub.build import build_drop_lines

    options = InstructOptions(seed=3, formats=("lines",), max_length=MAX)
    _, kb, _ = build_split([_long_record()], KB_INFO, options, CharCounter())
    info = {
        "recipe": {"instructions": {"max_length": MAX}},
        "datasets": {"toy": {"instructions": {"train": {**kb.to_json(), "records_used": 1}, "test": {"examples": 2}}}},
    }
    why = DROP_REASONS["example_too_long"].replace("max_length", "max_length 800")
    assert build_drop_lines(info) == [f"toy train: dropped 1 re example(s): {why}"]
