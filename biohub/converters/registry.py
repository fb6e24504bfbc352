"""One registry of format readers, filled by the ``@register`` decorator in ``converters/formats/``."""

from __future__ import annotations

import difflib
import importlib
import pkgutil

from biohub.converters.base import Reader
from biohub.errors import UnknownNameError

_READERS: dict[str, type[Reader]] = {}
_LOADED = False


def register(reader: type[Reader]) -> type[Reader]:
    """Class decorator: make ``reader`` available under its ``name``."""
    if reader.name in _READERS and _READERS[reader.name] is not reader:
        raise ValueError(f"format {reader.name!r} registered twice")
    _READERS[reader.name] = reader
    return reader


def _load_all() -> None:
    global _LOADED
    if _LOADED:
        return
    from biohub.converters import formats

    for module in sorted(m.name for m in pkgutil.iter_modules(formats.__path__)):
        importlib.import_module(f"{formats.__name__}.{module}")
    _LOADED = True


def get_reader(name: str) -> type[Reader]:
    """The reader class of format ``name``; an unknown name says "did you mean ...?"."""
    _load_all()
    if name not in _READERS:
        close = difflib.get_close_matches(name, _READERS, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise UnknownNameError(f"unknown format {name!r}.{hint} Known formats: {', '.join(sorted(_READERS))}")
    return _READERS[name]


def all_readers() -> dict[str, type[Reader]]:
    """Every registered reader, by format name, sorted."""
    _load_all()
    return dict(sorted(_READERS.items()))
