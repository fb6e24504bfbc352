"""Output folders: which folder a command may write, how it is replaced without losing the old one, and where inside it.

The rule, for every command that writes a folder (``convert``, ``instruct``, ``build``, ``export``, ``train``,
``eval``/``score``, ``report``, ``selfinstruct``): ``--out`` may be a folder that does not exist, an empty folder, or a
folder that the same command wrote, recognised by its completion record (:data:`KINDS`: ``build_info.json`` of a
build, the ledger of a conversion, ...). Anything else — a file, a project folder, another command's output — is refused with an
InputError and left untouched. A folder of the same kind is replaced only with ``--overwrite``; a command that
continues or merges into its own folder (``convert`` adds datasets, ``eval`` reuses answers, ``train --resume``)
says so with ``reuse=True``.

New output is written into a temporary hidden sibling (``.NAME.XXXX.tmp``) that is renamed into place once complete
(:func:`replacing`), so a failed or interrupted command leaves the previous output as it was, and a consumer never
sees a half-written folder; a command killed between the two renames of the swap is finished by the next run
(:func:`recover`). Files and folders get the modes a plain ``open()``/``mkdir()`` gives under the umask.
"""

from __future__ import annotations

import errno
import glob
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from biohub.errors import ConfigError, OutputExistsError
from biohub.io import InputError, folder_mode, local_or_hub

NAME_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")  # one path component, never hidden, never `..`


def check_name(value: str, option: str) -> str:
    """``value`` if it is a safe name for a file or folder of an output (a dataset name, a split): letters, digits,
    ``_``, ``.`` and ``-``, not starting with ``.``; else a ConfigError naming ``option``."""
    if not NAME_PATTERN.fullmatch(value):
        raise ConfigError(
            f"{option} {value!r}: not a name (use letters, digits, '_', '.', '-', not starting with '.'; no '/')"
        )
    return value


def inside(out: Path, path: Path) -> Path:
    """``path`` if it lies under the folder ``out`` once both are resolved (symbolic links followed); else an
    InputError: nothing is ever written outside an output folder."""
    root, target = Path(os.path.realpath(out)), Path(os.path.realpath(path))
    if target != root and root not in target.parents:
        raise InputError(f"{path}: lies outside the output folder {out}; refusing to write it")
    return path


# --------------------------------------------------------------------------------------------- recognising a folder
def _json_object(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``, or None when it is missing or not a readable JSON object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _record_problem(path: Path) -> str:
    """Why the completion record ``path`` (present) is not recognised: its JSON error with the line, or its layout."""
    try:
        json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        return f"{path}:{exc.lineno}: invalid JSON"
    except (OSError, UnicodeDecodeError) as exc:
        return f"{path}: unreadable ({exc})"
    return f"{path} does not have the layout this command writes"


def _is_build(folder: Path) -> bool:
    info = _json_object(folder / "build_info.json")
    return info is not None and {"configs", "recipe_sha256"} <= set(info) and (folder / "README.md").is_file()


def _is_conversion(folder: Path) -> bool:
    ledger = _json_object(folder / "ledger.json")
    if ledger is None or {"settings", "datasets"} <= set(ledger):
        return False
    subfolders = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")]
    return all((p / "info.json").is_file() for p in subfolders)


def _is_instructions(folder: Path) -> bool:
    ledger = _json_object(folder / "ledger.json")
    return ledger is not None and {"settings", "datasets"} <= set(ledger)


def _is_export(folder: Path) -> bool:
    usage = ("dataset_info.json", "chat_template.jinja", "utils.py", "eval/manifest.json")
    others = ("build_info.json", "ledger.json", "results.json")
    return (folder / "README.md").is_file() and any((folder / f).is_file() for f in usage) and not any(
        (folder / f).exists() for f in others
    )


def _is_run(folder: Path) -> bool:
    saved = _json_object(folder / "recipe.json")
    return saved is not None and {"recipe", "data", "sha256"} <= set(saved)


def _is_results(folder: Path) -> bool:
    return (folder / "generation_settings.json").is_file() or (folder / "results.json").is_file()


def _is_report(folder: Path) -> bool:
    return (folder / "report.md").is_file() and (folder / "report.html").is_file() and not _is_results(folder)


SELFINSTRUCT_ENTRIES = frozenset(
    {"state", "instructions.json", "ledger.json", "catalog", "recipe.yaml", "categories.png", "README.md"}
)


def _is_selfinstruct(folder: Path) -> bool:
    """A ``biohub selfinstruct`` folder, resumable (its ``state/``) or finished (its ledger), holding nothing but what
    the command writes."""
    names = {entry.name for entry in folder.iterdir() if not entry.name.startswith(".")}
    ledger = _json_object(folder / "ledger.json") or {}
    return names <= SELFINSTRUCT_ENTRIES and ((folder / "state").is_dir() or {"generator", "accepted"} <= set(ledger))


@dataclass(frozen=True)
class OutputKind:
    """What one command writes: its name, its completion record (named in messages) and the test of its layout."""

    command: str
    record: str
    recognise: Callable[[Path], bool]


BUILD = OutputKind("build", "build_info.json", _is_build)
CONVERT = OutputKind("convert", "ledger.json", _is_conversion)
INSTRUCT = OutputKind("instruct", "ledger.json", _is_instructions)
EXPORT = OutputKind("export", "README.md", _is_export)
TRAIN = OutputKind("train", "recipe.json", _is_run)
EVAL = OutputKind("eval", "results.json", _is_results)
REPORT = OutputKind("report", "report.md", _is_report)
SELFINSTRUCT = OutputKind("selfinstruct", "state/ or ledger.json", _is_selfinstruct)
KINDS = (BUILD, CONVERT, INSTRUCT, EXPORT, TRAIN, EVAL, REPORT, SELFINSTRUCT)


def written_by(folder: Path) -> OutputKind | None:
    """The command whose complete output ``folder`` is (None: not a biohub output, or not a complete one)."""
    return next((kind for kind in KINDS if folder.is_dir() and kind.recognise(folder)), None)


def claim(out: Path, kind: OutputKind, *, overwrite: bool = False, reuse: bool = False) -> None:
    """Check that ``kind``'s command may write ``out`` (see the module's rule); an InputError or OutputExistsError
    naming ``out`` and the reason otherwise. ``overwrite``: a folder of this kind may be replaced; ``reuse``: a
    folder of this kind is continued or merged into (the command's documented behaviour)."""
    for place in (out, *out.parents):
        if place.is_symlink() and not place.exists():  # a link loop or a broken link: cannot be written through
            try:
                os.stat(place)
                reason = "a symbolic link that cannot be followed"
            except OSError as exc:
                reason = "a symbolic link loop" if exc.errno == errno.ELOOP else "a broken symbolic link"
            raise InputError(f"{place}: is {reason}; --out must be a folder" + ("" if place == out else f" (not {out})"))
        if place.exists() and not place.is_dir():
            raise InputError(f"{place}: is a file; --out must be a folder" + ("" if place == out else f" (not {out})"))
    if not out.exists() or not any(out.iterdir()):
        return
    if not kind.recognise(out):
        other = written_by(out)
        mine = f"not written by `biohub {kind.command}` (no {kind.record})"
        if (out / kind.record).is_file():
            mine = f"not a complete `biohub {kind.command}` output ({_record_problem(out / kind.record)})"
        what = f"the output of `biohub {other.command}`" if other else mine
        raise OutputExistsError(f"{out}: exists and is not empty, and is {what}; left untouched: give a new or empty folder")
    if not (overwrite or reuse):
        raise OutputExistsError(
            f"{out}: exists and is not empty: it holds an earlier `biohub {kind.command}` output; pass --overwrite to replace it"
        )


def require_complete(folder: Path, kind: OutputKind, option: str) -> None:
    """An InputError unless ``folder`` is a complete output of ``kind``'s command (its completion record present):
    a consumer never reads a half-written or foreign folder."""
    if not folder.is_dir():
        raise InputError(f"no such folder {folder} ({option}: a folder written by `biohub {kind.command}`)")
    if not kind.recognise(folder):
        raise InputError(
            f"{folder}: not a complete output of `biohub {kind.command}` (no matching {kind.record}: "
            f"the command was interrupted or failed, or the folder is another's); {option} needs one"
        )


def require_hub(data: str, option: str) -> Path | str:
    """Where ``data`` (a consumer's hub argument) is read from: a local folder that is a complete ``biohub build``
    output (its ``build_info.json`` present: :func:`require_complete`), or an explicit Hub id ORG/NAME (as given).
    A killed build or a hand-made folder is refused here, by every consumer alike, before any loading."""
    found = local_or_hub(data, "hub dataset")
    if isinstance(found, Path):
        require_complete(found, BUILD, option)
    return found


# --------------------------------------------------------------------------------------------- replacing a folder
def _link_or_copy(source: str, target: str) -> None:
    """Hard-link ``source`` to ``target`` (files are only ever replaced, never changed in place), else copy it."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _keep_others(out: Path, work: Path) -> None:
    """Bring every entry of ``out`` that ``work`` does not hold into ``work`` (a merge keeps what it did not redo)."""
    for entry in out.iterdir():
        target = work / entry.name
        if target.exists() or target.is_symlink():
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.copytree(entry, target, symlinks=True, copy_function=_link_or_copy)
        else:
            _link_or_copy(str(entry), str(target))


def _swap(work: Path, out: Path) -> None:
    """Put the finished folder ``work`` in the place of ``out``: two renames, the old folder removed last."""
    if not out.exists():
        os.replace(work, out)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
    os.replace(out, old / out.name)
    os.replace(work, out)
    shutil.rmtree(old, ignore_errors=True)


def recover(out: Path) -> None:
    """Finish what a command killed inside :func:`_swap` left beside ``out``: a hidden ``.NAME.XXXX.old`` folder holding
    the previous output. When ``out`` is gone (killed between the two renames) the previous output is put back; when
    ``out`` is there (killed before the old one was removed) the old one is removed. Only a folder whose single entry
    is a complete biohub output named ``NAME`` (:func:`written_by`) is touched; anything else is left as it is."""
    for old in sorted(out.parent.glob(f".{glob.escape(out.name)}.*.old")):
        entries = list(old.iterdir()) if old.is_dir() and not old.is_symlink() else []
        kept = old / out.name
        if entries != [kept] or kept.is_symlink() or written_by(kept) is None:
            continue
        if not out.exists() and not out.is_symlink():
            os.replace(kept, out)
            old.rmdir()
        else:
            shutil.rmtree(old)


@contextmanager
def replacing(out: Path, kind: OutputKind, *, overwrite: bool = False, merge: bool = False) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``out`` to write ``kind``'s output into; when the block ends without an
    error it takes the place of ``out``, else it is removed and ``out`` is left as it was.

    ``out`` is claimed first (:func:`claim`) and again just before the swap. ``merge``: the entries of an existing
    ``out`` of this kind that the new output does not hold are kept (hard links, not copies of the data)."""
    out = Path(os.path.realpath(out))
    if out.parent.is_dir():
        recover(out)  # a previous run killed mid-swap: its output is put back (or its superseded one removed) first
    claim(out, kind, overwrite=overwrite, reuse=merge)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        work.chmod(folder_mode())  # mkdtemp makes it private; the output is an ordinary folder
        yield work
        claim(out, kind, overwrite=overwrite, reuse=merge)
        if merge and out.is_dir():
            _keep_others(out, work)
        _swap(work, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
