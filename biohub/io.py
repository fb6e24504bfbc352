"""Shared I/O: atomic, deterministic file writes; progress files; where a data set, model or tokenizer is read from."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from datasets import Dataset, Features, load_dataset

from biohub.errors import BiohubError
from biohub.typed import load_yaml

OFFLINE_VALUES = {"1", "ON", "YES", "TRUE"}  # what huggingface_hub reads as true in HF_HUB_OFFLINE


class InputError(BiohubError, ValueError):
    """An input biohub cannot use: a local path that does not exist, a Hub id that is not cached while offline, a hub
    folder or progress file it cannot read. The message names the input and says what was tried."""


# --------------------------------------------------------------------------------------------- local path or Hub id
def hub_offline() -> bool:
    """Whether ``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE``) is set now: only the local Hugging Face cache may be read."""
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return value.strip().upper() in OFFLINE_VALUES


def is_hub_id(name: str) -> bool:
    """Whether ``name`` is an explicit Hub id ``ORG/NAME``: exactly one slash, valid repository characters, no path
    syntax (``./``, ``../``, ``~``, an absolute path, a backslash) and ``ORG`` not an existing local folder."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id  # type: ignore[attr-defined]  # exported lazily, mypy cannot see it

    org, slash, repo = name.partition("/")
    if not slash or not org or not repo or "/" in repo or "\\" in name or name.startswith(("~", ".")):
        return False
    if Path(org).exists():  # ``runs/stage1`` beside an existing ``runs/`` is a path
        return False
    try:
        validate_repo_id(name)
    except HFValidationError:
        return False
    return True


def local_or_hub(name: str, what: str) -> Path | str:
    """Where ``name`` (a ``--data``, model or tokenizer argument) is read from: an existing local folder (as a Path),
    or the explicit Hub id ``ORG/NAME`` (as given). Anything else is an InputError saying what was tried; a mistyped
    local path never turns into a Hub request."""
    path = Path(name).expanduser()
    if path.is_dir():
        return path
    if path.exists():
        raise InputError(f"{name}: is a file, not a {what} folder")
    if is_hub_id(name):
        return name
    raise InputError(f"no such folder {name} (a {what} is a local folder or a Hub id ORG/NAME)")


def pretrained_source(name: str, what: str = "model") -> str:
    """What ``from_pretrained`` should read for ``name``: its local folder, or a Hub id. With ``HF_HUB_OFFLINE=1`` a
    Hub id must be in the local Hugging Face cache; its cached snapshot folder is returned, so nothing goes online."""
    found = local_or_hub(name, what)
    if isinstance(found, Path):
        return str(found)
    if not hub_offline():
        return found
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return snapshot_download(found, local_files_only=True)
    except LocalEntryNotFoundError as exc:
        partial = getattr(exc, "snapshot_path", None)  # an incomplete snapshot: from_pretrained says what it lacks
        if partial:
            return str(partial)
        raise InputError(f"{name} is not in the local Hugging Face cache and HF_HUB_OFFLINE=1 ({what} not downloaded)") from None


def first_line(exc: BaseException) -> str:
    """The first non-empty line of an exception's message (library errors often add advice over several lines)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def _umask() -> int:
    """The process's umask (read by setting it and putting it back: there is no other portable way)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode a plain ``open(path, "w")`` gives a new file: 0666 less the umask (``mkstemp`` would give 0600)."""
    return 0o666 & ~_umask()


def folder_mode() -> int:
    """The mode a plain ``mkdir`` gives a new folder: 0777 less the umask (``mkdtemp`` would give 0700)."""
    return 0o777 & ~_umask()


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one rename. The file gets the mode
    a plain ``open()`` would give it (:func:`file_mode`), not ``mkstemp``'s private 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.fchmod(handle, file_mode())
    os.close(handle)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text(path: Path, text: str) -> None:
    """Write UTF-8 text atomically: readers see the old file or the whole new one, never a partial write."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: Path, data: Any) -> None:
    """Pretty, key-sorted JSON (byte-identical for equal data)."""
    write_text(path, json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n")


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    """One key-sorted JSON object per line (non-ASCII kept as is), written atomically."""
    write_text(path, "".join(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n" for row in rows))


def write_parquet(path: Path, rows: list[dict[str, Any]], features: Features) -> None:
    """Write rows as parquet with the ``datasets`` feature metadata, so ``load_dataset`` restores the types."""
    table = pa.Table.from_pylist(rows, schema=features.arrow_schema)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd", write_statistics=False)


def read_hub_split(data: str, config: str, split: str) -> Dataset:
    """One split of one config of a hub dataset: a folder written by ``biohub build`` or an explicit Hub id ORG/NAME.

    A local folder is read straight from its parquet files (the card's ``configs`` say which), never through the
    ``datasets`` cache: that cache keys a local folder by its name and layout, not its content, so a folder rebuilt
    in place (or another folder of the same name) would silently return the old rows (huggingface/datasets#2956).
    A Hub id goes through ``load_dataset`` (cached by commit; offline with ``HF_HUB_OFFLINE=1``). Anything else — a
    mistyped folder above all — is an InputError, never a Hub request.
    """
    found = local_or_hub(data, "hub dataset")
    if isinstance(found, str):
        return _load_from_hub(found, config, split)
    folder = found
    configs = _card_configs(folder)
    if config not in configs:
        raise InputError(f"{folder}: no config {config!r} (has: {', '.join(sorted(configs)) or 'none'})")
    files = [entry for entry in configs[config].get("data_files", []) if entry["split"] == split]
    if not files:
        raise InputError(f"{folder}: config {config!r} has no split {split!r}")
    paths = sorted(p for entry in files for p in folder.glob(entry["path"]))
    if not paths:
        raise InputError(f"{folder}: config {config!r} split {split!r}: no file matches {files[0]['path']}")
    table = pa.concat_tables([pq.read_table(p) for p in paths])
    # the fingerprint names the files read and their state, so `datasets` need not hash (pickle) the whole table
    state = [f"{p.resolve()}:{info.st_size}:{info.st_mtime_ns}" for p, info in ((p, p.stat()) for p in paths)]
    return Dataset(table, fingerprint=hashlib.sha256("\n".join([config, split, *state]).encode()).hexdigest()[:16])


def _card_configs(folder: Path) -> dict[str, dict[str, Any]]:
    """``config name -> configs entry`` of a hub folder's card (its YAML front matter), read once per state of the
    card (path, size, modification time): evaluating a suite reads many splits of one folder."""
    card = folder / "README.md"
    try:
        stat = card.stat()
    except OSError:
        stat = None
    if stat is None or not card.is_file():
        raise InputError(f"{card}: no Hub card with a configs list (is {folder} a folder written by `biohub build`?)")
    return _parse_card_configs(str(card.resolve()), stat.st_size, stat.st_mtime_ns, str(card))


@functools.lru_cache(maxsize=16)
def _parse_card_configs(path: str, size: int, mtime_ns: int, card: str) -> dict[str, dict[str, Any]]:
    """The configs of the card at ``path`` (``size`` and ``mtime_ns`` only key the cache; ``card``: the path as
    given, for messages)."""
    text = Path(path).read_text(encoding="utf-8")
    if not text.startswith("---"):
        folder = Path(card).parent
        raise InputError(f"{card}: no Hub card with a configs list (is {folder} a folder written by `biohub build`?)")
    try:
        front = load_yaml(text.split("---", 2)[1], card) or {}
        return {entry["config_name"]: entry for entry in front.get("configs", [])}
    except (yaml.YAMLError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"{card}: the card's metadata has no readable configs list ({first_line(exc)})") from None


def _load_from_hub(repo_id: str, config: str, split: str) -> Dataset:
    """One split of a Hub dataset through ``load_dataset``; its failure as an InputError naming what was asked."""
    try:
        return load_dataset(repo_id, config, split=split)
    except (OSError, ConnectionError, ValueError) as exc:
        where = " (HF_HUB_OFFLINE=1: only the local Hugging Face cache was read)" if hub_offline() else ""
        raise InputError(f"{repo_id}: cannot load {config!r} split {split!r} from the Hub{where}: {first_line(exc)}") from None


# --------------------------------------------------------------------------------------------- progress files
def _jsonl_object(path: Path, number: int, line: bytes) -> dict[str, Any]:
    """Line ``number`` of a progress file as a JSON object, or an InputError naming ``path:number``."""
    try:
        row = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}:{number}: not a JSON line ({exc})") from None
    if not isinstance(row, dict):
        raise InputError(f"{path}:{number}: expected a JSON object, got {type(row).__name__}")
    return row


def _is_row(line: bytes) -> bool:
    """Whether ``line`` is a whole JSON object (a last line without its newline may still be one)."""
    try:
        return isinstance(json.loads(line.decode("utf-8")), dict)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return False


def read_jsonl_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a JSON Lines file that is appended to as work progresses (none when it does not exist).

    Every row ends with a newline, so only the last line can be torn by a crash mid-write: a last line without its
    newline that is not a whole JSON object is skipped (``append_jsonl`` cuts it before appending). Any other bad
    line is an InputError naming ``file:line``. Blank lines hold no row and are passed over."""
    if not path.is_file():
        return []
    lines = path.read_bytes().split(b"\n")
    last = lines.pop()  # b"" when the file ends with a newline
    rows = [_jsonl_object(path, number, line) for number, line in enumerate(lines, start=1) if line.strip()]
    if _is_row(last):
        rows.append(_jsonl_object(path, len(lines) + 1, last))
    return rows


def append_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    """Append rows to a progress file so that every row is a line of its own: a last line without its newline is
    completed when it is a whole JSON object (``read_jsonl_rows`` counts it) and cut otherwise (a torn write)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_file():
        data = path.read_bytes()
        if data and not data.endswith(b"\n"):
            cut = data.rfind(b"\n") + 1
            with path.open("r+b") as handle:
                if _is_row(data[cut:]):
                    handle.seek(0, os.SEEK_END)
                    handle.write(b"\n")
                else:
                    handle.truncate(cut)
    with path.open("a", encoding="utf-8") as handle:
        handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
