"""A corpus' vocabulary: the table of standard terms its normalisations choose from, converted beside its records.

A catalog entry's ``vocabularies`` (:class:`~biohub.converters.catalog.Vocabulary`) name, for each table, the database
name its normalisations carry, the file and its sha256, the code and term columns and the file's shape. The table is
read by the ``csv`` format's reader (:mod:`biohub.converters.formats.csv_table`: CSV/TSV through Python's csv module,
an ``.xlsx`` worksheet values-only through :mod:`biohub.converters.xlsx`, any of them as an ``ARCHIVE!MEMBER``), each
row as a (code, term) pair, so a table row is accounted for as a record is: every row read is a term or a rejection
(wrong column count, empty code or term) with its row number and reason. :func:`read_vocabulary` returns a
:class:`VocabularyTable`: the terms in file order, the ledger of the rows (``read == converted + rejected``; counts:
``terms`` kept, ``codes`` distinct) and the rejections. ``biohub convert`` writes the terms to
``OUT/<dataset>/vocabularies/<name>.parquet`` (columns ``code``, ``term``; :data:`VOCABULARY_FEATURES`), the
rejections to the dataset's ``rejections.jsonl`` (``split`` = ``vocabulary:<name>``) and the file's path, sha256
and ledger to ``info.json`` under ``vocabularies``; ``--strict`` fails on a rejected row as on a rejected record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datasets import Features, Value

from biohub.converters.base import ConvertError, Defect, ReadContext, Rejection
from biohub.converters.catalog import Vocabulary
from biohub.converters.formats.csv_table import CsvReader
from biohub.converters.ledger import SplitLedger
from biohub.errors import ConfigError
from biohub.schema import PairsRecord

__all__ = ["VOCABULARY_FEATURES", "VocabularyTable", "read_vocabulary"]

VOCABULARY_FEATURES = Features({"code": Value("string"), "term": Value("string")})


@dataclass
class VocabularyTable:
    """One converted vocabulary: its terms as ``(code, term)`` in file order, the ledger of its rows and its
    rejections (and any defects); ``path`` is the file as the catalog names it, ``sha256`` its checksum."""

    name: str
    path: str
    sha256: str
    terms: list[tuple[str, str]] = field(default_factory=list)
    ledger: SplitLedger = field(default_factory=SplitLedger)
    problems: list[Rejection | Defect] = field(default_factory=list)

    @property
    def label(self) -> str:
        """How the vocabulary is named where a split would be (rejection rows, the conversion summary)."""
        return f"vocabulary:{self.name}"

    def rows(self) -> list[dict[str, str]]:
        """The terms as rows of :data:`VOCABULARY_FEATURES`."""
        return [{"code": code, "term": term} for code, term in self.terms]

    def to_json(self) -> dict[str, Any]:
        """What ``info.json`` says of the vocabulary: its file and sha256, then the ledger of its rows."""
        return {"path": self.path, "sha256": self.sha256, **self.ledger.to_json()}


def read_vocabulary(dataset: str, vocabulary: Vocabulary, path: Path, sha256: str) -> VocabularyTable:
    """Read the vocabulary table at ``path`` (checked already, ``sha256`` its checksum) for ``dataset``. A file that
    cannot be read at all (missing, not a workbook, an unknown sheet, a header without the columns) is a
    :class:`ConvertError`; a table without one term is too (a vocabulary declared is never silently empty)."""
    try:
        reader = CsvReader.from_mapping(vocabulary.reader_options(), f"vocabulary {vocabulary.name} of {dataset}")
    except ConfigError as exc:  # the catalog checks the options on load; a hand-built Vocabulary may still be wrong
        raise ConvertError(path, str(exc)) from None
    table = VocabularyTable(vocabulary.name, vocabulary.file.path, sha256)
    ctx = ReadContext(dataset, table.label, language="")
    for item in reader.read([path], ctx):
        if isinstance(item, Rejection):
            table.ledger.add_rejection(item)
            table.problems.append(item)
        elif isinstance(item, Defect):
            table.ledger.add_defect(item)
            table.problems.append(item)
        elif isinstance(item, PairsRecord):
            table.terms.append((item.text_1, item.text_2))
            table.ledger.converted += 1
    if not table.terms:
        raise ConvertError(path, f"vocabulary {vocabulary.name}: no term read ({table.ledger.rejected} row(s) rejected)")
    table.ledger.counts = {"terms": len(table.terms), "codes": len({code for code, _ in table.terms})}
    return table
