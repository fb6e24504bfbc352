"""Scorers of the normalisation and coreference families, registered by name in
:data:`biohub.templates.registry.SCORERS` (imported by :mod:`biohub.eval.score`): ``concepts`` (``nen``,
``dialogue_symptoms``: :mod:`biohub.eval.metrics_norm`) and ``coref`` (:mod:`biohub.eval.metrics_coref`)."""

from __future__ import annotations

from collections.abc import Sequence

from biohub.eval.metrics_coref import coref_scores
from biohub.eval.metrics_norm import concept_set_prf, mention_concept_prf
from biohub.eval.score import Judged, TokensLookup, _golds_preds, _named
from biohub.eval.suite import Entry
from biohub.templates.registry import SCORERS

__all__ = ["score_concepts", "score_coref"]


@SCORERS.register("concepts")
def score_concepts(entry: Entry, judged: Sequence[Judged], tokens: TokensLookup | None) -> dict[str, float]:
    """Normalisation answers: P/R/F1 over (mention, concept) pairs and over the set of concepts per example."""
    golds, preds = _golds_preds(judged)
    pairs = list(zip(golds, preds))
    return _named(mention_concept_prf(pairs), "mention_concept") | _named(concept_set_prf(pairs), "concept_set")


@SCORERS.register("coref")
def score_coref(entry: Entry, judged: Sequence[Judged], tokens: TokensLookup | None) -> dict[str, float]:
    """Coreference clusters: MUC, B³, CEAF-e and the CoNLL F1 over the row's examples as one corpus."""
    golds, preds = _golds_preds(judged)
    return coref_scores(zip(golds, preds))
