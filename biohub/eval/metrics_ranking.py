"""Answer-selection metrics (MEDIQA 2019 QA, cMedQA) and the ``answer_selection`` scorer.

An example is one question with ``n`` numbered candidates; the gold is the list of correct candidates, best first,
and an answer lists the candidates the model judges correct, best first (:mod:`biohub.templates.answers_ranking`).
Every candidate thus has a gold label (1: in the gold list) and a predicted label (1: in the answer).

- **Per-candidate classification** (MEDIQA 2019 QA's official accuracy; cMedQA's F1 of the matching class):
  ``accuracy`` = candidates whose predicted label equals the gold one / all candidates; ``micro_f1`` /
  ``macro_f1`` = scikit-learn's micro F1 over labels 0 and 1 / macro F1 over the labels present; ``f1_positive`` =
  F1 of label 1. An answer that does not parse (or is missing)
  gets every candidate of its question wrong (an extra class, as unparseable labels elsewhere).
- **Rank measures** (the MEDIQA 2019 QA evaluation script ``Eval_Scripts/mediqa2019_evaluator_allTasks_final.py``,
  which reads a submission's candidates labelled correct in rank order), over the questions with at least one
  correct candidate: ``precision_at_1`` = share of those questions whose first listed candidate is correct;
  ``precision_at_5`` / ``precision_at_10`` = correct candidates among the first 5 / 10 listed, summed over questions,
  divided by the sum of min(k, correct candidates of the question); ``mrr`` = mean over those questions of 1 / the
  rank of the first correct candidate listed (0 when none is). The script's MRR takes the rank of the first
  candidate labelled correct whether it is correct or not; ours counts a correct one, the usual definition.
  Spearman's rho of the script (rank correlation between the submitted and reference order of the correct
  candidates found) is not computed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from biohub.eval.metrics import UNPARSED
from biohub.templates.registry import SCORERS

if TYPE_CHECKING:
    from biohub.eval.score import Judged, TokensLookup
    from biohub.eval.suite import Entry

__all__ = ["candidate_labels", "rank_scores", "score_answer_selection", "selection_scores"]

Ranking = Sequence[int]
CUTOFFS = (1, 5, 10)


def candidate_labels(count: int, ranking: Ranking | None) -> list[str]:
    """The label of each of ``count`` candidates: ``"1"`` when ``ranking`` lists it, else ``"0"``; every candidate
    gets the unparseable class when there is no ranking."""
    if ranking is None:
        return [UNPARSED] * count
    chosen = set(ranking)
    return ["1" if number in chosen else "0" for number in range(1, count + 1)]


def selection_scores(examples: Sequence[tuple[int, Ranking, Ranking | None]]) -> dict[str, float]:
    """Per-candidate accuracy, micro-F1, macro-F1 and F1 of label 1 (scikit-learn) over (candidates, gold, predicted)
    examples."""
    from sklearn.metrics import accuracy_score, f1_score

    gold: list[str] = []
    predicted: list[str] = []
    for count, gold_ranking, ranking in examples:
        gold.extend(candidate_labels(count, gold_ranking))
        predicted.extend(candidate_labels(count, ranking))
    if not gold:
        return {"accuracy": 0.0, "micro_f1": 0.0, "macro_f1": 0.0, "f1_positive": 0.0}
    present = sorted(set(gold) | (set(predicted) - {UNPARSED}))
    return {
        "accuracy": float(accuracy_score(gold, predicted)),
        "micro_f1": float(f1_score(gold, predicted, labels=["0", "1"], average="micro", zero_division=0)),
        "macro_f1": float(f1_score(gold, predicted, labels=present, average="macro", zero_division=0)),
        "f1_positive": float(f1_score(gold, predicted, labels=["1"], average="micro", zero_division=0)),
    }


def rank_scores(examples: Sequence[tuple[Ranking, Ranking | None]], cutoffs: Sequence[int] = CUTOFFS) -> dict[str, float]:
    """MRR and precision at each cutoff (see the module doc) over (gold, predicted) rankings; questions without a
    correct candidate are left out, and every value is 0.0 when no question has one."""
    reciprocal = 0.0
    hits = dict.fromkeys(cutoffs, 0)
    possible = dict.fromkeys(cutoffs, 0)
    questions = 0
    for gold_ranking, ranking in examples:
        correct = set(gold_ranking)
        if not correct:
            continue
        questions += 1
        listed = list(ranking or [])
        first = next((rank for rank, number in enumerate(listed, start=1) if number in correct), None)
        reciprocal += 1 / first if first else 0.0
        for k in cutoffs:
            hits[k] += sum(number in correct for number in listed[:k])
            possible[k] += min(k, len(correct))
    values = {"mrr": reciprocal / questions if questions else 0.0}
    for k in cutoffs:
        # P@1: possible[1] is the number of questions, as the script divides P@1 by the questions
        values[f"precision_at_{k}"] = hits[k] / possible[k] if possible[k] else 0.0
    return values


@SCORERS.register("answer_selection")
def score_answer_selection(entry: Entry, judged: Sequence[Judged], tokens: TokensLookup | None) -> dict[str, float]:
    """Answer selection: per-candidate accuracy / micro-F1 / macro-F1 / F1 of the correct class, MRR and precision at 1,
    5, 10."""
    examples = [(len(j.labels), list(j.gold["value"]), j.parsed if j.parse_ok else None) for j in judged]
    return selection_scores(examples) | rank_scores([(gold, predicted) for _, gold, predicted in examples])
