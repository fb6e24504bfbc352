"""Corpus converters: source files of many formats -> unified :mod:`biohub.schema` records, rejections and a ledger.

The public API:

* :func:`convert_catalogued` / :func:`convert_files`: convert catalogued corpora from a mirror, or an
  uncatalogued corpus of a known format (``biohub convert``);
* :func:`load_catalog` / :class:`CatalogEntry`: the corpus catalog (``converters/corpora/*.yaml``);
* :func:`get_reader` / :func:`all_readers` / :func:`register`: the registry of format readers
  (``converters/formats/``, one module per format);
* :class:`Reader`, :class:`ReadContext`, :class:`RecordRejected`, :class:`Reason`: what a reader is, and the one
  way it reports a record it cannot convert; :class:`Rejection` / :class:`Defect`: the counted problems;
* :class:`ConvertError` / :class:`CatalogError`: a source or a catalog file that cannot be read at all.

Names are imported on first use, so importing one submodule (the catalog, say) does not load the whole package.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from biohub.converters.api import convert_catalogued, convert_files
    from biohub.converters.base import ConvertError, Defect, ReadContext, Reader, Rejection
    from biohub.converters.catalog import CatalogEntry, CatalogError, load_catalog
    from biohub.converters.convert import ConversionResult
    from biohub.converters.problems import Reason, RecordRejected
    from biohub.converters.registry import all_readers, get_reader, register

_HOMES = {
    "convert_catalogued": "api",
    "convert_files": "api",
    "ConvertError": "base",
    "Defect": "base",
    "ReadContext": "base",
    "Reader": "base",
    "Rejection": "base",
    "CatalogEntry": "catalog",
    "CatalogError": "catalog",
    "load_catalog": "catalog",
    "ConversionResult": "convert",
    "Reason": "problems",
    "RecordRejected": "problems",
    "all_readers": "registry",
    "get_reader": "registry",
    "register": "registry",
}

__all__ = [
    "CatalogEntry",
    "CatalogError",
    "ConversionResult",
    "ConvertError",
    "Defect",
    "ReadContext",
    "Reader",
    "Reason",
    "RecordRejected",
    "Rejection",
    "all_readers",
    "convert_catalogued",
    "convert_files",
    "get_reader",
    "load_catalog",
    "register",
]


def __getattr__(name: str) -> Any:
    """The public name ``name``, imported from its module on first use."""
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The module's names and its lazily imported public API, for ``dir()`` and tab completion."""
    return sorted(set(globals()) | set(__all__))
