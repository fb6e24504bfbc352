"""The ``--limit`` sample of a row: stratified by gold label where the examples carry one, else simple.

Where every example of a row answers with one label (answer kinds ``label``: classification, entailment, sentence
pairs, yes/no questions, binary relations; and ``choices``: multiple choice, whose label is the set of correct
letters), the sample is *stratified* by that gold label: each label gets ``limit * size / total`` examples,
rounded down, and the examples left over go one each to the labels with the largest remainders (ties: the larger
label, then the label's name), so every label whose quota is not zero is present and a label holding 22% of the row
fills 22 of a 100-example sample. Within a label the examples are a seeded simple sample; the chosen examples keep
their order in the data. Rows of any other kind (spans, structures, text) get a seeded simple sample. Either way the
sample depends only on the data, the limit and the seed, so it is the same for every model.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from typing import Any

from biohub.templates.library import families

__all__ = ["STRATIFIED_KINDS", "allocate", "sample_indices", "stratified_indices", "strata"]

STRATIFIED_KINDS = ("label", "choices")  # answer kinds whose gold is one label (a letter set for choices)


def strata(rows: Sequence[dict[str, Any]]) -> list[str] | None:
    """The gold label of each example row (canonical JSON of its gold value; a choice's letters sorted) when every
    row's task family answers with one label (:data:`STRATIFIED_KINDS`); None otherwise."""
    if not rows or any(families()[row["task"]].kind not in STRATIFIED_KINDS for row in rows):
        return None
    labels = []
    for row in rows:
        value = json.loads(row["gold"])["value"]
        labels.append(json.dumps(sorted(value) if isinstance(value, list) else value, ensure_ascii=False))
    return labels


def allocate(sizes: dict[str, int], limit: int) -> dict[str, int]:
    """Proportional allocation of ``limit`` draws over strata of ``sizes`` with largest-remainder rounding (ties: the
    larger stratum, then the name); ``limit`` must not exceed the total."""
    total = sum(sizes.values())
    quotas = {label: limit * size // total for label, size in sizes.items()}
    remainders = {label: limit * size % total for label, size in sizes.items()}
    left = limit - sum(quotas.values())
    for label in sorted(sizes, key=lambda label: (-remainders[label], -sizes[label], label))[:left]:
        quotas[label] += 1
    return quotas


def stratified_indices(labels: Sequence[str], limit: int, rng: random.Random) -> list[int]:
    """``limit`` indices of ``labels``, stratified (:func:`allocate`; a seeded sample within each label, labels in
    sorted order), in increasing order."""
    members: dict[str, list[int]] = {}
    for index, label in enumerate(labels):
        members.setdefault(label, []).append(index)
    quotas = allocate({label: len(found) for label, found in members.items()}, limit)
    picked = [index for label in sorted(members) for index in rng.sample(members[label], quotas[label])]
    return sorted(picked)


def sample_indices(rows: Sequence[dict[str, Any]], limit: int, rng: random.Random) -> list[int]:
    """The indices of a row's ``--limit`` sample (see the module doc), in increasing order."""
    labels = strata(rows)
    if labels is None:
        return sorted(rng.sample(range(len(rows)), limit))
    return stratified_indices(labels, limit, rng)
