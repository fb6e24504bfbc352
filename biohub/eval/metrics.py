"""Metric definitions. Every function takes gold and predicted structures (already parsed) and returns named values.

Definitions (also in the README's evaluation section):

- **Set precision/recall/F1, strict micro** (``*_text_set`` of NER and RE; list answers): per example, the gold and
  predicted items are sets; true positives = |gold ∩ predicted|, summed over all examples, then P = TP / (TP + FP),
  R = TP / (TP + FN), F1 = 2PR / (P + R) (0 when undefined). NER items are (mention text, type); RE items are
  (head, relation, tail); matching is exact on the text after trimming surrounding whitespace (no case folding).
- **Mention-level P/R/F1** (``*_mention``, NER, the official definition of the NER corpora): gold items are the
  mention *occurrences* of the example (``meta.gold_kb``: each (text, type) with its count), so a document naming
  a disease five times has five gold mentions, as the official scorers count spans. An answer lists texts, not
  spans: a predicted (text, type) that is gold stands for every gold occurrence of it (TP += its count); one that
  is not gold is one false positive; FN = gold occurrences not predicted. Gold answers score exactly 1.0 and TP +
  FN = the corpus' mention count (NCBI-disease test: 960).
- **Concept-pair P/R/F1** (``*_concept_pair``, BC5CDR CID as BioCreative V scores it): per document, the gold items
  are the (relation, chemical concept id, disease concept id) pairs of its gold relations. A predicted [head, tail]
  is read through the document's gold entity annotations: each text (trimmed, case-folded) denotes the concept ids
  its gold mentions carry; the pair denotes every combination. If some of those are gold pairs, it counts as
  them (a composite mention such as "renal and hepatic failure" denotes several concepts, of which the gold
  target may relate only one); otherwise as all of them (false positives), or as one false positive when a text
  names no annotated concept. So another spelling of the same concept scores as the same pair.
- **seqeval entity F1** (BIO corpora): predicted mentions are projected onto the record's tokens (every occurrence
  of the mention's token sequence is tagged B-/I-type, earlier and longer mentions first, no overlap) and scored
  against the gold tags with ``seqeval`` (IOB2, strict mode).
- **Classification**: accuracy; micro-F1 over the label set and macro-F1 over the labels that occur in gold or
  predictions (scikit-learn, ``zero_division=0``); an unparseable answer is a wrong answer of no class, so it lowers
  accuracy and recall. Multi-label: micro/macro F1 over the
  binarised label sets (scikit-learn), exact match and accuracy (subset accuracy over the known labels, an
  unparseable answer wrong).
- **Binary F1** (relation detection as yes/no): F1 of the positive label.
- **Pearson** (sentence similarity): ``scipy.stats.pearsonr`` of predicted and gold scores; an unparseable score is
  replaced by the middle of the scale and counted.
- **Multiple choice / yes-no accuracy**: the predicted letter set (or label) equals the gold one; unparseable = wrong.
- **BioASQ factoid**: strict accuracy = the first answer matches a synonym of a gold entity; lenient accuracy = one
  of the first five does; MRR = mean of 1 / rank of the first match within five (0 if none); matching ignores case.
- **ROUGE-1/2/L F** (``rouge-score``; Chinese is segmented with jieba first) and corpus **BLEU** (``sacrebleu``,
  ``zh`` tokenizer for Chinese, ``13a`` otherwise), on a 0-1 scale like every other metric here.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from biohub.text import chinese_words

Item = tuple[str, ...]  # one scored item: (mention, type), (head, relation, tail) or (relation, concept, concept)
Items = set[Item]
UNPARSED = "\x00unparsed"


def prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    """Precision, recall and F1 from true-positive, false-positive and false-negative counts (0.0 when undefined)."""
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def set_prf(pairs: Iterable[tuple[Items, Items]]) -> dict[str, float]:
    """Strict micro P/R/F1 over (gold, predicted) item sets, one pair per example."""
    tp = fp = fn = 0
    for gold, predicted in pairs:
        hits = len(gold & predicted)
        tp, fp, fn = tp + hits, fp + len(predicted) - hits, fn + len(gold) - hits
    return prf(tp, fp, fn) | {"tp": tp, "fp": fp, "fn": fn}


def mention_counts(
    entities: Sequence[Sequence[Any]], types: Sequence[str] | None = None, collapse: bool = False
) -> Counter[Item]:
    """Gold (mention text, type) occurrences of an example from ``meta.gold_kb.entities`` ([type, text, count,
    concept ids] rows), restricted to ``types``; ``collapse``: one type for all (counts add up)."""
    counts: Counter[Item] = Counter()
    for label, text, count, *_ in entities:
        if types is None or label in types:
            counts[(str(text).strip(), "*" if collapse else label)] += int(count)
    return counts


def mention_prf(pairs: Iterable[tuple[Counter[Item], Items]]) -> dict[str, float]:
    """Mention-level micro P/R/F1 over (gold occurrence counts, predicted items) per example: a predicted gold item
    counts for all its occurrences, a predicted non-gold item is one false positive."""
    tp = fp = fn = 0
    for gold, predicted in pairs:
        hits = sum(gold[item] for item in predicted if item in gold)
        tp, fp, fn = tp + hits, fp + sum(1 for item in predicted if item not in gold), fn + sum(gold.values()) - hits
    return prf(tp, fp, fn) | {"tp": tp, "fp": fp, "fn": fn}


KbRows = Sequence[Sequence[Any]]  # meta.gold_kb rows: entities [type, text, count, ids], relations [type, ids, ids]


def concept_pair_items(relations: KbRows, entities: KbRows, predicted: list[list[str]] | None) -> tuple[Items, Items]:
    """(gold, predicted) (relation, concept, concept) items of one document (see the module doc, concept pairs):
    ``relations`` are [type, arg1 ids, arg2 ids], ``entities`` [type, text, count, ids], ``predicted`` the
    parsed [relation, head, tail] triples."""
    gold: Items = {(str(kind), a, b) for kind, ids1, ids2 in relations for a in ids1 for b in ids2}
    index: dict[str, set[str]] = {}
    for _, text, _, ids, *_ in entities:
        index.setdefault(str(text).strip().casefold(), set()).update(ids)
    items: Items = set()
    for relation, head, tail in predicted or []:
        first, second = head.strip().casefold(), tail.strip().casefold()
        readings = {(relation, a, b) for a in sorted(index.get(first, ())) for b in sorted(index.get(second, ()))}
        if not readings:
            items.add((relation, f"text:{first}", f"text:{second}"))
        else:
            items |= (readings & gold) or readings
    return gold, items


def concept_pair_prf(examples: Iterable[tuple[KbRows, KbRows, list[list[str]] | None]]) -> dict[str, float]:
    """Document-level concept-pair micro P/R/F1 over (gold relations, gold entities, predicted triples) per document."""
    return set_prf(concept_pair_items(relations, entities, predicted) for relations, entities, predicted in examples)


def ner_items(value: dict[str, list[str]] | None, types: Sequence[str] | None = None, collapse: bool = False) -> Items:
    """(mention, type) items of a spans-by-type answer, restricted to ``types``; ``collapse``: one type for all."""
    items: Items = set()
    for label, mentions in (value or {}).items():
        if types is not None and label not in types:
            continue
        for mention in mentions:
            items.add((mention.strip(), "*" if collapse else label))
    return items


def triple_items(value: list[list[str]] | None) -> Items:
    """(head, relation, tail) items of a triples answer stored as [relation, head, tail]."""
    return {(head.strip(), relation, tail.strip()) for relation, head, tail in (value or [])}


def project_bio(tokens: Sequence[str], mentions: Iterable[Item]) -> list[str]:
    """IOB2 tags for ``tokens`` from (mention, type) strings: each occurrence of the mention's tokens (split on
    whitespace) is tagged, longer mentions first, never over an already tagged token."""
    tags = ["O"] * len(tokens)
    for mention, label in sorted(set(mentions), key=lambda item: (-len(item[0].split()), item)):
        parts = mention.split()
        if not parts:
            continue
        width = len(parts)
        for start in range(len(tokens) - width + 1):
            if list(tokens[start : start + width]) == parts and all(tag == "O" for tag in tags[start : start + width]):
                tags[start] = f"B-{label}"
                for offset in range(1, width):
                    tags[start + offset] = f"I-{label}"
    return tags


def seqeval_scores(gold_tags: list[list[str]], predicted_tags: list[list[str]]) -> dict[str, float]:
    """Entity-level P/R/F1 of BIO tag sequences (``seqeval``, IOB2, strict mode, 0 when undefined)."""
    from seqeval.metrics import f1_score, precision_score, recall_score
    from seqeval.scheme import IOB2

    options: dict[str, Any] = {"mode": "strict", "scheme": IOB2, "zero_division": 0}
    return {
        "seqeval_precision": float(precision_score(gold_tags, predicted_tags, **options)),
        "seqeval_recall": float(recall_score(gold_tags, predicted_tags, **options)),
        "seqeval_f1": float(f1_score(gold_tags, predicted_tags, **options)),
    }


def classification_scores(
    gold: Sequence[str], predicted: Sequence[str | None], labels: Sequence[str]
) -> dict[str, float]:
    """Accuracy, micro-F1 and macro-F1 over ``labels`` (an unparseable prediction is a wrong extra class)."""
    from sklearn.metrics import accuracy_score, f1_score

    guesses = [p if p is not None else UNPARSED for p in predicted]
    known = list(labels)
    return {
        "accuracy": float(accuracy_score(gold, guesses)),
        "micro_f1": float(f1_score(gold, guesses, labels=known, average="micro", zero_division=0)),
        "macro_f1": float(
            f1_score(gold, guesses, labels=sorted(set(gold) | (set(guesses) - {UNPARSED})), average="macro", zero_division=0)
        ),
    }


def binary_f1(gold: Sequence[str], predicted: Sequence[str | None], positive: str) -> dict[str, float]:
    """F1 of the ``positive`` label (yes/no relation detection; an unparseable answer is neither label)."""
    from sklearn.metrics import f1_score

    guesses = [p if p is not None else UNPARSED for p in predicted]
    return {"f1_positive": float(f1_score(gold, guesses, labels=[positive], average="micro", zero_division=0))}


def multilabel_scores(
    gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str] | None], labels: Sequence[str]
) -> dict[str, float]:
    """Micro-F1, macro-F1 (over labels that occur in gold), exact match and accuracy of label sets; labels outside
    ``labels`` are ignored and an unparseable answer is the empty set, except for ``accuracy`` (subset accuracy: the
    share of examples whose parsed set of known labels equals the gold one), where it is wrong."""
    from sklearn.metrics import f1_score
    from sklearn.preprocessing import MultiLabelBinarizer

    binarizer = MultiLabelBinarizer(classes=list(labels))
    known = set(labels)
    y_true = binarizer.fit_transform([[g for g in row if g in known] for row in gold])
    y_pred = binarizer.transform([[p for p in (row or []) if p in known] for row in predicted])
    present = [i for i in range(len(labels)) if y_true[:, i].any()]
    return {
        "micro_f1": float(f1_score(y_true, y_pred, average="micro", zero_division=0)),
        "macro_f1": (
            float(f1_score(y_true[:, present], y_pred[:, present], average="macro", zero_division=0)) if present else 0.0
        ),
        "exact_match": float(np.mean([set(g) == set(p or []) for g, p in zip(gold, predicted)])) if gold else 0.0,
        "accuracy": (
            float(np.mean([p is not None and set(g) & known == set(p) & known for g, p in zip(gold, predicted)])) if gold else 0.0
        ),
    }


def pearson(gold: Sequence[float], predicted: Sequence[float | None], fill: float) -> dict[str, float]:
    """Pearson correlation of predicted and gold scores (an unparseable or non-finite score becomes ``fill``; 0.0
    when either side is constant or there are fewer than two pairs)."""
    from scipy.stats import pearsonr

    guesses = [p if p is not None and math.isfinite(p) else fill for p in predicted]
    if len(gold) < 2 or len(set(guesses)) < 2 or len(set(gold)) < 2:
        return {"pearson": 0.0}
    return {"pearson": float(pearsonr(gold, guesses).statistic)}


def choice_accuracy(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str] | None]) -> dict[str, float]:
    """Multiple-choice or yes/no accuracy: the predicted set of letters (or labels) equals the gold set."""
    correct = [p is not None and sorted(set(p)) == sorted(set(g)) for g, p in zip(gold, predicted)]
    return {"accuracy": float(np.mean(correct)) if correct else 0.0}


def factoid_scores(
    synonyms: Sequence[Sequence[Sequence[str]]], predicted: Sequence[Sequence[str] | None]
) -> dict[str, float]:
    """BioASQ factoid strict/lenient accuracy and MRR over the first five answers (case-insensitive)."""
    strict = lenient = reciprocal = 0.0
    for gold_entities, answers in zip(synonyms, predicted):
        accepted = {name.strip().lower() for entity in gold_entities for name in entity}
        ranks = [rank for rank, answer in enumerate((answers or [])[:5], start=1) if answer.strip().lower() in accepted]
        if ranks:
            strict += ranks[0] == 1
            lenient += 1
            reciprocal += 1 / ranks[0]
    n = max(len(synonyms), 1)
    return {"strict_accuracy": strict / n, "lenient_accuracy": lenient / n, "mrr": reciprocal / n}


class _JiebaTokenizer:
    """rouge-score tokenizer for Chinese."""

    def tokenize(self, text: str) -> list[str]:
        return chinese_words(text)


def rouge_scores(references: Sequence[str], predictions: Sequence[str | None], language: str) -> dict[str, float]:
    """Mean ROUGE-1/2/L F-measure (rouge-score; jieba words for Chinese).

    A reference with no word to score (punctuation only, e.g. a dialogue reply "？") scores 1 when the prediction
    has none either and 0 otherwise; rouge-score alone gives 0 even to an identical answer there."""
    from rouge_score import rouge_scorer, tokenize

    tokenizer = _JiebaTokenizer() if language == "zh" else None
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=language == "en", tokenizer=tokenizer)
    words = tokenizer.tokenize if tokenizer is not None else lambda text: tokenize.tokenize(text, None)
    totals = {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}
    for reference, prediction in zip(references, predictions):
        if not words(reference):
            both_empty = float(prediction is not None and not words(prediction))
            for key in totals:
                totals[key] += both_empty
            continue
        scores = scorer.score(reference, prediction or "")
        for key in totals:
            totals[key] += scores[key].fmeasure
    n = max(len(references), 1)
    return {key: value / n for key, value in totals.items()}


def bleu(references: Sequence[str], predictions: Sequence[str | None], language: str) -> dict[str, float]:
    """Corpus BLEU (sacrebleu) on a 0-1 scale, at most 1: sacrebleu computes a perfect corpus's score as exp(log 100)
    = 100.00000000000004, which is 1.0 here."""
    from sacrebleu import BLEU

    metric = BLEU(tokenize="zh" if language == "zh" else "13a")
    return {"bleu": min(1.0, metric.corpus_score([p or "" for p in predictions], [list(references)]).score / 100)}
