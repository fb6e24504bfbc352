"""Entity normalisation metrics (families ``nen`` and ``dialogue_symptoms``; answers of kind ``concepts``).

- **(mention, concept) P/R/F1, strict micro** (``*_mention_concept``, the normalisation metric of issue 21): per
  example, the gold and predicted items are the *sets* of (mention text, concept) pairs — a mention listed with two
  concepts is two pairs, a mention repeated in the text is one; TP = |gold ∩ predicted| summed over the examples,
  P = TP / (TP + FP), R = TP / (TP + FN), F1 their harmonic mean (0 when undefined). Mention and concept match
  exactly after trimming surrounding whitespace (no case folding): a concept is ``<db>:<id>`` or a standard term.
- **Concept-set P/R/F1, strict micro** (``*_concept_set``): the same over the set of concepts per example, whatever
  mention names them. For CHIP-CDN this is the official CBLUE definition: per raw diagnosis, the set of predicted
  standard terms against the gold ones ("##"-joined in the submission file), micro-averaged over the texts. For the
  documents of BioRED / tmVar / OSIRIS it is the BioCreative-style document-level concept-id evaluation; for CMDD
  the set of standard symptoms of a dialogue.

An answer that did not parse has no items (its gold items count as false negatives).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from biohub.eval.metrics import set_prf
from biohub.templates.answers_norm import concept_pairs

__all__ = ["concept_set_prf", "mention_concept_prf"]


def mention_concept_prf(examples: Iterable[tuple[Any, Any]]) -> dict[str, float]:
    """Strict micro P/R/F1 (and tp/fp/fn) over the (mention, concept) pairs of (gold, predicted) ``concepts``
    structures, one pair of structures per example (None: an answer that did not parse)."""
    return set_prf((concept_pairs(gold), concept_pairs(predicted)) for gold, predicted in examples)


def concept_set_prf(examples: Iterable[tuple[Any, Any]]) -> dict[str, float]:
    """Strict micro P/R/F1 (and tp/fp/fn) over the set of concepts of each example, whatever mention names them."""

    def concepts(value: Any) -> set[tuple[str, ...]]:
        return {(concept,) for _, concept in concept_pairs(value)}

    return set_prf((concepts(gold), concepts(predicted)) for gold, predicted in examples)
