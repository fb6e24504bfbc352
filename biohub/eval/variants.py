"""Named variants of an extraction score (NER and RE): one registry, so that a row says which "entity F1" it is.

Papers report at least four definitions of F1 for the same outputs; the numbers compare only under the same one.
Every NER and RE row computes all of them, named ``precision_<variant>``, ``recall_<variant>``, ``f1_<variant>`` (and
``tp_/fp_/fn_<variant>`` for the counts-based ones), so a suite may pick any as its headline. Each variant is a
function over one example's (gold, predicted) items; the items are those of biohub's strict definitions, restricted
to the row's ``types`` (one type for all with ``collapse_types``): NER (mention text, type), RE (head, relation,
tail), every text trimmed (:func:`biohub.eval.metrics.ner_items`, :func:`~biohub.eval.metrics.triple_items`).
A predicted ``None`` is an answer that did not parse (or is missing).

- ``strict_typed_micro``: the row's headline definition itself, under a name that says what it is: NER ``*_mention``
  (every gold occurrence counted) where the examples carry their gold occurrences, else ``*_text_set``; RE
  ``*_concept_pair`` when that is the row's headline (BC5CDR), else ``*_text_set``. Its values are copied from
  those, never recomputed.
- ``promptcblue``: PromptCBLUE's and CBLUE's information-extraction F1 (``calc_info_extract_task_scores`` of the
  PromptCBLUE evaluation): per sample the *set* of answer instances, each compared as the tuple of all its fields
  (NER: mention and type; RE: subject, predicate, object), texts trimmed and otherwise exact; TP, FP and FN summed
  over samples, then P/R/F1 (0 when TP = 0). On biohub's structures this counts what ``*_text_set`` counts; the name
  is what lets a row be read beside PromptCBLUE, CBLUE and OpenCompass MedBench figures.
- ``untyped``: the mention only (NER: the text; RE: the ordered (head, tail) pair, the relation dropped), case-folded,
  internal whitespace collapsed to one space and trimmed; micro P/R/F1 over the per-example sets (MedS-Bench's
  untyped lower-cased mentions).
- ``sample_avg``: per-example P, R and F1 of the typed item sets, each averaged over the examples (MedINST's
  per-sample F1). An example whose gold and parsed prediction are both empty scores 1 (a correct "none" is a right
  answer, and gold answers must score 1.0); an answer that does not parse scores 0 on every example (an empty
  prediction where gold has items, and no "none" credit where it has none: a format failure is not a right answer).
  It is a mean of per-example values, not a ratio of summed counts: it has no ``tp/fp/fn`` (a bootstrap resamples
  its per-example values, :func:`example_values`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from biohub.eval.metrics import Item, Items, prf
from biohub.templates.registry import METRIC_VARIANTS, Registry

__all__ = [
    "PRF",
    "STRICT_SOURCES",
    "VARIANTS",
    "Example",
    "Kind",
    "Variant",
    "example_values",
    "normalise",
    "strict_source",
    "variant_values",
]

Kind = Literal["ner", "re"]
Example = tuple[Items, Items | None]  # (gold items, predicted items; None: the answer did not parse)
Counts = tuple[int, int, int]  # TP, FP, FN of one example
Scores = tuple[float, float, float]  # P, R, F1 of one example
PRF = ("precision", "recall", "f1", "tp", "fp", "fn")

# The strict definitions a row's headline may follow, per kind, and the default when the headline names none of them
# (first computed one): NER mention occurrences (else text sets); RE text sets (concept pairs only as the headline).
STRICT_SOURCES: dict[Kind, tuple[str, ...]] = {"ner": ("mention", "text_set"), "re": ("text_set", "concept_pair")}
_STRICT_DEFAULTS: dict[Kind, tuple[str, ...]] = {"ner": ("mention", "text_set"), "re": ("text_set",)}
_UNTYPED_FIELDS: dict[Kind, tuple[int, ...]] = {"ner": (0,), "re": (0, 2)}  # mention; (head, tail)


@dataclass(frozen=True, slots=True)
class Variant:
    """One named definition: ``formula`` (one line, shown in reports) and exactly one way to get its values:
    ``counts`` (per-example TP/FP/FN, summed, then P/R/F1), ``scores`` (per-example P/R/F1, averaged) or
    ``headline`` (the row's strict values, copied)."""

    name: str
    formula: str
    counts: Callable[[Kind, Items, Items | None], Counts] | None = None
    scores: Callable[[Kind, Items, Items | None], Scores] | None = None
    headline: bool = False

    def __post_init__(self) -> None:
        if (self.counts is not None) + (self.scores is not None) + self.headline != 1:
            raise ValueError(f"metric variant {self.name}: give exactly one of counts, scores, headline")


def normalise(text: str) -> str:
    """``text`` case-folded, every run of whitespace one space, trimmed (the ``untyped`` comparison key)."""
    return " ".join(text.casefold().split())


def _set_counts(gold: Items, predicted: Items) -> Counts:
    hits = len(gold & predicted)
    return hits, len(predicted) - hits, len(gold) - hits


def _promptcblue(kind: Kind, gold: Items, predicted: Items | None) -> Counts:
    """Every field of an instance compared exactly (texts already trimmed): the typed item tuples themselves."""
    return _set_counts(gold, predicted or set())


def _untyped_item(kind: Kind, item: Item) -> Item:
    return tuple(normalise(item[index]) for index in _UNTYPED_FIELDS[kind])


def _untyped(kind: Kind, gold: Items, predicted: Items | None) -> Counts:
    return _set_counts({_untyped_item(kind, i) for i in gold}, {_untyped_item(kind, i) for i in predicted or set()})


def _sample(kind: Kind, gold: Items, predicted: Items | None) -> Scores:
    if predicted is None:
        return 0.0, 0.0, 0.0  # an unparsed answer: wrong wherever it stands, even where gold is empty
    if not gold and not predicted:
        return 1.0, 1.0, 1.0  # a right "none"
    values = prf(*_set_counts(gold, predicted))
    return values["precision"], values["recall"], values["f1"]


VARIANTS: Registry[Variant] = Registry("metric variant")
for _variant in (
    Variant(
        "strict_typed_micro",
        "the row's strict typed micro headline (NER: every gold mention occurrence where known, else distinct "
        "(text, type) per example; RE: distinct (head, relation, tail) per example, or concept-id pairs for BC5CDR)",
        headline=True,
    ),
    Variant(
        "promptcblue",
        "PromptCBLUE/CBLUE: per sample the set of instances, each the tuple of all its fields (trimmed, exact); "
        "TP/FP/FN summed over samples",
        counts=_promptcblue,
    ),
    Variant(
        "untyped",
        "mention only (RE: the (head, tail) pair), case-folded and whitespace-collapsed; micro over per-example sets",
        counts=_untyped,
    ),
    Variant(
        "sample_avg",
        "per-example P/R/F1 of the typed sets, averaged over examples (both empty: 1; unparsed: 0)",
        scores=_sample,
    ),
):
    VARIANTS.register(_variant.name)(_variant)
if VARIANTS.names() != METRIC_VARIANTS:  # the vocabulary of family files (templates.registry) and this registry agree
    raise RuntimeError(f"metric variants {VARIANTS.names()} differ from registry.METRIC_VARIANTS {METRIC_VARIANTS}")


def strict_source(kind: Kind, headline: str, computed: dict[str, float]) -> str:
    """The strict definition ``strict_typed_micro`` copies on a row: its headline's own (``f1_mention`` ->
    ``mention``) when that is one of the kind's strict definitions, else the first computed default (see the module
    doc); ``computed``: the row's values."""
    name = headline.split("[", 1)[0]
    for suffix in STRICT_SOURCES[kind]:
        if name in {f"{key}_{suffix}" for key in PRF} and f"f1_{suffix}" in computed:
            return suffix
    found = [suffix for suffix in _STRICT_DEFAULTS[kind] if f"f1_{suffix}" in computed]
    if not found:
        raise ValueError(f"no strict {kind} values among {sorted(computed)}")
    return found[0]


def example_values(name: str, kind: Kind, examples: Sequence[Example]) -> list[tuple[float, float, float]]:
    """Per example: (TP, FP, FN) of a counts-based variant, (P, R, F1) of a per-example mean (``sample_avg``); what a
    bootstrap resamples. ``strict_typed_micro`` has none here (its counts are the headline's own)."""
    variant = VARIANTS.get(name)
    if variant.counts is not None:
        counts = (variant.counts(kind, gold, predicted) for gold, predicted in examples)
        return [(float(tp), float(fp), float(fn)) for tp, fp, fn in counts]
    if variant.scores is not None:
        return [variant.scores(kind, gold, predicted) for gold, predicted in examples]
    raise ValueError(f"metric variant {name!r} copies the row's headline values; it has no per-example values here")


def _aggregate(variant: Variant, kind: Kind, examples: Sequence[Example]) -> dict[str, float]:
    if variant.counts is not None:
        tp = fp = fn = 0
        for gold, predicted in examples:
            one = variant.counts(kind, gold, predicted)
            tp, fp, fn = tp + one[0], fp + one[1], fn + one[2]
        return prf(tp, fp, fn) | {"tp": tp, "fp": fp, "fn": fn}
    assert variant.scores is not None
    rows = [variant.scores(kind, gold, predicted) for gold, predicted in examples]
    n = max(len(rows), 1)  # per-example means: no counts to resample (see the module doc)
    return {key: sum(row[index] for row in rows) / n for index, key in enumerate(("precision", "recall", "f1"))}


def variant_values(kind: Kind, examples: Sequence[Example], strict: dict[str, float]) -> dict[str, float]:
    """Every variant's values of one row, named ``<value>_<variant>``: ``strict`` (the row's strict definition's
    ``precision``, ``recall``, ``f1``, ``tp``, ``fp``, ``fn``) as ``strict_typed_micro``, the others computed from
    the examples' (gold, predicted) items."""
    values: dict[str, float] = {}
    for name in VARIANTS.names():
        variant = VARIANTS.get(name)
        found = {key: strict[key] for key in PRF} if variant.headline else _aggregate(variant, kind, examples)
        values |= {f"{key}_{name}": value for key, value in found.items()}
    return values
