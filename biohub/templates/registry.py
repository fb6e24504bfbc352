"""Registries by name, as lm-evaluation-harness keeps its: answer kinds -> parsers, scorer names -> scorers, and the
closed vocabularies a task-family file may name (report groups, metrics, Hugging Face task categories).

A family file (``templates/data/families/<family>.yaml``) names its ``kind`` (the answer layout; its line parser is
registered here by :mod:`biohub.templates.answers`) and its ``eval.scorer`` (registered here by
:mod:`biohub.eval.score`, which this module never imports: the pipeline points one way). A new family of an existing
kind and scorer is one YAML file; a new kind or scorer registers one function under its name. An unknown name is an
error that says "did you mean ...?".
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

from biohub.errors import BiohubError

T = TypeVar("T")


class RegistryError(BiohubError, ValueError):
    """A name that no registry entry or vocabulary holds; the message suggests the closest known names."""


def unknown_name(what: str, name: str, known: Iterable[str], where: str = "") -> RegistryError:
    """The error for an unknown ``name``: what was asked for, where, the closest known names and every known one."""
    names = sorted(known)
    close = difflib.get_close_matches(name, names, n=3)
    hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
    prefix = f"{where}: " if where else ""
    return RegistryError(f"{prefix}unknown {what} {name!r}{hint} (known: {', '.join(names)})")


def check_name(what: str, name: str, known: Iterable[str], where: str = "") -> str:
    """``name`` when ``known`` holds it, else a :class:`RegistryError` (for closed vocabularies)."""
    known = tuple(known)
    if name not in known:
        raise unknown_name(what, name, known, where)
    return name


class Registry(Generic[T]):
    """Objects registered by name (``@REGISTRY.register("name")``); :meth:`get` fails with "did you mean ...?"."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """A decorator registering its argument under ``name`` (registering a name twice is an error)."""

        def add(entry: T) -> T:
            if name in self._entries and self._entries[name] is not entry:
                raise RegistryError(f"{self.what} {name!r} is registered twice")
            self._entries[name] = entry
            return entry

        return add

    def get(self, name: str, where: str = "") -> T:
        """The entry registered under ``name``; ``where`` (a file, a row) prefixes the error."""
        if name not in self._entries:
            raise unknown_name(self.what, name, self._entries, where)
        return self._entries[name]

    def names(self) -> tuple[str, ...]:
        """Every registered name, in registration order."""
        return tuple(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries


# answer kind -> line parser ``(spec, text, strict, warnings, choices) -> value`` (registered by templates.answers)
PARSERS: Registry[Callable[..., Any]] = Registry("answer kind")
# scorer name -> ``(entry, judged, tokens) -> {metric: value}`` (registered by eval.score)
SCORERS: Registry[Callable[..., dict[str, float]]] = Registry("scorer")

# Report groups, in the order reports list them (and default family order: group, then name).
GROUPS: tuple[str, ...] = ("NER", "NEN", "RE", "EE", "COREF", "TC", "PAIR", "QA", "TS", "GEN")

# Every metric name a scorer may report (each defined in the README's metric table). *_mention: mention-level
# (occurrence) P/R/F1; *_text_set: the set of distinct texts per example; *_concept_pair: document-level concept-id
# pairs (BC5CDR CID); *_mention_concept: (mention, concept) pairs of entity normalisation; *_concept_set: the set of
# concepts per example (CHIP-CDN's official F1); muc_*, b3_*, ceafe_*, conll_f1: coreference (CoNLL-2012);
# *_trigger, *_argument, *_event, *_modification, *_event_mod: event extraction (biohub.eval.metrics_events); *_tree_triple,
# *_tree_node, *_tree_path, tree_accuracy, tree_edit_distance: Text2DT decision trees (biohub.eval.metrics_tree);
# tp/fp/fn: the counts behind them. A per-type NER value ``f1_mention[Chemical]`` counts as its name.
# *_strict_typed_micro, *_promptcblue, *_untyped, *_sample_avg: the named NER/RE variants (biohub.eval.variants,
# which registers exactly these); sample_avg is a mean of per-example values, without tp/fp/fn.
_PRF = ("precision", "recall", "f1", "tp", "fp", "fn")
METRIC_VARIANTS: tuple[str, ...] = ("strict_typed_micro", "promptcblue", "untyped", "sample_avg")
_PRF_SUFFIXES = (
    "mention", "text_set", "concept_pair", "trigger", "argument", "event", "modification", "event_mod", "tree_triple",
    "tree_node", "tree_path",
)
METRICS: frozenset[str] = frozenset(
    {f"{name}_{suffix}" for name in _PRF for suffix in _PRF_SUFFIXES}
    | {"seqeval_precision", "seqeval_recall", "seqeval_f1", "accuracy", "micro_f1", "macro_f1", "f1_positive"}
    | {"exact_match", "pearson", "precision", "recall", "f1", "strict_accuracy", "lenient_accuracy", "mrr"}
    | {"rouge1", "rouge2", "rougeL", "bleu"}
    | {"chrf", "precision_at_1", "precision_at_5", "precision_at_10"}  # translation; answer selection (MEDIQA 2019 QA)
    | {f"{name}_{suffix}" for name in _PRF for suffix in ("mention_concept", "concept_set")}
    | {f"{score}_{part}" for score in ("muc", "b3", "ceafe") for part in ("precision", "recall", "f1")} | {"conll_f1"}
    | {"tree_accuracy", "tree_edit_distance"}  # Text2DT
    | {f"{name}_{variant}" for name in _PRF for variant in METRIC_VARIANTS if variant != "sample_avg"}
    | {f"{name}_sample_avg" for name in ("precision", "recall", "f1")}
    | {"acc", "acc_norm", "ece", "brier"}  # the log-likelihood protocol of closed-answer rows (biohub.eval.loglik)
)

# Hugging Face dataset-card task categories a family may name (``task_category``).
TASK_CATEGORIES: tuple[str, ...] = (
    "token-classification",
    "text-classification",
    "sentence-similarity",
    "multiple-choice",
    "question-answering",
    "text-generation",
    "summarization",
    "translation",
)
