"""The conversion ledger: for every dataset and split, how many source records were read, converted and
rejected (by reason), which annotations were dropped or repaired (by reason), and what the converted records hold.

Readers that count the annotations they read (``ReadContext.count_read``) also get, per unit (``entities``,
``relations``, ...), ``{read, converted, dropped, in_rejected_records}`` with
``read == converted + dropped + in_rejected_records``; a difference would be an annotation lost silently."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from biohub.converters.base import Defect, Rejection
from biohub.schema import DialogueRecord, KBRecord, PairsRecord, QARecord, Record, TextRecord


@dataclass
class SplitLedger:
    """Counts of one split. ``read == converted + rejected`` always holds. ``defects`` counts every defect by
    reason; ``dropped`` those that lost source content (``--strict`` fails on them)."""

    converted: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    defects: Counter[str] = field(default_factory=Counter)
    counts: dict[str, Any] = field(default_factory=dict)
    dropped: int = 0
    annotations_read: Counter[str] = field(default_factory=Counter)  # unit -> annotations the reader read
    annotations_dropped: Counter[str] = field(default_factory=Counter)  # unit -> dropped as defects
    annotations_rejected: Counter[str] = field(default_factory=Counter)  # unit -> inside records rejected after reading

    @property
    def rejected(self) -> int:
        """Source records rejected, whatever the reason."""
        return sum(self.reasons.values())

    @property
    def read(self) -> int:
        """Source records read: every one was either converted or rejected."""
        return self.converted + self.rejected

    def add_rejection(self, rejection: Rejection) -> None:
        """Count one rejected source record under its reason."""
        self.reasons[rejection.reason] += 1

    def add_defect(self, defect: Defect) -> None:
        """Count one defect under its reason; a dropped one also counts towards ``dropped`` and its unit's dropped annotations."""
        self.defects[defect.reason] += 1
        if defect.dropped:
            self.dropped += 1
            if defect.annotation:
                self.annotations_dropped[defect.annotation] += 1

    def annotations(self) -> dict[str, dict[str, int]]:
        """Per unit the reader counted: annotations read, converted (in converted records), dropped (as defects)
        and inside records rejected after reading (``counts`` must be filled first)."""
        return {
            unit: {
                "read": read,
                "converted": int(self.counts.get(unit, 0)),
                "dropped": self.annotations_dropped[unit],
                "in_rejected_records": self.annotations_rejected[unit],
            }
            for unit, read in sorted(self.annotations_read.items())
        }

    def unaccounted(self) -> dict[str, int]:
        """Units whose read count is not converted + dropped + in rejected records (a silent loss, or a reader bug)."""
        return {
            unit: row["read"] - row["converted"] - row["dropped"] - row["in_rejected_records"]
            for unit, row in self.annotations().items()
            if row["read"] != row["converted"] + row["dropped"] + row["in_rejected_records"]
        }

    def unaccounted_total(self) -> int:
        """How many annotations are unaccounted for, summed over units by absolute value: a unit with more
        converted than read (negative) is a reader bug too, and must never cancel another unit's loss or a drop."""
        return sum(abs(gap) for gap in self.unaccounted().values())

    def unaccounted_lines(self, where: str) -> list[str]:
        """One phrase per unaccounted unit, e.g. ``"cdr/train entities: 2 fewer accounted for than read"``."""
        return [
            f"{where} {unit}: {gap} fewer accounted for than read"
            if gap > 0
            else f"{where} {unit}: {-gap} more converted than read"
            for unit, gap in self.unaccounted().items()
        ]

    def to_json(self) -> dict[str, Any]:
        """The split's counts as the ledger file writes them (reasons and defects sorted; annotations when counted)."""
        data: dict[str, Any] = {
            "read": self.read,
            "converted": self.converted,
            "rejected": self.rejected,
            "reasons": dict(sorted(self.reasons.items())),
            "defects": dict(sorted(self.defects.items())),
            "dropped": self.dropped,
            "counts": self.counts,
        }
        if self.annotations_read:
            data["annotations"] = self.annotations()
        return data


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
        counts["modifications"] = sum(len(r.modifications) for r in kb)
        counts["normalizations"] = sum(len(e.normalized) for r in kb for e in r.entities)
        counts["entity_types"] = _sorted(Counter(e.type for r in kb for e in r.entities))
        counts["relation_types"] = _sorted(Counter(x.type for r in kb for x in r.relations))
    elif isinstance(first, QARecord):
        qa = [r for r in records if isinstance(r, QARecord)]
        counts["qa_types"] = _sorted(Counter(r.type for r in qa))
        counts["answers"] = _sorted(Counter(a for r in qa if r.type == "yesno" for a in r.answer))
    elif isinstance(first, TextRecord):
        counts["labels"] = _sorted(Counter(label for r in records if isinstance(r, TextRecord) for label in r.labels))
    elif isinstance(first, PairsRecord):
        pairs = [r for r in records if isinstance(r, PairsRecord)]
        counts["labels"] = _sorted(Counter(r.label for r in pairs if r.label))
        counts["scored"] = sum(1 for r in pairs if r.score is not None)
    elif isinstance(first, DialogueRecord):
        dialogues = [r for r in records if isinstance(r, DialogueRecord)]
        counts["turns"] = sum(len(r.turns) for r in dialogues)
        counts["entities"] = sum(len(t.entities) for r in dialogues for t in r.turns)
        counts["normalizations"] = sum(len(e.normalized) for r in dialogues for t in r.turns for e in t.entities)
    return counts


def _sorted(counter: Counter[str]) -> dict[str, int]:
    return dict(sorted(counter.items()))
