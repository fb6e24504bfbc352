"""Coreference metrics (family ``coref``; answers of kind ``clusters``): MUC, B³, CEAF-e and their average, the
CoNLL-2012 F1, computed by the ``scorch`` library (``scorch.scores``: the formulas of Pradhan et al. 2014, "Scoring
Coreference Partitions of Predicted Mentions: A Reference Implementation").

- A mention is identified by its example, its text (trimmed) and its occurrence number: ``(example, text, k)``.
  Clusters of fewer than two distinct mentions are left out on both sides (they link nothing; the CoNLL-2012 data
  annotate no singletons), and clusters that share a mention are merged (coreference is transitive).
- **MUC** (Vilain et al. 1995): R = Σ_k (|k| − |p(k, response)|) / Σ_k (|k| − 1) over the key (gold) clusters k,
  where p(k, response) is the partition of k induced by the response clusters (a mention in no response cluster is a
  part of its own); P the same with key and response swapped.
- **B³** (Bagga and Baldwin 1998): R = Σ_k Σ_r |k ∩ r|² / |k| / Σ_k |k|; P = Σ_r Σ_k |r ∩ k|² / |r| / Σ_r |r|.
- **CEAF-e** (Luo 2005, entity-based): φ(k, r) = 2 |k ∩ r| / (|k| + |r|); the one-to-one alignment A of key and
  response clusters maximising Σ φ (Hungarian algorithm); R = Σ φ(k, A(k)) / |key clusters|, P = the same sum /
  |response clusters|.
- F1 = 2PR / (P + R) for each; ``conll_f1`` = (MUC F1 + B³ F1 + CEAF-e F1) / 3.
- A suite row is scored as one corpus, micro-averaged as the CoNLL reference scorer does (numerators and
  denominators summed over the documents): mentions carry their example, so the clusters of all examples form one
  key and one response partition, and every formula above sums over documents. Edge cases follow scorch: a value
  whose denominator is empty is 0 (no response cluster: P = R = 0). When no key and no response cluster share a
  mention every value is 0, as the formulas give (scorch's CEAF-e fails there: it divides by -0.0). A row whose gold
  and predictions both hold no cluster at all scores 1 on every value (nothing to find, nothing found).
- An answer that did not parse has no clusters.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

from scorch import scores

from biohub.templates.answers_coref import mention_key, merge_clusters

__all__ = ["COREF_METRICS", "coref_scores", "partition"]

COREF_METRICS = {"muc": scores.muc, "b3": scores.b_cubed, "ceafe": scores.ceaf_e}


def partition(example: Hashable, clusters: Any) -> list[set[tuple[Hashable, str, int]]]:
    """The clusters of one example (a ``clusters`` structure, None for an unparsed answer) as sets of mentions
    ``(example, text, occurrence)``: texts trimmed, clusters sharing a mention merged, fewer than two mentions out."""
    trimmed = [[(mention_key(m)[0].strip(), mention_key(m)[1]) for m in cluster] for cluster in clusters or []]
    merged = merge_clusters(trimmed)
    return [{(example, text, occurrence) for text, occurrence in cluster} for cluster in merged]


def coref_scores(examples: Iterable[tuple[Any, Any]]) -> dict[str, float]:
    """MUC, B³ and CEAF-e precision/recall/F1 and the CoNLL F1 of (gold, predicted) clusters, one pair per example,
    scored as one corpus (see the module doc)."""
    key: list[set[Any]] = []
    response: list[set[Any]] = []
    for index, (gold, predicted) in enumerate(examples):
        key.extend(partition(index, gold))
        response.extend(partition(index, predicted))
    values: dict[str, float] = {}
    shared = set().union(*key) & set().union(*response)
    for name, metric in COREF_METRICS.items():
        if not key and not response:
            recall, precision, f1 = 1.0, 1.0, 1.0
        elif not shared:  # what every formula gives; scorch's CEAF-e would divide by -0.0 here and fail
            recall, precision, f1 = 0.0, 0.0, 0.0
        else:
            recall, precision, f1 = metric(key, response)
        values |= {f"{name}_precision": float(precision), f"{name}_recall": float(recall), f"{name}_f1": float(f1)}
    values["conll_f1"] = sum(values[f"{name}_f1"] for name in COREF_METRICS) / len(COREF_METRICS)
    return values
