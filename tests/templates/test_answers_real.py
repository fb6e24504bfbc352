"""Lenient parsing of answers that name the right option or label in a sentence, over every question / record of
the real corpora (the failures of issue 23 came from option texts that hold letters and label names that hold
other label names)."""

from __future__ import annotations

import json
from pathlib import Path

from biohub.templates.answers import parse
from biohub.templates.example import spec_from_meta
from biohub.templates.instruct import InstructOptions, make_examples, read_records
from biohub.templates.tasks import DatasetInfo

MULTIPLE_CHOICE = ("medqa_usmle", "medmcqa", "cmexam", "cmb")


def _examples(unified: Path, dataset: str, task: str, splits: tuple[str, ...] | None = None):
    folder = unified / dataset
    info = DatasetInfo.load(folder)
    for path in sorted(folder.glob("*.parquet")):
        if splits is None or path.stem in splits:
            for _, _, example in make_examples(read_records(path, info.schema), info, InstructOptions()):
                if example.task == task:
                    yield example


def test_letters_then_option_text_read_only_the_answer_letters(unified) -> None:
    """ "Answer: C. <text of option C>" is C, however many capital letters the option text holds (MedQA "Both A
    and B", "hepatitis B"); multi-answer questions (CMExam) keep every letter ("答案：AC。<text>")."""
    root = unified(*MULTIPLE_CHOICE)
    wrong, total, multi = [], 0, 0
    for dataset in MULTIPLE_CHOICE:
        for example in _examples(root, dataset, "qa_multiple_choice"):
            spec, answer_format, choices = spec_from_meta(json.loads(example.meta))
            gold = json.loads(example.gold)["value"]
            option = choices[spec.labels.index(gold[0])]
            letters = "".join(gold) if len(gold) > 1 else gold[0]
            multi += len(gold) > 1
            for text in (f"{spec.prefix}{spec.punct.kv}{spec.punct.gap}{letters}. {option}", f"{letters}。{option}"):
                total += 1
                got = parse(spec, text, answer_format, choices=choices)
                if got.value != gold:
                    wrong.append((example.id, text[:80], got.value, gold))
    assert total > 19_000 and multi > 60
    assert not wrong, f"{len(wrong)} of {total}: {wrong[:5]}"


def test_label_named_in_a_sentence_is_read_when_it_holds_another_label(unified) -> None:
    """CHIP-CTC: a sentence naming the gold category is read as it, also when a shorter category's name is part of
    it (疾病 in 疾病分期, 能力 in 读写能力)."""
    root = unified("chip_ctc")
    wrong, total = [], 0
    for example in _examples(root, "chip_ctc", "classification", ("validation",)):
        spec, answer_format, _ = spec_from_meta(json.loads(example.meta))
        gold = json.loads(example.gold)["value"]
        for text in (f"结果：这条标准属于{spec.name(gold)}类别", f"Result: this criterion is about {spec.name(gold)}."):
            total += 1
            got = parse(spec, text, answer_format)
            if got.value != gold:
                wrong.append((text, got.value, gold))
    assert total == 2 * 7682
    assert not wrong, f"{len(wrong)} of {total}: {wrong[:5]}"
