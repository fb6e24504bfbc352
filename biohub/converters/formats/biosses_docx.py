"""BIOSSES as released: two Word tables read with python-docx.

* the pairs table (``Annotation-Pairs.docx``): ``No | Sentence 1 | Sentence 2``;
* the scores table (``Annotator-Scores.docx``): ``Sentence No | Annotator A | ... | Annotator E``.

The two files are told apart by their header rows, not their names. Each pair number becomes one ``pairs``
record: ``score`` = the mean of the annotators' scores (each within ``score_range``), ``label`` empty,
``meta.scores`` the individual scores in annotator order. A pair without a score row (or a score row without
a pair), a repeated number (numbers are compared as integers: ``01`` repeats ``1``, and matches score row
``1``), or a non-numeric / out-of-range score is rejected with its number; a pair's key is its number
without leading zeros. Cell texts are stripped; ``collapse_whitespace`` also turns the runs of blanks,
no-break spaces and line breaks that Word cells carry into single spaces.

The raw source text of a record (``ReadContext.keep_raw``) is the pair's table row (``No``, ``Sentence 1``,
``Sentence 2``) followed by the annotator scores of its score row, the cell texts as Word holds them (not
stripped or collapsed), joined by ``\t``.
"""

from __future__ import annotations

import re
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from biohub.converters.base import ConvertError, Item, ReadContext, Reader, check_path, expand_paths
from biohub.converters.problems import Reason, RecordRejected
from biohub.converters.registry import register
from biohub.schema import PairsRecord

_BLANKS = re.compile(r"\s+")
_NUMBER = re.compile(r"^[0-9]+$")  # ASCII digits only: str.isdigit() also accepts e.g. "²", which int() refuses


@dataclass(slots=True)
class BiossesDocxOptions:
    """``score_range``: [min, max] allowed for one annotator's score; ``collapse_whitespace``: see the module
    doc; ``annotators``: the expected number of annotator columns (0: any >= 1)."""

    score_range: list[float] = field(default_factory=lambda: [0.0, 4.0])
    collapse_whitespace: bool = True
    annotators: int = 5


@dataclass(slots=True)
class _Row:
    path: Path
    row: int
    cells: list[str]
    raw: list[str]  # the cell texts as the document holds them


@register
class BiossesDocxReader(Reader):
    """Reads BIOSSES from its two Word tables, joining sentence pairs and annotator scores by pair number."""

    name = "biosses-docx"
    schema = "pairs"
    description = (
        "BIOSSES Word tables: Annotation-Pairs.docx (No, Sentence 1, Sentence 2) + Annotator-Scores.docx (A..E)"
    )
    Options = BiossesDocxOptions

    def read(self, paths: list[Path], ctx: ReadContext) -> Iterator[Item]:
        """One ``pairs`` record (mean score) per pair number found in both tables, after the rejections of bad rows;
        a missing or second table of either kind is a :class:`ConvertError`."""
        pairs: dict[int, _Row] | None = None
        scores: dict[int, _Row] | None = None
        annotators: list[str] = []
        problems: list[Item] = []
        for path in expand_paths(paths, ".docx"):
            header, rows = self._table(path)
            kind = _kind(path, header)
            if (kind == "pairs" and pairs is not None) or (kind == "scores" and scores is not None):
                raise ConvertError(path, f"a second {kind} table was given")
            width = 3 if kind == "pairs" else len(header)
            if kind == "scores":
                annotators = header[1:]
                if self.options.annotators and len(annotators) != self.options.annotators:
                    reason = f"{len(annotators)} annotator columns, expected {self.options.annotators}"
                    raise ConvertError(path, reason, record="header")
            numbered: dict[int, _Row] = {}
            for row in rows:
                problems.extend(self.rejecting(ctx, path, f"row {row.row}", partial(_number, row, width, numbered)))
            if kind == "pairs":
                pairs = numbered
            else:
                scores = numbered
        if pairs is None or scores is None:
            missing = "pairs (No, Sentence 1, Sentence 2)" if pairs is None else "scores (Sentence No, Annotator ...)"
            raise ConvertError(paths[0] if paths else ".", f"no {missing} table among the given files")
        yield from problems
        for number in sorted(set(pairs) | set(scores)):
            pair, score_row = pairs.get(number), scores.get(number)
            path = pair.path if pair is not None else scores[number].path
            convert = partial(self._pair, str(number), pair, score_row, annotators, ctx)
            yield from self.rejecting(ctx, path, number, convert, document_id=str(number))

    def _table(self, path: Path) -> tuple[list[str], list[_Row]]:
        import docx  # python-docx; imported here so that the other readers do not pay for it
        from docx.opc.exceptions import PackageNotFoundError

        if not stat.S_ISREG(check_path(path).st_mode):
            raise ConvertError(path, "expected a file")
        try:
            document = docx.Document(str(path))
        except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, SyntaxError) as exc:
            # not a zip, a zip without a Word document part, or a document part that is not XML
            raise ConvertError(path, f"not a readable Word document ({type(exc).__name__}: {exc})") from None
        if len(document.tables) != 1:
            raise ConvertError(path, f"expected exactly one table, found {len(document.tables)}")
        table = document.tables[0]
        raw_rows = [[cell.text for cell in row.cells] for row in table.rows]
        rows = [[self._clean(text) for text in raw] for raw in raw_rows]
        if not rows:
            raise ConvertError(path, "the table is empty")
        numbered = enumerate(zip(rows[1:], raw_rows[1:]), start=2)
        return rows[0], [_Row(path, n, cells, raw) for n, (cells, raw) in numbered if any(cells)]

    def _clean(self, text: str) -> str:
        return _BLANKS.sub(" ", text).strip() if self.options.collapse_whitespace else text.strip()

    def _pair(
        self, number: str, pair: _Row | None, score_row: _Row | None, annotators: list[str], ctx: ReadContext
    ) -> PairsRecord:
        """The record of pair ``number`` (mean score); a pair without scores, scores without a pair, a bad score or
        an empty sentence is :class:`RecordRejected`."""
        if pair is None:
            assert score_row is not None
            detail = f"row {score_row.row}: scores for pair {number}, which is not in the pairs table"
            raise RecordRejected(Reason.SCORES_WITHOUT_PAIR, detail)
        if score_row is None:
            raise RecordRejected(Reason.PAIR_WITHOUT_SCORES, f"row {pair.row}: pair {number} has no row in the scores table")
        low, high = self.options.score_range
        values: list[float] = []
        for name, raw in zip(annotators, score_row.cells[1:]):
            try:
                value = float(raw)
            except ValueError:
                value = float("nan")
            if not low <= value <= high:
                detail = f"row {score_row.row}: {name} score {raw!r} not a number in [{low:g}, {high:g}]"
                raise RecordRejected(Reason.BAD_SCORE, detail, path=score_row.path)
            values.append(value)
        text_1, text_2 = pair.cells[1], pair.cells[2]
        if not text_1 or not text_2:
            raise RecordRejected(Reason.EMPTY_SENTENCE, f"row {pair.row}: pair {number} has an empty sentence")
        meta: dict[str, Any] = {
            "source": {"path": pair.path.name, "record": number},
            "scores": [int(v) if v.is_integer() else v for v in values],
            "annotators": annotators,
        }
        score = sum(values) / len(values)
        record = PairsRecord(**ctx.common(number, meta=meta), text_1=text_1, text_2=text_2, label="", score=score)
        ctx.keep_raw(record.id, lambda: "\t".join([*pair.raw, *score_row.raw[1:]]))
        return record


def _number(row: _Row, width: int, numbered: dict[int, _Row]) -> list[Item]:
    """File ``row`` under its pair number in ``numbered`` (nothing to yield yet); a row of the wrong width, without a
    number or repeating one (compared as numbers: ``01`` repeats ``1``) is :class:`RecordRejected`."""
    number = row.cells[0].strip()
    if len(row.cells) != width:
        detail = f"row {row.row}: {len(row.cells)} cells, expected {width}"
        raise RecordRejected(Reason.WRONG_COLUMN_COUNT, detail, document_id=number)
    if not _NUMBER.match(number):
        raise RecordRejected(Reason.BAD_PAIR_NUMBER, f"row {row.row}: number cell {number!r}")
    if int(number) in numbered:
        first = numbered[int(number)]
        detail = f"row {row.row}: pair {number!r} already in row {first.row} (as {first.cells[0].strip()!r})"
        key = str(int(number))
        raise RecordRejected(Reason.DUPLICATE_PAIR_NUMBER, detail, locator=key, document_id=key)
    numbered[int(number)] = row
    return []


def _kind(path: Path, header: list[str]) -> str:
    lowered = [cell.lower() for cell in header]
    if len(lowered) == 3 and lowered[1:] == ["sentence 1", "sentence 2"]:
        return "pairs"
    if len(lowered) >= 2 and "no" in lowered[0] and all(cell.startswith("annotator") for cell in lowered[1:]):
        return "scores"
    reason = f"header {header} is neither No | Sentence 1 | Sentence 2 nor Sentence No | Annotator ..."
    raise ConvertError(path, reason, line=1)
