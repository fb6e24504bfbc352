"""Per-dataset caps and temperature-based mixing, seeded and order-independent.

Selection and order use a hash of ``(seed, salt, example id)``, so results do not depend on the order datasets
were processed in, and the same recipe + seed give the same mix.

Temperature mixing: dataset i (n_i examples) gets a share proportional to ``n_i ** (1 / T)`` of a mix as large as
the sum of the n_i. T = 1 keeps each dataset's size; larger T up-samples small datasets (whole copies first, then a
seeded sample; copies get ids ``<id>#<k>``) and down-samples large ones.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from biohub.templates.example import InstructionExample
from biohub.text import seeded_digest


def cap(examples: Sequence[InstructionExample], limit: int | None, seed: int, salt: str) -> list[InstructionExample]:
    """At most ``limit`` examples: a seeded sample, kept in their original order."""
    if limit is None or len(examples) <= limit:
        return list(examples)
    chosen = set(sorted(range(len(examples)), key=lambda i: seeded_digest(seed, salt, examples[i].id))[:limit])
    return [example for index, example in enumerate(examples) if index in chosen]


def shares(sizes: dict[str, int], temperature: float) -> dict[str, int]:
    """Examples per dataset in the mix (largest-remainder rounding; the total equals the sum of the sizes)."""
    total = sum(sizes.values())
    weights = {name: size ** (1 / temperature) for name, size in sizes.items() if size}
    norm = sum(weights.values())
    if not norm:
        return {name: 0 for name in sizes}
    exact = {name: total * weight / norm for name, weight in weights.items()}
    counts = {name: math.floor(value) for name, value in exact.items()}
    leftover = total - sum(counts.values())
    for name in sorted(exact, key=lambda n: (counts[n] - exact[n], n))[:leftover]:
        counts[name] += 1
    return {name: counts.get(name, 0) for name in sizes}


def mix(groups: dict[str, Sequence[InstructionExample]], temperature: float, seed: int, salt: str) -> list[InstructionExample]:
    """One shuffled mix of the groups (datasets) with temperature-based shares."""
    counts = shares({name: len(group) for name, group in groups.items()}, temperature)
    mixed: list[InstructionExample] = []
    for name, group in groups.items():
        want = counts[name]
        copies, rest = divmod(want, len(group)) if group else (0, 0)
        for copy in range(copies):
            mixed.extend(group if copy == 0 else [dataclasses.replace(e, id=f"{e.id}#{copy}") for e in group])
        sample = sorted(group, key=lambda e: seeded_digest(seed, f"{salt}\x00{name}", e.id))[:rest]
        mixed.extend(sample if copies == 0 else [dataclasses.replace(e, id=f"{e.id}#{copies}") for e in sample])
    return sorted(mixed, key=lambda e: seeded_digest(seed, f"{salt}\x00order", e.id))
