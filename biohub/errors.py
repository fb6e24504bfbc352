"""The one error family of biohub: every error a user can cause derives from :class:`BiohubError`.

This module sits below every stage and imports nothing. The command line (``biohub.cli``) turns a ``BiohubError``
into a one-line message on stderr and exit code ``exit_code`` (2: bad input), with a traceback only under ``--debug``;
any other exception is a bug and keeps its traceback. An error class that code elsewhere catches as ``ValueError``,
``KeyError``, ``FileNotFoundError`` or ``RuntimeError`` keeps that class as a second base.
"""

from __future__ import annotations

__all__ = ["BiohubError", "ConfigError", "MissingFileError", "OutputExistsError", "UnknownNameError"]


class BiohubError(Exception):
    """Base of every biohub error: its message is complete on one line (what, where, and how to fix it)."""

    exit_code: int = 2


class ConfigError(BiohubError, ValueError):
    """A setting biohub cannot use: a reader option, a field mapping, a recipe or export choice; the message says why."""


class UnknownNameError(BiohubError, KeyError):
    """A name (dataset, format, config, source) that is not known; the message lists the known ones."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class MissingFileError(BiohubError, FileNotFoundError):
    """An input file or folder that does not exist; the message names it and what writes it."""


class OutputExistsError(BiohubError, FileExistsError):
    """An output folder that exists and is not empty, where biohub will not write over what is there."""
