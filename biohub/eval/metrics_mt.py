"""Translation metrics (sacreBLEU) and the ``translation`` scorer.

- **BLEU**: corpus BLEU of ``sacrebleu`` (its defaults: up to 4-grams, brevity penalty), with the ``zh`` tokenizer
  when the references are Chinese and ``13a`` otherwise, on a 0-1 scale (:func:`biohub.eval.metrics.bleu`).
- **chrF**: corpus chrF of ``sacrebleu`` (character n-grams up to 6, no word n-grams, beta 2; whitespace ignored, so
  the segmentation of Chinese references does not matter), on a 0-1 scale.

The ``translation`` scorer reads each example's target language from its gold (``target_language``: a translation
into English and one into Chinese are tokenized differently) and scores each target language apart (``bleu[zh]``,
``chrf[en]``, ...); ``bleu`` / ``chrf`` are their mean over the target languages of the row, so on a row of one
direction (the ``all`` suite gives each language of a task its own row; translations are prompted in their source
language) they are that direction's values. A missing output counts as an empty translation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from biohub.eval.metrics import bleu
from biohub.templates.registry import SCORERS

if TYPE_CHECKING:
    from biohub.eval.score import Judged, TokensLookup
    from biohub.eval.suite import Entry

__all__ = ["chrf", "score_translation", "translation_scores"]


def chrf(references: Sequence[str], predictions: Sequence[str | None]) -> dict[str, float]:
    """Corpus chrF (sacrebleu's defaults: character 6-grams, beta 2) on a 0-1 scale (at most 1, as :func:`bleu`); a
    missing prediction is empty."""
    from sacrebleu import CHRF

    return {"chrf": min(1.0, CHRF().corpus_score([p or "" for p in predictions], [list(references)]).score / 100)}


def translation_scores(references: Sequence[str], predictions: Sequence[str | None], target_language: str) -> dict[str, float]:
    """BLEU (tokenized for ``target_language``) and chrF of translations into one language."""
    return bleu(references, predictions, target_language) | chrf(references, predictions)


@SCORERS.register("translation")
def score_translation(entry: Entry, judged: Sequence[Judged], tokens: TokensLookup | None) -> dict[str, float]:
    """Translations: corpus BLEU and chrF per target language (``bleu[zh]``, ``chrf[en]``, ...) and, as ``bleu`` /
    ``chrf``, their mean over the target languages present (the one direction's values on a row of one direction)."""
    by_target: dict[str, tuple[list[str], list[str]]] = {}
    for j in judged:
        references, outputs = by_target.setdefault(str(j.gold.get("target_language") or j.language), ([], []))
        references.append(str(j.gold["value"]))
        outputs.append(j.output if j.parse_ok and j.output is not None else "")
    values: dict[str, float] = {}
    for target, (references, outputs) in sorted(by_target.items()):
        values |= {f"{name}[{target}]": value for name, value in translation_scores(references, outputs, target).items()}
    for name in ("bleu", "chrf"):
        values[name] = sum(values[f"{name}[{target}]"] for target in by_target) / len(by_target)
    return values
