"""Excel ``.xlsx`` worksheets read as rows of cell values: the one XLSX path of the converters.

The workbook is opened values-only (``openpyxl``, ``read_only=True``, ``data_only=True``): formulas are never
evaluated (a formula cell gives the value Excel last stored for it), macros and external links are never
followed, and openpyxl parses the sheet XML through ``defusedxml`` when it is installed (a biohub dependency). An
``.xlsx`` is a zip, so before openpyxl sees it the file passes the archive checks of
:mod:`biohub.converters.archives` (no member over the size limits, no compression bomb, no link members).

Rows come with their 1-based sheet row numbers; a cell's value becomes text (numbers without a spurious ``.0``,
dates in ISO format, empty cells ``""``), and trailing empty cells are dropped, so a row is as wide as its last
filled cell (a sheet's declared width, often hundreds of empty columns, is ignored).
"""

from __future__ import annotations

import datetime
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from biohub.converters.archives import DEFAULT_LIMITS, ArchiveError, check_zip_members
from biohub.converters.base import ConvertError

__all__ = ["cell_text", "xlsx_rows"]


def cell_text(value: Any) -> str:
    """A cell value as text: ``None`` -> ``""``, a whole float -> its integer digits, a date/time -> ISO 8601."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    return str(value)


def xlsx_rows(path: Path, data: bytes, sheet: str = "") -> Iterator[tuple[int, list[str]]]:
    """``(row number, cells)`` of the worksheet ``sheet`` (by name; "" = the first) of the workbook ``data`` read
    from ``path``; a workbook that cannot be opened, a refused archive or an unknown sheet is a :class:`ConvertError`."""
    from openpyxl import load_workbook  # imported here: only tables read from .xlsx need it

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as bundle:
            check_zip_members(path, bundle, len(data), DEFAULT_LIMITS)
    except ArchiveError as exc:
        raise ConvertError(path, f"workbook refused: {exc}") from None
    except zipfile.BadZipFile:
        raise ConvertError(path, "not an .xlsx workbook (not a zip file)") from None
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
    except Exception as exc:  # openpyxl raises many types (KeyError, ValueError, XML errors) for a broken workbook
        raise ConvertError(path, f"cannot open the workbook ({type(exc).__name__}: {exc})") from None
    try:
        if sheet and sheet not in book.sheetnames:
            raise ConvertError(path, f"no sheet {sheet!r}; the workbook has {', '.join(book.sheetnames)}")
        worksheet = book[sheet] if sheet else book.worksheets[0]
        worksheet.reset_dimensions()  # the declared width may be far wider than the filled cells
        for number, values in enumerate(worksheet.iter_rows(values_only=True), start=1):
            cells = [cell_text(value) for value in values]
            while cells and not cells[-1].strip():
                cells.pop()
            yield number, cells
    finally:
        book.close()
