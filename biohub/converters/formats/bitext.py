"""Sentence-aligned parallel documents (ParaMed's gold alignment): aligned sentence groups -> translation pairs.

The inputs are one alignment file and the documents it aligns, one sentence per line, named
``<document>.<language>`` (``doc1.en``, ``doc1.zh``); documents may be read inside an archive
(``docs.tar.gz!*``, :mod:`biohub.converters.archives`). Each alignment line is
``<document>\\t<source lines> <=> <target lines>\\t<status>``: line numbers are 1-based, comma-separated for a
many-to-one, one-to-many or many-to-many group, and ``omitted`` marks a sentence left without a counterpart.

One alignment line is one source record. A group with sentences on both sides becomes one ``t2t`` record: ``text_1``
the source sentences, ``text_2`` the target sentences (each side's sentences joined by ``joiner``), named by their
languages (``text_1_name`` / ``text_2_name``, as BigBio's text-to-text schema does); the record's language is the
source's. The line numbers and the status go to ``meta``. Rejected, with the alignment file, its line and the
reason: an ``omitted`` side (``unaligned sentence``), a line number past the end of its document (``aligned line out
of range``), a line of a document listed in ``unusable_documents`` (``alignment does not match its documents``: a
known upstream mismatch, with the catalog's explanation), a malformed line, an unknown status or a missing document.

The raw source text of a record is its alignment line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path, PurePosixPath

from biohub.converters.archives import split_member_path
from biohub.converters.base import ConvertError, Item, ReadContext, Reader, expand_paths, read_lines
from biohub.converters.problems import RecordRejected
from biohub.converters.registry import register
from biohub.schema import T2TRecord

_NUMBERS = re.compile(r"^\d+(,\d+)*$")


@dataclass(slots=True)
class BitextOptions:
    """``alignment``: the file name of the alignment among the inputs; ``source_language`` / ``target_language``:
    the document suffixes of the two sides (also the text names); ``link``: what separates the two sides;
    ``omitted``: the word for a side without sentences; ``statuses``: the accepted status column values (empty:
    any, and the column may be absent); ``joiner``: joins the sentences of one side; ``unusable_documents``:
    document -> why its alignment cannot be used (its lines are rejected with that detail)."""

    alignment: str = "align.txt"
    source_language: str = "en"
    target_language: str = "zh"
    link: str = " <=> "
    omitted: str = "omitted"
    statuses: list[str] = field(default_factory=lambda: ["OK"])
    joiner: str = " "
    unusable_documents: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.alignment or not self.link.strip():
            raise ValueError("alignment and link must not be empty")
        if self.source_language == self.target_language:
            raise ValueError(f"source_language and target_language are both {self.source_language!r}")


@dataclass(frozen=True, slots=True)
class _Group:
    """One parsed alignment line: its document and the line numbers of each side (empty: omitted)."""

    document: str
    source: tuple[int, ...]
    target: tuple[int, ...]
    status: str


@register
class BitextReader(Reader):
    """Reads an alignment file and its sentence-per-line documents into translation pairs (``t2t``)."""

    name = "bitext"
    schema = "t2t"
    description = "sentence-aligned parallel documents (<doc>.<lang>, one sentence per line) + an alignment file (i,j <=> k)"
    Options = BitextOptions
    options: BitextOptions

    def read(self, paths: list[Path], ctx: ReadContext) -> Iterator[Item]:
        """One ``t2t`` record or rejection per line of the alignment file, sentences taken from the documents."""
        opts = self.options
        files = expand_paths(paths, "")
        alignments = [path for path in files if _name(path) == opts.alignment]
        if len(alignments) != 1:
            where = " + ".join(map(str, paths))
            raise ConvertError(where, f"expected one alignment file named {opts.alignment!r}, found {len(alignments)}")
        documents = {_name(path): path for path in files if _name(path) != opts.alignment}
        sentences: dict[str, list[str]] = {}
        path = alignments[0]
        for number, line in enumerate(read_lines(path), start=1):
            if not line.strip():
                continue
            convert = partial(self._line, path, number, line, documents, sentences, ctx)
            yield from self.rejecting(ctx, path, number, convert)

    def _line(
        self, path: Path, number: int, line: str, documents: dict[str, Path], sentences: dict[str, list[str]], ctx: ReadContext
    ) -> Item:
        opts = self.options
        group = self._parse(number, line)
        key = f"{group.document}-{number}"
        if group.document in opts.unusable_documents:
            detail = f"line {number}: {group.document}: {opts.unusable_documents[group.document]}"
            raise RecordRejected("alignment does not match its documents", detail, document_id=key)
        if not group.source or not group.target:
            side = opts.source_language if not group.source else opts.target_language
            raise RecordRejected("unaligned sentence", f"line {number}: no {side} sentence ({line.strip()})", document_id=key)
        texts = []
        for language, numbers in ((opts.source_language, group.source), (opts.target_language, group.target)):
            lines = self._document(f"{group.document}.{language}", documents, sentences, number)
            past = [n for n in numbers if not 1 <= n <= len(lines)]
            if past:
                detail = f"line {number}: {group.document}.{language} has {len(lines)} lines, the group names {past}"
                raise RecordRejected("aligned line out of range", detail, document_id=key)
            texts.append(opts.joiner.join(lines[n - 1].strip() for n in numbers))
        meta = {
            "source": {"path": path.name, "line": number},
            "source_lines": list(group.source),
            "target_lines": list(group.target),
            "status": group.status,
        }
        record = T2TRecord(
            **ctx.common(key, meta=meta, language=opts.source_language),
            text_1=texts[0],
            text_2=texts[1],
            text_1_name=opts.source_language,
            text_2_name=opts.target_language,
        )
        ctx.keep_raw(record.id, lambda: line)
        return record

    def _parse(self, number: int, line: str) -> _Group:
        opts = self.options
        columns = line.rstrip("\r\n").split("\t")
        if len(columns) not in (2, 3) or opts.link not in columns[1]:
            detail = f"line {number}: expected <document>TAB<lines>{opts.link}<lines>[TAB<status>], got {line.strip()!r}"
            raise RecordRejected("malformed annotation line", detail)
        status = columns[2].strip() if len(columns) == 3 else ""
        if opts.statuses and status not in opts.statuses:
            raise RecordRejected("bad value", f"line {number}: status {status!r} not in {opts.statuses}")
        sides: list[tuple[int, ...]] = []
        for side in columns[1].split(opts.link, 1):
            side = side.strip()
            if side == opts.omitted:
                sides.append(())
            elif _NUMBERS.match(side):
                sides.append(tuple(int(n) for n in side.split(",")))
            else:
                raise RecordRejected("bad value", f"line {number}: {side!r} is neither line numbers nor {opts.omitted!r}")
        if not sides[0] and not sides[1]:
            raise RecordRejected("malformed annotation line", f"line {number}: both sides {opts.omitted!r}")
        return _Group(columns[0].strip(), sides[0], sides[1], status)

    @staticmethod
    def _document(name: str, documents: dict[str, Path], sentences: dict[str, list[str]], number: int) -> list[str]:
        """A document's sentence lines, read once; a document the inputs lack rejects the alignment line."""
        if name not in sentences:
            if name not in documents:
                raise RecordRejected("missing partner file", f"line {number}: no document {name} among the inputs")
            sentences[name] = read_lines(documents[name])
        return sentences[name]


def _name(path: Path) -> str:
    """A file's name, or an ``ARCHIVE!MEMBER``'s member name without its folders."""
    parts = split_member_path(path)
    return path.name if parts is None else PurePosixPath(parts[1]).name
