"""Scoring: raw model outputs -> parsed with the example's own parser -> the metrics of the entry's task.

Each eval example carries what its parser needs (``meta``: answer kind, format, labels, option texts), its gold
structure (``gold``) and, for NER and RE, the gold annotations the official metrics count with (``meta.gold_kb``:
mention occurrences, concept ids; :func:`biohub.templates.instruct.gold_kb_meta`), so outputs produced
anywhere — biohub's generator, another framework, an API model — are scored the same way. Every output is parsed
twice: leniently (the template library's lenient mode: full-width punctuation, bullets, option text for letters, ...),
which gives the row's metrics, and strictly (exactly the layout biohub renders), which gives the same headline under
strict parsing (:func:`compute_strict`), so format adherence and content can be told apart. An output that does not
parse counts as wrong and is counted per row and mode, apart from examples without an output (missing).

Each family's file names its scorer (``eval.scorer``); the scorers below register themselves under those names in
:data:`biohub.templates.registry.SCORERS`, so a new family of an existing kind needs no code here.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from biohub.errors import BiohubError
from biohub.eval import metrics, metrics_events, metrics_tree, variants
from biohub.eval.suite import Entry
from biohub.templates.answers import parse
from biohub.templates.example import spec_from_meta
from biohub.templates.library import families
from biohub.templates.registry import SCORERS


class EvalError(BiohubError, ValueError):
    """The evaluation cannot run as asked (an empty selection, a headline the examples cannot give, other settings)."""


TokensLookup = Callable[[str], tuple[list[str], list[str]] | None]  # source id -> (tokens, gold IOB2 tags)


@dataclass(slots=True)
class Judged:
    """One example after parsing: what the report and ``generations.jsonl`` show."""

    id: str
    source_id: str
    task: str
    language: str
    output: str | None  # None: no output was given for this example
    parsed: Any
    gold: Any
    parse_ok: bool
    error: str = ""
    labels: tuple[str, ...] = ()  # the answer's label codes, in order
    gold_kb: dict[str, Any] | None = None  # meta.gold_kb of NER/RE examples: gold entities (and relations) with counts, ids
    strict_parsed: Any = None  # the value of the strict parse (exactly the layout biohub renders); None when it failed
    strict_ok: bool = False  # whether the output parses strictly (False without an output)


@dataclass(slots=True)
class EntryResult:
    """The score of one suite row, as written to ``results.json``: where it came from, its headline value, every
    metric computed, the number of examples (``n``), outputs given that did not parse (``parse_failures``) and
    examples without an output (``missing``; never counted as parse failures). Both count as wrong.

    Under strict parsing (exactly the layout biohub renders): the headline (``strict_value``) and the outputs given that
    did not parse strictly (``strict_parse_failures``); None in results of an older biohub. ``value_parsed_only``:
    for a row whose headline is a share of examples (:data:`ACCURACY_LIKE`), the headline over the examples whose
    output parsed (leniently) only, Meditron's second accuracy; None for other rows and when nothing parsed.
    ``interval``: the 95% percentile-bootstrap interval of the headline over ``resamples`` resamples of the examples
    (:mod:`biohub.eval.resample`).
    Under ``biohub eval --protocol loglik|both`` (:mod:`biohub.eval.loglik`), ``protocol`` says which and ``loglik``
    holds the row's log-likelihood figures."""

    name: str
    dataset: str
    split: str
    group: str
    tasks: list[str]
    headline: str
    value: float
    n: int
    parse_failures: int
    missing: int
    metrics: dict[str, float] = field(default_factory=dict)
    reference: str | None = None
    strict_value: float | None = None
    strict_parse_failures: int | None = None
    value_parsed_only: float | None = None
    interval: list[float] | None = None  # [low, high] of the headline, in its own units (None: --resamples 0)
    resamples: int = 0  # the bootstrap replicates behind ``interval`` (biohub.eval.resample)
    protocol: str = "generate"  # generate | loglik | both (biohub eval --protocol; biohub score: generate)
    loglik: dict[str, Any] | None = None  # the loglik protocol's acc, acc_norm, ece, brier, n, ... (and gap under both)

    @property
    def parse_failure_rate(self) -> float:
        """The share of the row's examples with an output that did not parse (0.0 for an empty row)."""
        return self.parse_failures / self.n if self.n else 0.0

    @property
    def strict_parse_failure_rate(self) -> float | None:
        """The share of the row's examples with an output that did not parse strictly (None without a strict count)."""
        if self.strict_parse_failures is None:
            return None
        return self.strict_parse_failures / self.n if self.n else 0.0


# Headlines that are shares of examples (or, for answer selection, of candidates) answered right: the ones a
# parsed-only value (Meditron's accuracy over the parsed answers) is given for.
ACCURACY_LIKE = frozenset({"accuracy", "exact_match", "tree_accuracy", "strict_accuracy", "lenient_accuracy"})


def judge(row: dict[str, Any], output: str | None) -> Judged:
    """Parse one model output (None: no output) with the parser stored in the example row's ``meta``, leniently
    (``parsed``, ``parse_ok``, ``error``) and strictly (``strict_parsed``, ``strict_ok``)."""
    if output is not None and not isinstance(output, str):
        raise TypeError(f"example {row['id']}: an output is a string or None, not {type(output).__name__}")
    meta = json.loads(row["meta"])
    spec, answer_format, choices = spec_from_meta(meta)
    gold = json.loads(row["gold"])
    where, kb = (row["id"], row["source_id"], row["task"], row["language"]), meta.get("gold_kb")
    if output is None:
        return Judged(*where, None, None, gold, False, "no output", spec.labels, kb)
    result = parse(spec, output, answer_format, strict=False, choices=choices)
    strict = parse(spec, output, answer_format, strict=True, choices=choices)
    return Judged(*where, output, result.value, gold, result.ok, result.error, spec.labels, kb, strict.value, strict.ok)


def _entity_matches(gold: dict[str, Any], predicted: Sequence[str] | None) -> tuple[int, int, int]:
    """List answers: TP = gold entities named by a prediction (any synonym, case-insensitive)."""
    entities = gold.get("synonyms") or [[v] for v in gold["value"]]
    accepted = [{name.strip().lower() for name in entity} for entity in entities]
    answers = {answer.strip().lower() for answer in (predicted or [])}
    tp = sum(1 for names in accepted if names & answers)
    fp = sum(1 for answer in answers if not any(answer in names for names in accepted))
    return tp, fp, len(accepted) - tp


def compute(entry: Entry, judged: Sequence[Judged], tokens: TokensLookup | None = None) -> dict[str, float]:
    """The metrics of one entry over its judged examples (all of one task family), by the family's scorer."""
    if not judged:
        return {}
    family = families()[judged[0].task]
    return SCORERS.get(family.eval.scorer, f"{family.path}.eval.scorer")(entry, judged, tokens)


def as_strict(judged: Sequence[Judged]) -> list[Judged]:
    """The examples as strict parsing reads them: ``parsed`` and ``parse_ok`` replaced by the strict ones."""
    return [dataclasses.replace(j, parsed=j.strict_parsed, parse_ok=j.strict_ok) for j in judged]


def compute_strict(
    entry: Entry, judged: Sequence[Judged], tokens: TokensLookup | None = None, lenient: dict[str, float] | None = None
) -> dict[str, float]:
    """The metrics of :func:`compute` under strict parsing. ``lenient``: the values :func:`compute` gave for the same
    examples, returned as they are when every example parses the same both ways (the scorers then see the same input)."""
    if lenient is not None and all((j.strict_ok, j.strict_parsed) == (j.parse_ok, j.parsed) for j in judged):
        return dict(lenient)
    return compute(entry, as_strict(judged), tokens)


def parsed_only(entry: Entry, judged: Sequence[Judged], tokens: TokensLookup | None = None) -> float | None:
    """The headline over the examples whose output parsed (leniently) only, for an :data:`ACCURACY_LIKE` headline
    (Meditron's accuracy over parsed answers, beside the headline that counts failures as wrong); None for other
    headlines and when no output parsed."""
    parsed = [j for j in judged if j.parse_ok]
    if entry.headline not in ACCURACY_LIKE or not parsed:
        return None
    return compute(entry, parsed, tokens).get(entry.headline)


def _golds_preds(judged: Sequence[Judged]) -> tuple[list[Any], list[Any]]:
    """Gold values and parsed predictions (None where the output did not parse)."""
    return [j.gold["value"] for j in judged], [j.parsed if j.parse_ok else None for j in judged]


@SCORERS.register("ner")
def score_ner(entry: Entry, judged: Sequence[Judged], tokens: TokensLookup | None) -> dict[str, float]:
    """Joint NER (``{type: mentions}``): mention, text-set and per-type values, the named variants; seqeval over BIO
    tags when given."""
    golds, preds = _golds_preds(judged)
    values = _ner(entry, judged, golds, preds, list(judged[0].labels))
    if tokens is not None:
        values |= _seqeval(judged, preds, tokens, list(entry.types) if entry.types else None, entry.collapse_types)
    return values


@SCORERS.register("ner_single")
def score_ner_single(entry: Entry, judged: Sequence[Judged], tokens: TokensLookup | None) -> dict[str, float]:
    """One entity type per example: the same definitions as joint NER over ``{type: mentions}``."""
    golds, preds = _golds_preds(judged)
    own = [_single_label(j) for j in judged]
    golds = [{label: g} for label, g in zip(own, golds)]
    preds = [None if p is None else {label: p} for label, p in zip(own, preds)]
    return _ner(entry, judged, golds, preds, list(dict.fromkeys(own)))  # per-type values over every type asked for


@SCORERS.register("triples")
def score_triples(entry: Entry, judged: Sequence[Judged], tokens: TokensLookup | None) -> dict[str, float]:
    """Relation triples: the text set per example; concept-id pairs per document when every gold relation has ids;
    the named variants."""
    golds, preds = _golds_preds(judged)
    triples = ((metrics.triple_items(g), metrics.triple_items(p)) for g, p in zip(golds, preds))
    values = _named(metrics.set_prf(triples), "text_set")
    kbs = [j.gold_kb or {} for j in judged]
    with_kb = all("relations" in kb and "entities" in kb for kb in kbs)
    # every gold relation carries concept ids on both sides; a document without gold relations still counts (its
    # predicted pairs are false positives)
    if with_kb and all(ids1 and ids2 for kb in kbs for _, ids1, ids2 in kb["relations"]):
        documents = ((kb["relations"], kb["entities"], p) for kb, p in zip(kbs, preds))
        values |= _named(metrics.concept_pair_prf(documents), "concept_pair")
    examples = [(metrics.triple_items(g), None if p is None else metrics.triple_items(p)) for g, p in zip(golds, preds)]
    return values | _variants("re", entry, values, examples)


@SCORERS.register("entity_list")
def score_entity_list(entry: Entry, judged: Sequence[Judged], tokens: TokensLookup | None) -> dict[str, float]:
    """List answers: P/R/F1 over gold entities named by a prediction (any synonym)."""
    _, preds = _golds_preds(judged)
    totals = [_entity_matches(j.gold, p) for j, p in zip(judged, preds)]
    return metrics.prf(*(sum(t[i] for t in totals) for i in range(3)))


@SCORERS.register("factoid")
def score_factoid(entry: Entry, judged: Sequence[Judged], tokens: TokensLookup | None) -> dict[str, float]:
    """Factoid answers: the list values plus strict/lenient accuracy and MRR (BioASQ)."""
    _, preds = _golds_preds(judged)
    synonyms = [j.gold.get("synonyms") or [[v] for v in j.gold["value"]] for j in judged]
    return score_entity_list(entry, judged, tokens) | metrics.factoid_scores(synonyms, preds)


@SCORERS.register("spans")
def score_spans(entry: Entry, judged: Sequence[Judged], tokens: TokensLookup | None) -> dict[str, float]:
    """Span lists: P/R/F1 over the set of stripped spans per example."""
    golds, preds = _golds_preds(judged)
    return metrics.set_prf(({(m.strip(),) for m in g or []}, {(m.strip(),) for m in p or []}) for g, p in zip(golds, preds))


@SCORERS.register("label")
def score_label(entry: Entry, judged: Sequence[Judged], tokens: TokensLookup | None) -> dict[str, float]:
    """Single-label answers: accuracy, micro and macro F1."""
    golds, preds = _golds_preds(judged)
    return metrics.classification_scores(golds, preds, list(judged[0].labels))


@SCORERS.register("binary_relation")
def score_binary_relation(entry: Entry, judged: Sequence[Judged], tokens: TokensLookup | None) -> dict[str, float]:
    """A binary relation label: the single-label values plus F1 of the positive class."""
    golds, preds = _golds_preds(judged)
    labels = list(judged[0].labels)
    values = metrics.classification_scores(golds, preds, labels)
    if labels:
        values |= metrics.binary_f1(golds, preds, _positive(labels))
    return values


@SCORERS.register("labels")
def score_labels(entry: Entry, judged: Sequence[Judged], tokens: TokensLookup | None) -> dict[str, float]:
    """Multi-label answers: micro and macro F1, exact match."""
    golds, preds = _golds_preds(judged)
    return metrics.multilabel_scores(golds, preds, list(judged[0].labels))


@SCORERS.register("choices")
def score_choices(entry: Entry, judged: Sequence[Judged], tokens: TokensLookup | None) -> dict[str, float]:
    """Multiple choice: accuracy over the chosen letter sets."""
    golds, preds = _golds_preds(judged)
    return metrics.choice_accuracy(golds, preds)


@SCORERS.register("score")
def score_score(entry: Entry, judged: Sequence[Judged], tokens: TokensLookup | None) -> dict[str, float]:
    """A similarity score: Pearson's r, an unparsed answer counted as the middle of the gold range."""
    golds, preds = _golds_preds(judged)
    middle = (min(golds) + max(golds)) / 2
    return metrics.pearson(golds, preds, fill=middle)


@SCORERS.register("text")
def score_text(entry: Entry, judged: Sequence[Judged], tokens: TokensLookup | None) -> dict[str, float]:
    """Free text: ROUGE and BLEU against the reference (an unparsed output counts as empty)."""
    golds, _ = _golds_preds(judged)
    language = judged[0].language
    texts = [j.output if j.parse_ok else "" for j in judged]
    return metrics.rouge_scores(golds, texts, language) | metrics.bleu(golds, texts, language)


@SCORERS.register("events")
def score_events(entry: Entry, judged: Sequence[Judged], tokens: TokensLookup | None) -> dict[str, float]:
    """Events: micro P/R/F1 of whole events (BioNLP ST strict matching over texts), triggers and arguments."""
    golds, preds = _golds_preds(judged)
    return metrics_events.event_scores((g, p, None) for g, p in zip(golds, preds))


@SCORERS.register("events_single")
def score_events_single(entry: Entry, judged: Sequence[Judged], tokens: TokensLookup | None) -> dict[str, float]:
    """One event type per example (its answer spec names the asked type first): the events values of that type."""
    golds, preds = _golds_preds(judged)
    return metrics_events.event_scores((g, p, example.labels[:1]) for g, p, example in zip(golds, preds, judged))


@SCORERS.register("decision_tree")
def score_decision_tree(entry: Entry, judged: Sequence[Judged], tokens: TokensLookup | None) -> dict[str, float]:
    """Text2DT: tree accuracy, triple / node / decision-path P/R/F1 and the tree edit distance."""
    golds, preds = _golds_preds(judged)
    return metrics_tree.tree_scores(zip(golds, preds))


def _single_label(example: Judged) -> str:
    """The one entity type a decomposed NER example asks for."""
    if len(example.labels) != 1:
        raise ValueError(f"example {example.id}: a ner_single example needs exactly one label, it has {list(example.labels)}")
    return example.labels[0]


def _named(values: dict[str, float], suffix: str) -> dict[str, float]:
    """``f1`` -> ``f1_<suffix>`` (and so on): the name says which definition a value follows."""
    return {f"{name}_{suffix}": value for name, value in values.items()}


def _ner(entry: Entry, judged: Sequence[Judged], golds: list[Any], preds: list[Any], labels: list[str]) -> dict[str, float]:
    """NER values: ``*_text_set`` (distinct (text, type) per example) always, ``*_mention`` (every gold occurrence,
    from ``meta.gold_kb``) when every example carries its gold entities; per-type F1 of both unless types collapse."""
    types = list(entry.types) if entry.types else None
    collapse = entry.collapse_types

    def text_set(restrict: list[str] | None, merge: bool) -> dict[str, float]:
        items = ((metrics.ner_items(g, restrict, merge), metrics.ner_items(p, restrict, merge)) for g, p in zip(golds, preds))
        return metrics.set_prf(items)

    def mention(restrict: list[str] | None, merge: bool) -> dict[str, float]:
        kbs = [j.gold_kb for j in judged if j.gold_kb is not None]  # all of them: called only when every example has one
        counted = [metrics.mention_counts(kb["entities"], restrict, merge) for kb in kbs]
        return metrics.mention_prf(zip(counted, (metrics.ner_items(p, restrict, merge) for p in preds)))

    with_kb = all(j.gold_kb is not None and "entities" in j.gold_kb for j in judged)
    values = _named(text_set(types, collapse), "text_set")
    if with_kb:
        values |= _named(mention(types, collapse), "mention")
    examples = [
        (metrics.ner_items(g, types, collapse), None if p is None else metrics.ner_items(p, types, collapse))
        for g, p in zip(golds, preds)
    ]
    values |= _variants("ner", entry, values, examples)
    if not collapse:
        for label in entry.types or labels:
            values[f"f1_text_set[{label}]"] = text_set([label], False)["f1"]
            if with_kb:
                values[f"f1_mention[{label}]"] = mention([label], False)["f1"]
    return values


def _variants(kind: variants.Kind, entry: Entry, values: dict[str, float], examples: list[variants.Example]) -> dict[str, float]:
    """The named variants of an NER or RE row (:mod:`biohub.eval.variants`); ``strict_typed_micro`` copies the strict
    values the row's headline follows."""
    source = variants.strict_source(kind, entry.headline, values)
    return variants.variant_values(kind, examples, {key: values[f"{key}_{source}"] for key in variants.PRF})


def _positive(labels: Sequence[str]) -> str:
    """The positive class of a binary relation task: ``1`` / ``yes`` / ``true`` when present, else the last label."""
    return next((label for label in ("1", "yes", "true", "positive") if label in labels), labels[-1])


def _seqeval(
    judged: Sequence[Judged], preds: Sequence[Any], tokens: TokensLookup, types: list[str] | None, collapse: bool
) -> dict[str, float]:
    gold_tags, predicted_tags = [], []
    for example, predicted in zip(judged, preds):
        found = tokens(example.source_id)
        if found is None:
            continue
        words, tags = found
        if types is not None:
            tags = [tag if tag == "O" or tag[2:] in types else "O" for tag in tags]
        if collapse:
            tags = [tag if tag == "O" else f"{tag[:2]}*" for tag in tags]
        gold_tags.append(tags)
        predicted_tags.append(metrics.project_bio(words, sorted(metrics.ner_items(predicted, types, collapse))))
    return metrics.seqeval_scores(gold_tags, predicted_tags) if gold_tags else {}


# The scorers of their own modules register themselves (imported last: they build on this module).
from biohub.eval import metrics_mt, metrics_ranking, score_kb  # noqa: E402,F401,I001
