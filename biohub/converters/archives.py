"""Members of ``.zip`` and ``.tar.gz`` archives, read in memory: never extracted, checked before they are read.

A reader's input may name one member of an archive as ``ARCHIVE!MEMBER`` (``data.zip!corpus/train.csv``), or
several with a shell pattern after the ``!`` (``data.zip!corpus/*.csv``); a catalog entry names its files the
same way, and the archive's own sha256 checks the source. :func:`read_input_bytes` reads a plain file or a member
alike, which is how the readers' shared file helpers (:mod:`biohub.converters.base`) read archives.

An archive is refused as a whole (:class:`ArchiveError`, naming the archive and the member) when any member

* has an absolute name (``/etc/x``, ``C:\\x``) or a ``..`` component (path traversal),
* is a symbolic or hard link, a device or a FIFO (only regular files and folders are read),
* has the name of another member (which one would be meant is ambiguous),
* declares more than :attr:`ArchiveLimits.member_bytes` uncompressed bytes, or all members together more than
  :attr:`ArchiveLimits.total_bytes`,
* compresses better than :attr:`ArchiveLimits.ratio` to 1 (a zip bomb; for a ``.tar.gz`` the ratio is the
  whole archive's, since its members share one compressed stream),

or when there are more than :attr:`ArchiveLimits.members` members. A member is never decompressed beyond the size
it declares. An archive is read and checked once while it stays unchanged on disk (the last two are kept), so a
reader taking many members one by one costs one pass. This module imports nothing of biohub but the error family,
so the file helpers can use it.
"""

from __future__ import annotations

import fnmatch
import io
import stat
import tarfile
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath

from biohub.errors import BiohubError

__all__ = [
    "ARCHIVE_SUFFIXES",
    "MEMBER_SEPARATOR",
    "ArchiveError",
    "ArchiveLimits",
    "archive_members",
    "check_zip_members",
    "expand_member_path",
    "read_input_bytes",
    "read_member",
    "split_member_path",
]

MEMBER_SEPARATOR = "!"
ARCHIVE_SUFFIXES: tuple[str, ...] = (".zip", ".tar.gz", ".tgz")


class ArchiveError(BiohubError):
    """An archive or a member that is refused or cannot be read; the message names the archive and the member."""


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    """Bounds on what one archive may unpack to, in memory: ``member_bytes`` per member, ``total_bytes`` for all
    members, ``ratio`` the largest uncompressed/compressed ratio, ``members`` the largest number of members."""

    member_bytes: int = 1 << 30
    total_bytes: int = 4 << 30
    ratio: float = 200.0
    members: int = 100_000


DEFAULT_LIMITS = ArchiveLimits()


@dataclass(frozen=True, slots=True)
class _Member:
    """A regular-file member: its name, its declared uncompressed size and its compressed size (0 in a tar)."""

    name: str
    size: int
    compressed: int


# --------------------------------------------------------------------------------------------- paths
def is_archive(path: Path | str) -> bool:
    """Whether a file name ends with one of :data:`ARCHIVE_SUFFIXES`."""
    return str(path).lower().endswith(ARCHIVE_SUFFIXES)


def split_member_path(path: Path | str) -> tuple[Path, str] | None:
    """``(archive, member)`` for an input written ``ARCHIVE!MEMBER`` whose archive part names a ``.zip`` /
    ``.tar.gz``; None for any other path (a plain file name may hold a ``!``)."""
    text = str(path)
    for index, char in enumerate(text):
        if char == MEMBER_SEPARATOR and is_archive(text[:index]):
            return Path(text[:index]), text[index + 1 :]
    return None


def _is_pattern(member: str) -> bool:
    return any(char in member for char in "*?[")


def expand_member_path(path: Path, limits: ArchiveLimits = DEFAULT_LIMITS) -> list[Path]:
    """The ``ARCHIVE!MEMBER`` inputs ``path`` stands for: itself when it names one member (which must exist), one per
    matching member (sorted) when the member part is a shell pattern (which must match at least one)."""
    parts = split_member_path(path)
    if parts is None:
        return [path]
    archive, member = parts
    names = archive_members(archive, limits)
    if not _is_pattern(member):
        if member not in names:
            raise ArchiveError(f"{archive}: no member {member!r} (members: {', '.join(names[:10]) or 'none'})")
        return [path]
    matched = sorted(name for name in names if fnmatch.fnmatchcase(name, member))
    if not matched:
        raise ArchiveError(f"{archive}: no member matches {member!r}")
    return [Path(f"{archive}{MEMBER_SEPARATOR}{name}") for name in matched]


def read_input_bytes(path: Path, limits: ArchiveLimits = DEFAULT_LIMITS) -> bytes | None:
    """The bytes of the member an ``ARCHIVE!MEMBER`` input names, or None when ``path`` is a plain file (read it as one)."""
    parts = split_member_path(path)
    if parts is None:
        return None
    return read_member(*parts, limits=limits)


# --------------------------------------------------------------------------------------------- reading
@dataclass(frozen=True, slots=True)
class _Checked:
    """An archive that passed the checks: its members, and a way to read one (a zip reads members on demand; a
    ``.tar.gz``, whose members share one compressed stream, is read whole in its one checking pass)."""

    members: dict[str, _Member]
    zip_file: zipfile.ZipFile | None
    tar_contents: dict[str, bytes]


def archive_members(archive: Path, limits: ArchiveLimits = DEFAULT_LIMITS) -> list[str]:
    """The names of an archive's regular-file members, after every member has passed the checks of the module doc."""
    return list(_checked(archive, limits).members)


def read_member(archive: Path, member: str, limits: ArchiveLimits = DEFAULT_LIMITS) -> bytes:
    """One member's bytes, decompressed in memory, after the whole archive has passed the module's checks."""
    checked = _checked(archive, limits)
    if member not in checked.members:
        names = ", ".join(list(checked.members)[:10]) or "none"
        raise ArchiveError(f"{archive}: no member {member!r} (members: {names})")
    declared = checked.members[member].size
    if checked.zip_file is None:
        return checked.tar_contents[member]
    try:
        with checked.zip_file.open(member) as handle:
            content = handle.read(declared + 1)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise ArchiveError(f"{archive}!{member}: cannot read the member ({type(exc).__name__}: {exc})") from None
    if len(content) > declared:
        raise ArchiveError(f"{archive}!{member}: holds more bytes than it declares ({declared}); refused")
    return content


def _checked(archive: Path, limits: ArchiveLimits) -> _Checked:
    """The checked archive, read once while the file stays the same (size and modification time): a reader that takes
    its members one by one does not read and check the whole archive again for each."""
    if not is_archive(archive):
        raise ArchiveError(f"{archive}: not an archive (expected a name ending {', '.join(ARCHIVE_SUFFIXES)})")
    try:
        info = archive.stat()
    except OSError as exc:
        raise ArchiveError(f"{archive}: cannot read the archive ({exc.strerror or type(exc).__name__})") from None
    return _checked_once(str(archive), info.st_size, info.st_mtime_ns, limits)


@lru_cache(maxsize=2)
def _checked_once(name: str, size: int, mtime_ns: int, limits: ArchiveLimits) -> _Checked:
    archive = Path(name)
    try:
        data = archive.read_bytes()
    except OSError as exc:
        raise ArchiveError(f"{archive}: cannot read the archive ({exc.strerror or type(exc).__name__})") from None
    try:
        if name.lower().endswith(".zip"):
            bundle = zipfile.ZipFile(io.BytesIO(data))
            members = check_zip_members(archive, bundle, len(data), limits)
            return _Checked({m.name: m for m in members}, bundle, {})
        contents: dict[str, bytes] = {}
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
            members = _tar_members(archive, tar, len(data), limits, contents)
        return _Checked({m.name: m for m in members}, None, contents)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        raise ArchiveError(f"{archive}: not a readable archive ({type(exc).__name__}: {exc})") from None


# --------------------------------------------------------------------------------------------- checks
def _check_name(archive: Path, name: str) -> None:
    """Refuse an absolute member name or one with a ``..`` component."""
    posix = name.replace("\\", "/")
    if posix.startswith("/") or (len(posix) > 1 and posix[1] == ":"):
        raise ArchiveError(f"{archive}: member {name!r} has an absolute name; refused")
    if ".." in PurePosixPath(posix).parts:
        raise ArchiveError(f"{archive}: member {name!r} points outside the archive ('..'); refused")


def _check_sizes(archive: Path, members: list[_Member], limits: ArchiveLimits) -> None:
    if len(members) > limits.members:
        raise ArchiveError(f"{archive}: {len(members)} members, more than the limit of {limits.members}; refused")
    total = 0
    names: set[str] = set()
    for member in members:
        if member.name in names:
            raise ArchiveError(f"{archive}: member {member.name!r} occurs twice (which one is meant?); refused")
        names.add(member.name)
        if member.size > limits.member_bytes:
            raise ArchiveError(
                f"{archive}: member {member.name!r} unpacks to {member.size} bytes, "
                f"over the limit of {limits.member_bytes}; refused"
            )
        if member.compressed and member.size / member.compressed > limits.ratio:
            ratio = member.size / member.compressed
            raise ArchiveError(
                f"{archive}: member {member.name!r} compresses {ratio:.0f} to 1, over the limit of {limits.ratio:.0f} "
                "(a zip bomb?); refused"
            )
        total += member.size
    if total > limits.total_bytes:
        raise ArchiveError(f"{archive}: members unpack to {total} bytes, over the limit of {limits.total_bytes}; refused")


def check_zip_members(archive: Path, bundle: zipfile.ZipFile, size: int, limits: ArchiveLimits) -> list[_Member]:
    """The zip's regular-file members after the module's checks (names, links, sizes, ratios); also the check an
    ``.xlsx`` workbook (a zip) passes before it is opened."""
    members: list[_Member] = []
    for info in bundle.infolist():
        _check_name(archive, info.filename)
        if info.is_dir():
            continue
        if stat.S_IFMT(info.external_attr >> 16) not in (0, stat.S_IFREG):  # 0: no Unix file type recorded
            raise ArchiveError(f"{archive}: member {info.filename!r} is a link or special file; refused")
        members.append(_Member(info.filename, info.file_size, max(info.compress_size, 1)))
    _check_sizes(archive, members, limits)
    return members


def _tar_members(
    archive: Path, bundle: tarfile.TarFile, size: int, limits: ArchiveLimits, contents: dict[str, bytes]
) -> list[_Member]:
    """The tar's regular files, checked one by one as the stream is walked, so that a member over a limit is refused
    before its data are decompressed; each accepted member's bytes go to ``contents`` (never more than it declares)."""
    members: list[_Member] = []
    total = 0
    for info in bundle:
        _check_name(archive, info.name)
        if info.isdir():
            continue
        if not info.isfile():
            raise ArchiveError(f"{archive}: member {info.name!r} is a link or special file; refused")
        if info.name in contents:
            raise ArchiveError(f"{archive}: member {info.name!r} occurs twice (which one is meant?); refused")
        members.append(_Member(info.name, info.size, 0))
        _check_sizes(archive, members[-1:], limits)
        total += info.size
        if len(members) > limits.members or total > limits.total_bytes:
            _check_sizes(archive, members, limits)
        if total / max(size, 1) > limits.ratio:
            raise ArchiveError(
                f"{archive}: members unpack to {total} bytes or more from {size}, over the ratio limit of "
                f"{limits.ratio:.0f} (an archive bomb?); refused"
            )
        extracted = bundle.extractfile(info)
        if extracted is None:
            raise ArchiveError(f"{archive}!{info.name}: not a regular file")
        contents[info.name] = extracted.read(info.size)
    return members
