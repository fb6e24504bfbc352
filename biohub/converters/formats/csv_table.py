"""Delimited text tables (CSV / TSV) and Excel worksheets (``.xlsx``) mapped onto one of the flat schemas.

One data row becomes one record. ``schema`` picks the record type and ``fields`` maps that schema's fields to
column names (from the header row, or from ``columns`` when there is none); columns not mapped go to
``meta`` under their names (``extra_to_meta``). Parsing uses Python's :mod:`csv` module, so quoted fields
may hold delimiters, quotes and newlines (``quoting: none`` reads every character literally, for TSVs whose
text contains bare quotes).

Schema fields (``*`` required):

* ``text``: ``text*``, ``label`` (absent: records are unlabelled; ``label_separator`` splits multi-label cells);
* ``pairs``: ``text_1*``, ``text_2*``, ``label``, ``score``;
* ``qa``: ``question*``, ``answer`` (absent: unlabelled; ``answer_separator`` splits lists), ``context``,
  ``choices`` (split by ``choice_separator``), ``type`` (else the ``qa_type`` option);
* ``instruction``: ``instruction*``, ``input``, ``output`` (absent: unlabelled);
* ``dialogue``: ``user*``, ``assistant`` (absent: unlabelled), ``system`` -> turns in that order;
* ``t2t``: ``text_1*`` (source), ``text_2`` (target; absent: unlabelled), named by ``text_1_name`` /
  ``text_2_name`` (e.g. ``question`` / ``summary``).

Every schema also takes ``document_id``: the column whose value is the record's document id (rows sharing it,
e.g. the rewrites of one question, then share a derived split); absent, each row is its own document.

A row with the wrong number of columns, an empty required cell or a bad value (e.g. a score that is not a
finite number: ``nan`` and ``inf`` are rejected) is rejected with its line number. A file in the wrong
encoding is a :class:`ConvertError` naming the line. Options are checked when they are built: a field mapped
to a column that ``columns`` does not name, or an option the chosen schema and fields would ignore (e.g.
``label_map`` without a ``label`` field, ``qa_type`` outside the ``qa`` schema), is a ``ValueError``.

An input whose name ends ``.json`` / ``.jsonl`` holds JSON objects (a JSON array or JSON Lines), each a row whose
columns are its keys (a key the mapping needs and the object lacks rejects the record; a non-string value is its JSON
text, null is empty); records are located by line (JSON Lines) or element number from 0 (array). ``combine`` builds a column from
several (their non-empty cells joined by ``combine_separator``), e.g. one text from a record's sections.
An input whose name ends ``.xlsx`` is an Excel workbook: the ``sheet`` option names the worksheet (default: the
first), which is read values-only through :mod:`biohub.converters.xlsx` (rows numbered as in the sheet; a row ends at
its last filled cell, missing cells are empty). Any input may be a member of a ``.zip`` / ``.tar.gz``, named
``ARCHIVE!MEMBER`` (:mod:`biohub.converters.archives`: read in memory, never extracted).

The raw source text of a record (``ReadContext.keep_raw``) is its row as written: the physical line(s) the
row spans (several when a quoted cell holds line breaks), without their line endings, joined by ``\n``; for a
worksheet row, its cells joined by tabs.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from biohub.converters.base import (
    ConvertError,
    Item,
    ReadContext,
    Reader,
    expand_paths,
    file_stems,
    iter_json_records,
    read_bytes,
    read_text,
)
from biohub.converters.problems import RecordRejected
from biohub.converters.registry import register
from biohub.converters.xlsx import xlsx_rows
from biohub.schema import DialogueRecord, InstructionRecord, PairsRecord, QARecord, T2TRecord, TextRecord, Turn

_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # schema: (required fields, optional fields)
    "text": (("text",), ("label",)),
    "pairs": (("text_1", "text_2"), ("label", "score")),
    "qa": (("question",), ("answer", "context", "choices", "type")),
    "instruction": (("instruction",), ("input", "output")),
    "dialogue": (("user",), ("assistant", "system")),
    "t2t": (("text_1",), ("text_2",)),
}

# options that only some schemas read: option -> (schemas, the mapped field it applies to, or None)
_USED_BY: dict[str, tuple[tuple[str, ...], str | None]] = {
    "label_map": (("text", "pairs"), "label"),
    "label_separator": (("text",), "label"),
    "answer_separator": (("qa",), "answer"),
    "choice_separator": (("qa",), "choices"),
    "qa_type": (("qa",), None),
    "score_decimals": (("pairs",), "score"),
    "text_1_name": (("t2t",), None),
    "text_2_name": (("t2t",), None),
}


@dataclass(slots=True)
class CsvOptions:
    """``delimiter`` (``"\\t"`` for TSV), ``encoding``, ``header``: the first row names the columns;
    ``columns``: the column names when there is no header (or to check the header against); ``schema`` and
    ``fields``: see the module doc; ``key_prefix``: record keys are ``<prefix>-<data row index from 0>``
    (default: the file's stem); ``label_map``: raw label -> class; ``label_separator``, ``answer_separator``,
    ``choice_separator``: split one cell into several values ("" = never); ``qa_type``: QA type when no column
    gives it; ``quoting``: ``minimal`` (CSV quotes) or ``none``; ``strip``: strip blanks around cells;
    ``extra_to_meta``: keep unmapped columns in meta; ``combine``: new column -> the columns joined into it
    (``combine_separator`` between non-empty cells); ``sheet``: the worksheet of an ``.xlsx`` input ("" = the
    first); ``text_1_name`` / ``text_2_name``: what the ``t2t`` schema's two texts are; ``score_decimals``: round
    scores to this many decimals (-1: as written; for means written to full float precision, 1.6666666666666667)."""

    delimiter: str = ","
    encoding: str = "utf-8"
    header: bool = True
    columns: list[str] = field(default_factory=list)
    schema: str = "text"
    fields: dict[str, str] = field(default_factory=dict)
    key_prefix: str = ""
    label_map: dict[str, str] = field(default_factory=dict)
    label_separator: str = ""
    answer_separator: str = ""
    choice_separator: str = ""
    qa_type: str = "open"
    quoting: str = "minimal"
    strip: bool = True
    extra_to_meta: bool = True
    combine: dict[str, list[str]] = field(default_factory=dict)
    combine_separator: str = "\n"
    sheet: str = ""
    text_1_name: str = ""
    text_2_name: str = ""
    score_decimals: int = -1

    def __post_init__(self) -> None:
        if self.schema not in _FIELDS:
            raise ValueError(f"schema: expected one of {', '.join(_FIELDS)}, got {self.schema!r}")
        required, optional = _FIELDS[self.schema]
        unknown = sorted(set(self.fields) - set(required) - set(optional) - {"document_id"})
        if unknown:
            known = ", ".join(required + optional)
            raise ValueError(f"fields: {', '.join(unknown)} not fields of schema {self.schema!r} ({known})")
        missing = [name for name in required if name not in self.fields]
        if missing:
            raise ValueError(f"fields: schema {self.schema!r} needs a column for {', '.join(missing)}")
        if "document_id" in self.fields and not self.fields["document_id"]:
            raise ValueError("fields: document_id maps to an empty column name")
        if not self.header and not self.columns:
            raise ValueError("columns: name the columns when the file has no header")
        for new, parts in self.combine.items():
            if not parts or (self.columns and set(parts) - set(self.columns)):
                raise ValueError(f"combine: {new} needs columns from columns ({', '.join(self.columns)}), got {parts}")
        for name, column in self.fields.items():
            if self.columns and column not in self.columns and column not in self.combine:
                raise ValueError(f"fields: {name} maps to column {column!r}, which is not in columns ({', '.join(self.columns)})")
        self._check_used()
        if self.quoting not in ("minimal", "none"):
            raise ValueError(f"quoting: expected minimal or none, got {self.quoting!r}")
        if len(self.delimiter) != 1:
            raise ValueError(f"delimiter: expected one character, got {self.delimiter!r}")
        self.label_map = {str(k): str(v) for k, v in self.label_map.items()}

    def _check_used(self) -> None:
        """An option set away from its default that the chosen schema and fields would ignore is an error."""
        defaults = {
            f.name: f.default if f.default_factory is dataclasses.MISSING else f.default_factory()
            for f in dataclasses.fields(self)
        }
        for option, (schemas, mapped) in _USED_BY.items():
            if getattr(self, option) == defaults[option]:
                continue
            if self.schema not in schemas:
                raise ValueError(f"{option}: only read by schema {' / '.join(schemas)}; schema {self.schema!r} would ignore it")
            if mapped is not None and mapped not in self.fields:
                raise ValueError(f"{option}: applies to the {mapped} field, which fields does not map; it would be ignored")


@register
class CsvReader(Reader):
    """Reads CSV/TSV tables, one row per record, into the flat schema its options choose, columns mapped by ``fields``."""

    name = "csv"
    schema = "text"
    description = (
        "delimited text (CSV/TSV, Python csv module) or an .xlsx sheet (values only) mapped to the text, pairs, qa, "
        "instruction, dialogue or t2t schema"
    )
    Options = CsvOptions
    options: CsvOptions

    def output_schema(self) -> str:
        """The ``schema`` option: this reader produces whichever flat schema it is configured for."""
        return self.options.schema

    def read(self, paths: list[Path], ctx: ReadContext) -> Iterator[Item]:
        """One record or rejection per data row of every file (folders: ``*.tsv`` for a tab delimiter, else ``*.csv``)."""
        suffix = ".tsv" if self.options.delimiter == "\t" else ".csv"
        files = expand_paths(paths, suffix)
        stems = file_stems(files)
        for path in files:
            yield from self._json_file(path, stems[path], ctx) if _is_json(path) else self._file(path, stems[path], ctx)

    def _json_file(self, path: Path, stem: str, ctx: ReadContext) -> Iterator[Item]:
        """One record or rejection per JSON object of a JSON array or JSON Lines file (its keys are its columns)."""
        prefix = self.options.key_prefix or stem
        for index, (locator, data) in enumerate(iter_json_records(path)):
            convert = partial(self._json_row, path, locator, f"{prefix}-{index}", data, ctx)
            yield from self.rejecting(ctx, path, locator, convert)

    def _json_row(self, path: Path, locator: int, key: str, data: Any, ctx: ReadContext) -> Iterator[Item]:
        if not isinstance(data, dict):
            raise RecordRejected("not a JSON object", f"record {locator}: {type(data).__name__}", document_id=key)
        needed = {part for column in self.options.fields.values() for part in self.options.combine.get(column, [column])}
        missing = sorted(needed - set(data))
        if missing:
            raise RecordRejected("missing field", f"record {locator}: no {', '.join(missing)}", document_id=key)
        row = [_cell(value) for value in data.values()]
        yield from self._row(path, locator, key, row, list(data), ctx, partial(json.dumps, data, ensure_ascii=False))

    def _file(self, path: Path, stem: str, ctx: ReadContext) -> Iterator[Item]:
        opts = self.options
        workbook = _is_xlsx(path)
        names = list(opts.columns)
        header_pending = opts.header
        prefix = opts.key_prefix or stem
        index = 0
        for line, row, raw in self._xlsx_rows(path) if workbook else self._csv_rows(path):
            if not row or (len(row) == 1 and not row[0].strip() and len(names) != 1):
                continue  # a blank line (an empty sheet row), not a record
            if header_pending:
                names = self._header(path, line, row, names)
                header_pending = False
                continue
            if workbook and len(row) < len(names):
                row = row + [""] * (len(names) - len(row))  # a sheet row ends at its last filled cell
            convert = partial(self._row, path, line, f"{prefix}-{index}", row, names, ctx, raw)
            yield from self.rejecting(ctx, path, line, convert)
            index += 1
        if header_pending:
            raise ConvertError(path, "empty file: no header row")

    def _csv_rows(self, path: Path) -> Iterator[tuple[int, list[str], Callable[[], str]]]:
        """``(first line, cells, raw source text)`` of each CSV row; a malformed file is a :class:`ConvertError`."""
        opts = self.options
        text = read_text(path, opts.encoding)
        csv.field_size_limit(2**31 - 1)  # a cell may hold a whole document; the module default is 128 KiB
        reader = csv.reader(
            io.StringIO(text, newline=""),
            delimiter=opts.delimiter,
            quoting=csv.QUOTE_NONE if opts.quoting == "none" else csv.QUOTE_MINIMAL,
            strict=True,
        )
        next_line = 1
        physical: list[str] = []  # the file's physical lines, split only when a raw source text is asked for

        def source_lines(first: int, last: int) -> str:
            if not physical:
                physical.extend(io.StringIO(text, newline="").readlines())
            return "\n".join(part.rstrip("\r\n") for part in physical[first - 1 : last])

        try:
            for row in reader:
                line, next_line = next_line, reader.line_num + 1
                yield line, row, partial(source_lines, line, reader.line_num)  # the row's lines, bound now
        except csv.Error as exc:
            raise ConvertError(path, f"malformed CSV: {exc}", line=reader.line_num) from None

    def _xlsx_rows(self, path: Path) -> Iterator[tuple[int, list[str], Callable[[], str]]]:
        """``(sheet row number, cells, raw source text: the cells joined by tabs)`` of each row of the ``sheet``."""
        for number, cells in xlsx_rows(path, read_bytes(path), self.options.sheet):
            yield number, cells, partial("\t".join, cells)

    def _header(self, path: Path, line: int, row: list[str], expected: list[str]) -> list[str]:
        names = [cell.strip() for cell in row]
        if expected and names != expected:
            raise ConvertError(path, f"header {names} differs from the configured columns {expected}", line=line)
        needed = {part for column in self.options.fields.values() for part in self.options.combine.get(column, [column])}
        missing = sorted(needed - set(names))
        if missing:
            raise ConvertError(path, f"header lacks the mapped column(s) {', '.join(missing)}; it has {names}", line=line)
        return names

    # ----------------------------------------------------------------------------------- rows
    def _row(
        self, path: Path, line: int, key: str, row: list[str], names: list[str], ctx: ReadContext, raw: Callable[[], str]
    ) -> Iterator[Item]:
        opts = self.options
        if len(row) != len(names):
            detail = f"line {line}: {len(row)} columns, expected {len(names)} ({', '.join(names)})"
            raise RecordRejected("wrong column count", detail, locator=line, document_id=key)
        cells = {name: (value.strip() if opts.strip else value) for name, value in zip(names, row)}
        for new, parts in opts.combine.items():
            cells[new] = opts.combine_separator.join(cells[part] for part in parts if cells[part].strip())
        values = {schema_field: cells[column] for schema_field, column in opts.fields.items()}
        required, _ = _FIELDS[opts.schema]
        empty = [f"{name} ({opts.fields[name]})" for name in required if not values[name].strip()]
        if empty:
            detail = f"line {line}: empty {', '.join(empty)}"
            raise RecordRejected("empty required field", detail, locator=line, document_id=key)
        document_id = values.pop("document_id", None)
        if document_id is not None and not document_id.strip():
            detail = f"line {line}: empty document id ({opts.fields['document_id']})"
            raise RecordRejected("empty required field", detail, locator=line, document_id=key)
        meta: dict[str, Any] = {"source": {"path": path.name, "line": line}}
        if opts.extra_to_meta:
            mapped = set(opts.fields.values()) | set(opts.combine)
            extras = {name: value for name, value in cells.items() if name not in mapped}
            meta.update({(name if name != "source" else "source_column"): value for name, value in extras.items()})
        try:
            record = self._record(values, ctx.common(key, document_id, meta=meta))
        except ValueError as exc:
            raise RecordRejected("bad value", f"line {line}: {exc}", locator=line, document_id=key) from None
        ctx.keep_raw(record.id, raw)
        yield record

    def _record(self, values: dict[str, str], common: dict[str, Any]) -> Any:
        opts = self.options
        if opts.schema == "text":
            labeled = "label" in values
            labels = _split(values.get("label", ""), opts.label_separator)
            labels = [opts.label_map.get(label, label) for label in labels]
            if labeled and not labels:
                raise ValueError("empty label")
            return TextRecord(**{**common, "labeled": labeled}, text=values["text"], labels=labels)
        if opts.schema == "pairs":
            labeled = "label" in values or "score" in values
            label = opts.label_map.get(values.get("label", ""), values.get("label", ""))
            raw_score = values.get("score", "")
            try:
                score = float(raw_score) if raw_score else None
            except ValueError:
                raise ValueError(f"score {raw_score!r} is not a number") from None
            if score is not None and not math.isfinite(score):
                raise ValueError(f"score {raw_score!r} is not a finite number")
            if score is not None and opts.score_decimals >= 0:
                score = round(score, opts.score_decimals)
            return PairsRecord(
                **{**common, "labeled": labeled}, text_1=values["text_1"], text_2=values["text_2"], label=label, score=score
            )
        if opts.schema == "qa":
            labeled = "answer" in values
            answers = _split(values.get("answer", ""), opts.answer_separator)
            if labeled and not answers:
                raise ValueError("empty answer")
            return QARecord(
                **{**common, "labeled": labeled},
                question=values["question"],
                type=values.get("type") or opts.qa_type,
                choices=_split(values.get("choices", ""), opts.choice_separator),
                context=values.get("context", ""),
                answer=answers,
            )
        if opts.schema == "instruction":
            labeled = "output" in values
            return InstructionRecord(
                **{**common, "labeled": labeled},
                instruction=values["instruction"],
                input=values.get("input", ""),
                output=values.get("output", ""),
            )
        if opts.schema == "t2t":
            if "text_2" in values and not values["text_2"].strip():
                raise ValueError("empty text_2 (the target of a labelled pair)")
            return T2TRecord(
                **{**common, "labeled": "text_2" in values},
                text_1=values["text_1"],
                text_2=values.get("text_2", ""),
                text_1_name=opts.text_1_name,
                text_2_name=opts.text_2_name,
            )
        turns = [Turn("system", values["system"])] if values.get("system") else []
        turns.append(Turn("user", values["user"]))
        labeled = "assistant" in values
        if labeled:
            turns.append(Turn("assistant", values["assistant"]))
        return DialogueRecord(**{**common, "labeled": labeled}, turns=turns)


def _split(value: str, separator: str) -> list[str]:
    if not value.strip():
        return []
    if not separator:
        return [value]
    return [part.strip() for part in value.split(separator) if part.strip()]


def _is_xlsx(path: Path) -> bool:
    """Whether an input (a file, or an ``ARCHIVE!MEMBER``) is an Excel workbook, by its name."""
    return str(path).lower().endswith(".xlsx")


def _is_json(path: Path) -> bool:
    """Whether an input holds JSON objects (a JSON array or JSON Lines), by its name."""
    return str(path).lower().endswith((".json", ".jsonl"))


def _cell(value: Any) -> str:
    """A JSON value as a table cell: a string as it is, null as empty, anything else as its JSON text."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
