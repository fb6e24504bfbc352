"""Hallmarks of Cancer (HoC) corpus: ``text/PMID.txt`` + ``labels/PMID.txt``.

``text/PMID.txt`` holds one tokenised sentence per line. ``labels/PMID.txt`` is one line in which every
sentence's segment starts with a ``<`` marker (the i-th segment labels the i-th non-empty text line; blank
when none); several labels of one sentence are joined by ``AND``, and the levels of one label by ``--``
(``"Sustaining proliferative signaling--Receptors"``; a trailing ``--`` means the level itself). ``NULL``
is the corpus' explicit "no label" and is read as none.

``level: document`` (default) gives one ``text`` record per abstract: the sentences joined by one space,
labels = the union of the sentences' top-level hallmarks (the part before the first ``--``; up to 10
classes), the full per-sentence labels kept in ``meta.sentence_labels``. ``level: sentence`` gives one
record per sentence (key ``PMID-i``, document id PMID, so derived splits keep an abstract together) with the
top-level labels of that sentence and its full labels in meta (``top_level: false`` keeps full labels as
the record labels instead).

The reader takes the folder holding ``text/`` and ``labels/``, or those two folders. A PMID with a text
file but no labels file (or the reverse), a labels line not starting with ``<``, or a segment count that
differs from the sentence count is rejected with its reason.

The raw source text of a record (``ReadContext.keep_raw``) is, at ``level: document``, the text file's content,
the separator line :data:`RAW_SEPARATOR` (``"\n=== labels ===\n"``), then the labels file's content, both
verbatim (as decoded); at ``level: sentence``, the sentence's line of the text file, the separator, then its
``<`` segment of the labels line, both as written.
"""

from __future__ import annotations

import stat
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from biohub.converters.base import ConvertError, Item, ReadContext, Reader, check_path, folder_files, is_present, read_text
from biohub.converters.problems import Reason, RecordRejected
from biohub.converters.registry import register
from biohub.schema import TextRecord

RAW_SEPARATOR = "\n=== labels ===\n"  # between the text and the labels in a record's raw source text


@dataclass(slots=True)
class HocOptions:
    """``level``: ``document`` or ``sentence``; ``top_level``: labels are the top-level hallmarks (else the
    full hierarchical labels, trailing ``--`` removed); ``null_label``: the marker meaning "no label";
    ``text_dir`` / ``labels_dir``: folder names; ``encoding``."""

    level: str = "document"
    top_level: bool = True
    null_label: str = "NULL"
    text_dir: str = "text"
    labels_dir: str = "labels"
    encoding: str = "utf-8"

    def __post_init__(self) -> None:
        if self.level not in ("document", "sentence"):
            raise ValueError(f"level: expected document or sentence, got {self.level!r}")


def _is_txt(path: Path) -> bool:
    return path.suffix == ".txt"


@register
class HocReader(Reader):
    """Reads the Hallmarks of Cancer text/labels folders into ``text`` records per abstract or per sentence."""

    name = "hoc"
    schema = "text"
    description = "Hallmarks of Cancer: text/PMID.txt sentences + labels/PMID.txt '<'-segmented hallmark labels"
    Options = HocOptions

    def read(self, paths: list[Path], ctx: ReadContext) -> Iterator[Item]:
        """The records of every PMID (by ``level``) or its rejection, PMIDs in numeric order."""
        text_dir, labels_dir = self._folders(paths)
        texts = {p.stem: p for p in folder_files(text_dir, _is_txt, recursive=False)}
        labels = {p.stem: p for p in folder_files(labels_dir, _is_txt, recursive=False)}
        for pmid in sorted(set(texts) | set(labels), key=_pmid_order):
            text_path, labels_path = texts.get(pmid), labels.get(pmid)
            if text_path is None:
                convert = partial(_missing_partner, Reason.TEXT_FILE_MISSING, pmid, labels[pmid], text_dir)
                yield from self.rejecting(ctx, labels[pmid], pmid, convert, document_id=pmid)
                continue
            if labels_path is None:
                convert = partial(_missing_partner, Reason.LABELS_FILE_MISSING, pmid, text_path, labels_dir)
                yield from self.rejecting(ctx, text_path, pmid, convert, document_id=pmid)
                continue
            convert = partial(self._abstract, pmid, text_path, labels_path, ctx)
            yield from self.rejecting(ctx, labels_path, pmid, convert, document_id=pmid)

    def _folders(self, paths: list[Path]) -> tuple[Path, Path]:
        opts = self.options
        for path in paths:
            if not stat.S_ISDIR(check_path(path).st_mode):
                raise ConvertError(path, "expected a folder (the corpus folder, or its text/ and labels/ folders)")
        if len(paths) == 1:
            text_dir, labels_dir = paths[0] / opts.text_dir, paths[0] / opts.labels_dir
        else:
            named = {p.name: p for p in paths}
            text_dir = named.get(opts.text_dir, Path(opts.text_dir))
            labels_dir = named.get(opts.labels_dir, Path(opts.labels_dir))
            if len(paths) != 2 or opts.text_dir not in named or opts.labels_dir not in named:
                reason = f"expected one corpus folder, or the two folders {opts.text_dir}/ and {opts.labels_dir}/"
                raise ConvertError(paths[0], reason)
        for folder in (text_dir, labels_dir):
            if not is_present(folder) or not folder.is_dir():
                raise ConvertError(folder, "folder not found")
        return text_dir, labels_dir

    def _abstract(self, pmid: str, text_path: Path, labels_path: Path, ctx: ReadContext) -> Iterator[Item]:
        opts = self.options
        text_content = read_text(text_path, opts.encoding)
        labels_content = read_text(labels_path, opts.encoding)
        lines = [line for line in text_content.splitlines() if line.strip()]
        sentences = [line.strip() for line in lines]
        raw = labels_content.strip("\r\n")
        if not raw.lstrip().startswith("<"):
            raise RecordRejected("malformed labels", f"{labels_path.name}: does not start with a '<' marker: {raw[:40]!r}")
        segments = raw.lstrip().split("<")[1:]
        if len(segments) != len(sentences):
            detail = f"{labels_path.name}: {len(segments)} '<' segments for {len(sentences)} sentences in {text_path.name}"
            raise RecordRejected("sentence/label count mismatch", detail)
        if not sentences:
            raise RecordRejected("empty text", f"{text_path.name} holds no sentence", path=text_path)
        full = [self._labels(segment) for segment in segments]
        source = {"path": text_path.name, "record": pmid}
        if opts.level == "document":
            meta = {"source": source, "sentence_labels": full, "sentences": len(sentences)}
            classes = self._classes([x for labels in full for x in labels])
            record = TextRecord(**ctx.common(pmid, meta=meta), text=" ".join(sentences), labels=classes)
            ctx.keep_raw(record.id, lambda: text_content + RAW_SEPARATOR + labels_content)
            yield record
            return
        for index, (sentence, labels) in enumerate(zip(sentences, full)):
            meta = {"source": {**source, "sentence": index}, "full_labels": labels}
            common = ctx.common(f"{pmid}-{index}", document_id=pmid, meta=meta)
            record = TextRecord(**common, text=sentence, labels=self._classes(labels))
            ctx.keep_raw(record.id, partial(_raw_sentence, lines[index], segments[index]))
            yield record

    def _labels(self, segment: str) -> list[str]:
        """The full labels of one sentence segment (normalised: blanks and a trailing ``--`` removed)."""
        labels = []
        for part in segment.split("AND"):
            label = "--".join(level.strip() for level in part.strip().removesuffix("--").split("--"))
            if label and label != self.options.null_label and label not in labels:
                labels.append(label)
        return labels

    def _classes(self, labels: list[str]) -> list[str]:
        chosen = [label.split("--")[0] for label in labels] if self.options.top_level else labels
        return sorted(set(chosen))


def _missing_partner(reason: Reason, pmid: str, there: Path, missing_dir: Path) -> Iterator[Item]:
    """Reject the abstract ``pmid``, whose file ``there`` has no partner in ``missing_dir`` (its text or labels folder)."""
    raise RecordRejected(reason, f"{there.name} has no {missing_dir.name}/{pmid}.txt")


def _raw_sentence(line: str, segment: str) -> str:
    """The raw source text of one sentence record: its text line, then its label segment."""
    return line + RAW_SEPARATOR + "<" + segment


def _pmid_order(pmid: str) -> tuple[int, str]:
    return (int(pmid), pmid) if pmid.isdigit() else (1 << 62, pmid)
