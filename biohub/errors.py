"""The one error family of biohub: every error a user can cause derives from :class:`BiohubError`.

This module sits below every stage and imports nothing. The command line (``biohub.cli``) turns a ``BiohubError``
into a one-line message on stderr and exit code ``exit_code`` (2: bad input), with a traceback only under ``--debug``;
any other exception is a bug and keeps its traceback. An error class that code elsewhere catches as ``ValueError``,
``KeyError``, ``FileNotFoundError`` or ``RuntimeError`` keeps that class as a second base.
"""

from __future__ import annotations

__all__ = ["BiohubError"]


class BiohubError(Exception):
    """Base of every biohub error: its message is complete on one line (what, where, and how to fix it)."""

    exit_code: int = 2
