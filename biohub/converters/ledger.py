"""The conversion ledger: for every dataset and split, how many source records were read, converted and
rejected (by reason), which annotations were dropped (by reason), and what the converted records hold."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from biohub.converters.base import Defect, Rejection
from biohub.schema import KBRecord, Record


@dataclass
class SplitLedger:
    """Counts of one split. ``read == converted + rejected`` always holds."""

    converted: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    defects: Counter[str] = field(default_factory=Counter)
    counts: dict[str, Any] = field(default_factory=dict)

    @property
    def rejected(self) -> int:
        return sum(self.reasons.values())

    @property
    def read(self) -> int:
        return self.converted + self.rejected

    def add_rejection(self, rejection: Rejection) -> None:
        self.reasons[rejection.reason] += 1

    def add_defect(self, defect: Defect) -> None:
        self.defects[defect.reason] += 1

    def to_json(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "converted": self.converted,
            "rejected": self.rejected,
            "reasons": dict(sorted(self.reasons.items())),
            "defects": dict(sorted(self.defects.items())),
            "counts": self.counts,
        }


def record_counts(records: list[Record]) -> dict[str, Any]:
    """What a split's converted records hold, in the units corpus documentation uses."""
    counts: dict[str, Any] = {
        "records": len(records),
        "documents": len({r.document_id for r in records}),
        "labeled": sum(r.labeled for r in records),
    }
    if not records:
        return counts
    first = records[0]
    if isinstance(first, KBRecord):
        kb = [r for r in records if isinstance(r, KBRecord)]
        counts["passages"] = sum(len(r.passages) for r in kb)
        counts["entities"] = sum(len(r.entities) for r in kb)
        counts["relations"] = sum(len(r.relations) for r in kb)
        counts["events"] = sum(len(r.events) for r in kb)
        counts["coreferences"] = sum(len(r.coreferences) for r in kb)
        counts["entity_types"] = _sorted(Counter(e.type for r in kb for e in r.entities))
        counts["relation_types"] = _sorted(Counter(x.type for r in kb for x in r.relations))
    elif first.schema == "qa":
        counts["qa_types"] = _sorted(Counter(r.type for r in records))  # type: ignore[union-attr]
        counts["answers"] = _sorted(
            Counter(a for r in records if r.type == "yesno" for a in r.answer)  # type: ignore[union-attr]
        )
    elif first.schema == "text":
        counts["labels"] = _sorted(Counter(label for r in records for label in r.labels))  # type: ignore[union-attr]
    elif first.schema == "pairs":
        counts["labels"] = _sorted(Counter(r.label for r in records if r.label))  # type: ignore[union-attr]
        counts["scored"] = sum(r.score is not None for r in records)  # type: ignore[union-attr]
    elif first.schema == "dialogue":
        counts["turns"] = sum(len(r.turns) for r in records)  # type: ignore[union-attr]
    return counts


def _sorted(counter: Counter[str]) -> dict[str, int]:
    return dict(sorted(counter.items()))
