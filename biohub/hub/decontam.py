"""Decontamination across corpora: no eval record's input text may reach training, in any dataset.

Each unified record has an *input text* (the document, the question and its context, the sentence pair, the
user turns, the instruction and input). Texts are normalised (NFKC, case-folded, punctuation to spaces, spaces
collapsed). A training record is **contaminated** when

* its normalised text equals an eval record's (exact hash), or
* it shares n-grams with an eval record (word n-grams for English, character n-grams for Chinese) covering at
  least ``threshold`` of the n-grams of the shorter of the two — i.e. one text largely contains the other
  (the same abstract in two corpora, a test sentence inside a training abstract).

N-grams occurring in more than ``COMMON_NGRAM_DOCS`` eval records are boilerplate and ignored. Contaminated training
records lose all their examples; each is listed in the report with the eval record it matches.
Within training, examples of the same task instance with the same normalised input and target are duplicates
(identical records, within or across corpora): the first (in recipe order) is kept, the others dropped and counted.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from biohub.hub.recipe import Decontamination
from biohub.schema import (
    DialogueRecord,
    InstructionRecord,
    KBRecord,
    PairsRecord,
    QARecord,
    Record,
    T2TRecord,
    TextRecord,
    document_text,
)

COMMON_NGRAM_DOCS = 50
_NON_WORD = re.compile(r"[^\w\u4e00-\u9fff]+")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def input_text(record: Record) -> str:
    """The text a model reads for this record (what must not leak from eval into training)."""
    if isinstance(record, KBRecord):
        return document_text(record)
    if isinstance(record, QARecord):
        return f"{record.question}\n{record.context}"
    if isinstance(record, TextRecord):
        return record.text
    if isinstance(record, (PairsRecord, T2TRecord)):
        return f"{record.text_1}\n{record.text_2}"
    if isinstance(record, DialogueRecord):
        return "\n".join(turn.content for turn in record.turns if turn.role == "user")
    if isinstance(record, InstructionRecord):
        return f"{record.instruction}\n{record.input}"
    raise TypeError(f"no input text for {type(record).__name__}")


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_NON_WORD.sub(" ", text).split())


def ngrams(normalized: str, settings: Decontamination) -> set[int]:
    """Hashed n-grams: words for Latin-script text, characters (spaces removed) when the text is mostly CJK."""
    if len(_CJK.findall(normalized)) * 3 > len(normalized):
        chars = normalized.replace(" ", "")
        n = settings.ngram_zh
        return {hash(chars[i : i + n]) for i in range(max(0, len(chars) - n + 1))}
    words = normalized.split()
    n = settings.ngram
    return {hash(tuple(words[i : i + n])) for i in range(max(0, len(words) - n + 1))}


@dataclass(frozen=True, slots=True)
class TextItem:
    """A record's identity and normalised input text."""

    record_id: str
    dataset: str
    split: str
    text: str


@dataclass
class Report:
    contaminated: list[dict[str, Any]] = field(default_factory=list)
    duplicates: Counter[str] = field(default_factory=Counter)
    eval_records: int = 0
    train_records: int = 0

    def to_json(self) -> dict[str, Any]:
        by_pair = Counter(f"{c['train_dataset']} <- {c['eval_dataset']}" for c in self.contaminated)
        return {
            "method": "normalised exact hash + n-gram overlap (see biohub/hub/decontam.py)",
            "eval_records": self.eval_records,
            "train_records": self.train_records,
            "contaminated_train_records": len(self.contaminated),
            "contaminated_by_dataset_pair": dict(sorted(by_pair.items())),
            "duplicate_train_examples_dropped": dict(sorted(self.duplicates.items())),
            "contaminated": self.contaminated,
        }


def find_contaminated(train: Sequence[TextItem], evals: Sequence[TextItem], settings: Decontamination) -> list[dict[str, Any]]:
    """Every training record whose text is (largely) an eval record's, with the eval record it matches."""
    exact: dict[str, int] = {}
    index: dict[int, list[int]] = defaultdict(list)
    eval_grams: list[set[int]] = []
    for position, item in enumerate(evals):
        exact.setdefault(item.text, position)
        grams = ngrams(item.text, settings)
        eval_grams.append(grams)
        for gram in grams:
            index[gram].append(position)
    common = {gram for gram, owners in index.items() if len(owners) > COMMON_NGRAM_DOCS}
    found = []
    for item in train:
        match = exact.get(item.text)
        reason, overlap = "exact", 1.0
        if match is None:
            match, overlap = _best_overlap(ngrams(item.text, settings) - common, eval_grams, index, settings.threshold)
            reason = "ngram"
        if match is not None:
            other = evals[match]
            found.append(
                {
                    "train_id": item.record_id,
                    "train_dataset": item.dataset,
                    "train_split": item.split,
                    "eval_id": other.record_id,
                    "eval_dataset": other.dataset,
                    "eval_split": other.split,
                    "reason": reason,
                    "overlap": round(overlap, 3),
                }
            )
    return found


def _best_overlap(grams: set[int], eval_grams: list[set[int]], index: dict[int, list[int]], threshold: float) -> tuple[int | None, float]:
    hits: Counter[int] = Counter()
    for gram in grams:
        hits.update(index.get(gram, ()))
    best, best_overlap = None, 0.0
    for position, shared in hits.items():
        overlap = shared / max(1, min(len(grams), len(eval_grams[position])))
        if overlap >= threshold and (overlap, -position) > (best_overlap, -(best or 0)):
            best, best_overlap = position, overlap
    return best, best_overlap


def duplicate_key(example: Any, text: str) -> tuple[str, ...]:
    """What makes two training examples the same: the task instance (family and entity type), the normalised
    input of the source record, the window of it, and the normalised target."""
    instance = example.id.split(":", 1)[1]
    window = str(json.loads(example.meta).get("window", ""))
    return instance, text, window, normalize(example.target)


def drop_duplicates(examples: Iterable[Any], texts: dict[str, str], report: Report) -> list[Any]:
    """Keep the first of each duplicate group (see :func:`duplicate_key`); count the rest per dataset."""
    seen: set[tuple[str, ...]] = set()
    kept = []
    for example in examples:
        key = duplicate_key(example, texts.get(example.source_id, example.source_id))
        if key in seen:
            report.duplicates[example.dataset] += 1
            continue
        seen.add(key)
        kept.append(example)
    return kept
