"""PubMedQA (``ori_pqal.json``): a JSON object keyed by PMID, one yes/no/maybe question per abstract.

Each entry ``{QUESTION, CONTEXTS[], LABELS[], MESHES[], YEAR, reasoning_required_pred,
reasoning_free_pred, final_decision, LONG_ANSWER}`` becomes one ``qa`` record of type ``yesno`` with the
choices ``yes``/``no``/``maybe`` and the answer ``[final_decision]``; the record key and document id are
the PMID (so a catalog ``derive_splits: id_file`` can place it). The context is the abstract without its
conclusion: the CONTEXTS paragraphs joined by ``context_separator`` (one newline by default); their
section names (LABELS, parallel to CONTEXTS) stay in ``meta.context_labels`` unless ``label_prefixes`` asks
for ``"LABEL: text"`` paragraphs. The conclusion (LONG_ANSWER), MeSH terms, year and the two automatic
predictions of the PQA-L release are kept in ``meta``.

A PMID given twice is read once: the later entry is rejected (``duplicate PMID``). An entry without a
question, a list of contexts, parallel labels or a final decision in the choices is rejected with its PMID;
a file that is not a JSON object keyed by PMID is a :class:`ConvertError`.

The raw source text of a record (``ReadContext.keep_raw``) is its PMID's entry as a one-key object,
``json.dumps({PMID: entry}, ensure_ascii=False)`` (keys in file order).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from biohub.converters.base import ConvertError, Item, ReadContext, Reader, expand_paths, parse_json, read_text
from biohub.converters.problems import Reason, RecordRejected
from biohub.converters.registry import register
from biohub.schema import QARecord

CHOICES = ["yes", "no", "maybe"]


@dataclass(slots=True)
class PubMedQAOptions:
    """``context_separator``: string between the CONTEXTS paragraphs; ``label_prefixes``: write each paragraph
    as ``"LABEL: text"`` (the section names are kept in ``meta.context_labels`` either way)."""

    context_separator: str = "\n"
    label_prefixes: bool = False



def _entries(path: Path) -> list[tuple[str, Any]]:
    """The file's (PMID, entry) pairs in file order, a repeated PMID included (a plain JSON parse would keep only
    its last entry, silently); a file that is not a JSON object is a :class:`ConvertError`."""
    objects: list[list[tuple[str, Any]]] = []  # every object's pairs, innermost first: the file's own object is last

    def keep(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        objects.append(pairs)
        return dict(pairs)

    data = parse_json(path, read_text(path), object_pairs_hook=keep)
    if not isinstance(data, dict):
        raise ConvertError(path, f"expected a JSON object keyed by PMID, found a {type(data).__name__}")
    return objects[-1]

@register
class PubMedQAReader(Reader):
    """Reads PubMedQA's PMID-keyed entries into yes/no/maybe ``qa`` records over the abstract without its conclusion."""

    name = "pubmedqa"
    schema = "qa"
    description = "PubMedQA ori_pqal.json (PMID -> QUESTION/CONTEXTS/LABELS/final_decision/LONG_ANSWER): yes/no/maybe QA"
    Options = PubMedQAOptions

    def read(self, paths: list[Path], ctx: ReadContext) -> Iterator[Item]:
        """One ``qa`` record or rejection per PMID entry of every file, in file order."""
        for path in expand_paths(paths, ".json"):
            for pmid, entry in _entries(path):
                yield from self.rejecting(ctx, path, pmid, partial(self._convert, path, pmid, entry, ctx), document_id=pmid)

    def _convert(self, path: Path, pmid: str, entry: Any, ctx: ReadContext) -> Item:
        if (first := ctx.read_before(pmid)) is not None:
            detail = f"PMID {pmid} given again (first read at {first}); the later entry is not converted"
            raise RecordRejected(Reason.DUPLICATE_PMID, detail)
        ctx.note_read(pmid, f"{path.name} PMID {pmid}")
        if not isinstance(entry, dict):
            raise RecordRejected("not a JSON object", f"PMID {pmid}: {type(entry).__name__}", locator=pmid, document_id=pmid)
        missing = [k for k in ("QUESTION", "CONTEXTS", "LABELS", "final_decision") if k not in entry]
        if missing:
            raise RecordRejected("missing field", f"PMID {pmid}: no {', '.join(missing)}", locator=pmid, document_id=pmid)
        question, contexts, labels = entry["QUESTION"], entry["CONTEXTS"], entry["LABELS"]
        if not isinstance(question, str) or not question.strip():
            raise RecordRejected("empty question", f"PMID {pmid}: QUESTION {question!r}", locator=pmid, document_id=pmid)
        if not _strings(contexts) or not _strings(labels) or len(contexts) != len(labels):
            detail = f"PMID {pmid}: CONTEXTS and LABELS must be parallel lists of strings"
            raise RecordRejected("contexts and labels disagree", detail, locator=pmid, document_id=pmid)
        decision = entry["final_decision"]
        if decision not in CHOICES:
            detail = f"PMID {pmid}: final_decision {decision!r} not in {CHOICES}"
            raise RecordRejected("answer not among choices", detail, locator=pmid, document_id=pmid)
        paragraphs = [f"{label}: {text}" for label, text in zip(labels, contexts)] if self.options.label_prefixes else contexts
        meta = {
            "context_labels": labels,
            "long_answer": entry.get("LONG_ANSWER", ""),
            "meshes": entry.get("MESHES", []),
            "year": entry.get("YEAR"),
            "reasoning_required_pred": entry.get("reasoning_required_pred"),
            "reasoning_free_pred": entry.get("reasoning_free_pred"),
            "source": {"path": path.name, "record": pmid},
        }
        record = QARecord(
            **ctx.common(pmid, meta=meta),
            question=question.strip(),
            type="yesno",
            choices=list(CHOICES),
            context=self.options.context_separator.join(paragraphs),
            answer=[decision],
        )
        ctx.keep_raw(record.id, lambda: json.dumps({pmid: entry}, ensure_ascii=False))
        return record


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(x, str) for x in value)
