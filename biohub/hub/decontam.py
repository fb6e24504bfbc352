"""Decontamination across corpora: no eval record's input text may reach training, in any dataset.

Each unified record has an *input text* (the document, the question and its context, the sentence pair, the
user turns, the instruction and input). Texts are normalised (NFKC, case-folded, punctuation to spaces, spaces
collapsed). A training record is **contaminated** when

* its normalised text equals an eval record's (exact hash), or
* it shares n-grams with an eval record (word n-grams for English, character n-grams for Chinese) covering at
  least ``threshold`` of the n-grams of the shorter of the two — i.e. one text largely contains the other
  (the same abstract in two corpora, a test sentence inside a training abstract).
* the shorter of the two is too short to hold one n-gram (a Chinese criterion or query of under 20 characters,
  an English phrase of under 13 words) and occurs whole inside the other (at word boundaries for English; an
  Aho-Corasick scan over every text). Texts under ``min_contained`` words (``min_contained_zh`` characters) are
  single terms and are matched only exactly.

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

import ahocorasick

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
from biohub.text import cjk_count

COMMON_NGRAM_DOCS = 50
_NON_WORD = re.compile(r"\W+")  # CJK ideographs are word characters


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
    """The text as decontamination compares it: NFKC, case-folded, every run of non-word characters one space."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_NON_WORD.sub(" ", text).split())


def is_cjk(normalized: str) -> bool:
    """Whether a normalised text is mostly Chinese (then compared by characters, spaces removed)."""
    return cjk_count(normalized) * 3 > len(normalized)


def ngrams(normalized: str, settings: Decontamination) -> set[int]:
    """Hashed n-grams: words for Latin-script text, characters (spaces removed) when the text is mostly CJK."""
    if is_cjk(normalized):
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
    """What decontamination found: the contaminated training records (with the eval record each matches), the
    duplicate training examples dropped per dataset, and how many eval and training records were compared."""

    contaminated: list[dict[str, Any]] = field(default_factory=list)
    duplicates: Counter[str] = field(default_factory=Counter)
    eval_records: int = 0
    train_records: int = 0

    def to_json(self) -> dict[str, Any]:
        """The report as ``decontamination.json`` holds it: the method, counts by dataset pair and reason, and every
        contaminated record."""
        by_pair = Counter(f"{c['train_dataset']} <- {c['eval_dataset']}" for c in self.contaminated)
        return {
            "method": "normalised exact hash + n-gram overlap + whole short texts contained (see biohub/hub/decontam.py)",
            "eval_records": self.eval_records,
            "train_records": self.train_records,
            "contaminated_train_records": len(self.contaminated),
            "contaminated_by_dataset_pair": dict(sorted(by_pair.items())),
            "contaminated_by_reason": dict(sorted(Counter(c["reason"] for c in self.contaminated).items())),
            "duplicate_train_examples_dropped": dict(sorted(self.duplicates.items())),
            "contaminated": self.contaminated,
        }


def find_contaminated(
    train: Sequence[TextItem], evals: Sequence[TextItem], settings: Decontamination
) -> list[dict[str, Any]]:
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
    short_evals = ShortTexts([item.text for item in evals], settings)
    short_train = ShortTexts([item.text for item in train], settings)
    inside_train = short_train.inside([item.text for item in evals])
    found = []
    for position, item in enumerate(train):
        match = exact.get(item.text)
        reason, overlap = "exact", 1.0
        if match is None:
            match, overlap = _best_overlap(ngrams(item.text, settings) - common, eval_grams, index, settings.threshold)
            reason = "ngram"
        if match is None:
            match, reason, overlap = short_evals.first_in(item.text), "eval_text_contained", 1.0
        if match is None:
            match, reason = inside_train.get(position), "train_text_contained"
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


def _best_overlap(
    grams: set[int], eval_grams: list[set[int]], index: dict[int, list[int]], threshold: float
) -> tuple[int | None, float]:
    hits: Counter[int] = Counter()
    for gram in grams:
        hits.update(index.get(gram, ()))
    best, best_overlap = None, 0.0
    for position, shared in hits.items():
        overlap = shared / max(1, min(len(grams), len(eval_grams[position])))
        if overlap >= threshold and (overlap, -position) > (best_overlap, -(best or 0)):
            best, best_overlap = position, overlap
    return best, best_overlap


class ShortTexts:
    """Texts too short to hold one n-gram (and at least ``min_contained`` long), found whole inside other texts.

    Chinese texts are compared without spaces; English ones as space-padded word sequences, so that a match starts
    and ends at word boundaries. One Aho-Corasick automaton per script.
    """

    def __init__(self, texts: Sequence[str], settings: Decontamination) -> None:
        positions: dict[bool, dict[str, list[int]]] = {True: defaultdict(list), False: defaultdict(list)}
        for position, text in enumerate(texts):
            cjk = is_cjk(text)
            key = _key(text, cjk)
            if cjk:
                size, floor, n = len(key), settings.min_contained_zh, settings.ngram_zh
            else:
                size, floor, n = len(text.split()), settings.min_contained, settings.ngram
            if floor <= size < n:
                positions[cjk][key].append(position)
        self.automata: list[tuple[bool, ahocorasick.Automaton]] = []
        for cjk, by_key in positions.items():
            if by_key:
                automaton = ahocorasick.Automaton()
                for key, owners in by_key.items():
                    automaton.add_word(key, tuple(owners))  # every text with this key, in order
                automaton.make_automaton()
                self.automata.append((cjk, automaton))

    def first_in(self, text: str) -> int | None:
        """The lowest position of a short text that occurs inside ``text``."""
        hits = [owners[0] for cjk, automaton in self.automata for _, owners in automaton.iter(_key(text, cjk))]
        return min(hits) if hits else None

    def inside(self, others: Sequence[str]) -> dict[int, int]:
        """``{position of a short text: lowest position of an other text that contains it}``."""
        holders: dict[int, int] = {}
        for other_position, text in enumerate(others):
            for cjk, automaton in self.automata:
                for _, owners in automaton.iter(_key(text, cjk)):
                    if owners[0] not in holders:  # a key's texts are placed together, at the first text holding it
                        holders.update(dict.fromkeys(owners, other_position))
        return holders


def _key(normalized: str, cjk: bool) -> str:
    return normalized.replace(" ", "") if cjk else f" {normalized} "


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
