"""``biohub push HUBDIR --repo-id ORG/NAME``: publish a Hub repository folder as one commit -- or none when nothing changed.

The folder written by ``biohub build`` is compared with the remote branch file by file (git blob ids for regular
files, sha256 for LFS files, as ``HfApi.list_repo_tree`` reports them); what differs becomes one
``HfApi.create_commit`` with an add for every new or changed file and a delete for every remote file that is no longer
in the folder. The commit is made on top of the exact remote commit that was compared (``parent_commit``), so a
concurrent change makes the push fail instead of deleting someone else's files, and a failed push leaves the branch
at its previous commit. Hidden paths (any part starting with ``.``) are neither uploaded nor deleted: the Hub's own
``.gitattributes`` stays.

Why not ``HfApi.upload_folder(..., delete_patterns=..., parent_commit=...)``: with ``hf_xet`` installed (a dependency of
huggingface_hub), it streams a large folder as several commits (up to 256 files or 100 MiB of regular files each), so a
push would no longer be one atomic commit; and it has no dry run and reports no list of changes. ``create_commit`` with
``CommitOperationAdd``/``CommitOperationDelete`` is one commit; huggingface_hub hashes, uploads (LFS or Xet) and
commits the files, and the comparison above uses the identities the Hub itself reports.

The token comes from ``token``, else ``HF_TOKEN`` or the standard login (``huggingface_hub.get_token()``); it is
never printed or logged, and error messages are scrubbed of it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import biohub
from biohub.errors import BiohubError
from biohub.outputs import BUILD, require_complete

logger = logging.getLogger(__name__)

REPO_TYPE = "dataset"
DEFAULT_BRANCH = "main"
ChangeKind = Literal["add", "update", "delete"]


class PushError(BiohubError, RuntimeError):
    """A push that cannot start or did not complete; the message names the folder/file or the remote step."""

    exit_code = 1  # as before the one error family: `biohub push` exits with 1 when a push fails


@dataclass(frozen=True, slots=True)
class FileChange:
    """One file operation of the commit: ``size`` is the local size (add, update) or the remote size (delete)."""

    kind: ChangeKind
    path: str
    size: int


@dataclass(frozen=True, slots=True)
class PushResult:
    """What a push did (or, with ``dry_run``, would do). ``commit_oid`` is None when no commit was made."""

    repo_id: str
    revision: str
    changes: tuple[FileChange, ...]
    unchanged: int
    dry_run: bool
    commit_oid: str | None
    commit_url: str | None
    commit_message: str
    new_repo: bool  # the push created (dry run: would create) the repository
    new_branch: bool  # ... the branch, from main's head
    not_compared: str | None = None  # dry run only: why the remote could not be read (every file is then listed as an add)


@dataclass(frozen=True, slots=True)
class RemoteFile:
    """A remote file as ``list_repo_tree`` reports it: size, git blob id, and the sha256 of an LFS file's content."""

    size: int
    blob_id: str
    lfs_sha256: str | None


@dataclass(frozen=True, slots=True)
class RemoteState:
    """The remote repository as the push found it."""

    exists: bool
    private: bool | None
    branch_exists: bool
    head: str | None  # the compared commit (the branch's head, or main's when the branch is still to be created)
    files: dict[str, RemoteFile]


def push(
    hubdir: Path,
    repo_id: str,
    *,
    private: bool = False,
    revision: str | None = None,
    dry_run: bool = False,
    token: str | None = None,
    endpoint: str | None = None,
) -> PushResult:
    """Publish ``hubdir`` to the dataset repository ``repo_id`` (created if missing) on branch ``revision``."""
    from huggingface_hub import HfApi, get_token

    local = local_files(hubdir)
    info = read_build_info(hubdir)
    require_complete(hubdir, BUILD, "HUBDIR")  # the rule of every consumer: a complete `biohub build` output
    branch = revision if revision is not None else DEFAULT_BRANCH
    _check_names(repo_id, branch)
    if not dry_run and token is None and get_token() is None:
        raise PushError("no Hugging Face token: set HF_TOKEN or log in with `hf auth login` (a token with write access)")
    api = HfApi(endpoint=endpoint, token=token, library_name="biohub", library_version=biohub.__version__)
    where = f"{repo_id}@{branch}"
    if dry_run:
        return _dry_run(api, local, info, private, repo_id, branch, token)
    with _remote_errors(f"reading {where}", token):
        state = remote_state(api, repo_id, branch)
    result = _planned(local, info, state, private, repo_id, branch, dry_run)
    if not state.exists or not state.branch_exists:
        state = _create(api, state, private, repo_id, branch, token)
        first, result = result, _planned(local, info, state, private, repo_id, branch, dry_run)
        result = replace(result, new_repo=first.new_repo, new_branch=first.new_branch)
    if not result.changes:
        logger.info("%s already matches %s: no commit", where, hubdir)
        return result
    _, description = commit_message(info, result.changes)
    with _remote_errors(f"committing to {where} (the branch stays at {state.head})", token):
        commit = api.create_commit(
            repo_id, _operations(hubdir, result.changes), commit_message=result.commit_message,
            commit_description=description, repo_type=REPO_TYPE, revision=branch, parent_commit=state.head,
        )
    logger.info("committed %s to %s: %s", commit.oid, where, result_counts(result.changes))
    return replace(result, commit_oid=commit.oid, commit_url=str(commit.commit_url))


def _dry_run(api: Any, local: dict[str, Path], info: dict[str, Any], private: bool, repo_id: str, branch: str,
             token: str | None) -> PushResult:
    """The plan of a push, changing nothing. A remote that cannot be read (offline: ``HF_HUB_OFFLINE=1``, no network,
    no access) is not a failure here: every local file is listed as an add, and ``not_compared`` says why nothing could
    be compared (whether the repository exists, which files it holds, its visibility)."""
    where = f"{repo_id}@{branch}"
    try:
        with _remote_errors(f"reading {where}", token):
            state = remote_state(api, repo_id, branch)
    except PushError as exc:
        if exc.__cause__ is None:  # biohub's own refusal (a tag for a branch), not a remote that could not be read
            raise
        unknown = RemoteState(False, None, False, None, {})
        result = _planned(local, info, unknown, private, repo_id, branch, True)
        return replace(result, new_repo=False, not_compared=str(exc).removeprefix("push failed while "))
    return _planned(local, info, state, private, repo_id, branch, True)


def _planned(local: dict[str, Path], info: dict[str, Any], state: RemoteState, private: bool,
             repo_id: str, branch: str, dry_run: bool) -> PushResult:
    """Check the visibility, compare, and describe the commit that would make the remote equal the folder."""
    if private and state.exists and state.private is False:
        raise PushError(
            f"{repo_id} exists and is public, but --private was asked: make it private on the Hub first, "
            "or push without --private"
        )
    changes, unchanged = plan(local, state.files)
    new_branch = not state.branch_exists and (state.exists or branch != DEFAULT_BRANCH)
    result = PushResult(repo_id, branch, changes, unchanged, dry_run, None, None, commit_message(info, changes)[0],
                        new_repo=not state.exists, new_branch=new_branch)
    where = f"{repo_id}@{branch}"
    logger.info("%s%s (%s): %s, %d unchanged", "dry run: " if dry_run else "", where,
                f"at {state.head}" if state.exists else "new repository", result_counts(changes), unchanged)
    for change in changes:
        logger.debug("%s %s (%d bytes)", change.kind, change.path, change.size)
    return result


def _create(api: Any, state: RemoteState, private: bool, repo_id: str, branch: str, token: str | None) -> RemoteState:
    """Create the repository and/or the branch (from main's head); return the new remote state."""
    if not state.exists:
        with _remote_errors(f"creating the dataset repository {repo_id}", token):
            api.create_repo(repo_id, repo_type=REPO_TYPE, private=private, exist_ok=True)
            state = remote_state(api, repo_id, branch)
    if not state.branch_exists:
        with _remote_errors(f"creating the branch {branch} of {repo_id}", token):
            api.create_branch(repo_id, branch=branch, repo_type=REPO_TYPE, exist_ok=True)
            state = remote_state(api, repo_id, branch)
    return state


# --- the local folder ------------------------------------------------------------------------------------------------
def local_files(hubdir: Path) -> dict[str, Path]:
    """Repository path -> file for every file of ``hubdir`` except hidden ones (any part starting with ``.``)."""
    if not hubdir.is_dir():
        raise PushError(f"{hubdir}: not a folder (expected a folder written by `biohub build`)")
    if not (hubdir / "README.md").is_file():
        raise PushError(f"{hubdir / 'README.md'}: missing; the dataset card with the `configs:` list is required")
    found = {}
    for path in sorted(hubdir.rglob("*")):
        relative = path.relative_to(hubdir).as_posix()
        if any(part.startswith(".") for part in relative.split("/")) or path.is_dir():
            continue
        if not path.is_file():
            raise PushError(f"{path}: not a regular file")
        found[relative] = path
    return found


def read_build_info(hubdir: Path) -> dict[str, Any]:
    """``build_info.json``, checked for the two fields the commit message names."""
    path = hubdir / "build_info.json"
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PushError(f"{path}: missing; is {hubdir} a folder written by `biohub build`?") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PushError(f"{path}: not readable JSON ({exc})") from None
    if not isinstance(info, dict):
        raise PushError(f"{path}: expected a JSON object")
    if not isinstance(info.get("recipe_sha256"), str) or not re.fullmatch(r"[0-9a-f]{64}", info["recipe_sha256"]):
        raise PushError(f"{path}: \"recipe_sha256\" must be a sha256 hex digest, got {info.get('recipe_sha256')!r}")
    if not isinstance(info.get("biohub_version"), str) or not info["biohub_version"]:
        raise PushError(f"{path}: \"biohub_version\" must be a non-empty string, got {info.get('biohub_version')!r}")
    return info


def is_same(path: Path, remote: RemoteFile) -> bool:
    """Whether the local file has the remote file's content, compared as huggingface_hub's own commit does: the sha256
    of an LFS file (``hashlib.file_digest``), the git blob id of a regular one (``huggingface_hub``'s ``git_hash``; the
    Hub keeps regular files small, so one read is fine)."""
    from huggingface_hub.utils.sha import git_hash

    if path.stat().st_size != remote.size:
        return False
    if remote.lfs_sha256 is not None:
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest() == remote.lfs_sha256
    return git_hash(path.read_bytes()) == remote.blob_id


def plan(local: dict[str, Path], remote: dict[str, RemoteFile]) -> tuple[tuple[FileChange, ...], int]:
    """The changes that make the remote equal the folder (sorted by path), and the number of unchanged files."""
    changes, unchanged = [], 0
    for path, file in local.items():
        if path not in remote:
            changes.append(FileChange("add", path, file.stat().st_size))
        elif is_same(file, remote[path]):
            unchanged += 1
        else:
            changes.append(FileChange("update", path, file.stat().st_size))
    for path, file_info in remote.items():
        if path not in local and not any(part.startswith(".") for part in path.split("/")):
            changes.append(FileChange("delete", path, file_info.size))
    return tuple(sorted(changes, key=lambda change: change.path)), unchanged


def commit_message(info: dict[str, Any], changes: tuple[FileChange, ...]) -> tuple[str, str]:
    """Summary (recipe hash and biohub version) and description (counts, then one line per change)."""
    summary = f"biohub {info['biohub_version']}: dataset built from recipe sha256 {info['recipe_sha256']}"
    lines = [
        f"recipe_sha256: {info['recipe_sha256']}",
        f"built with biohub {info['biohub_version']}; pushed with biohub {biohub.__version__}",
        result_counts(changes),
        "",
        *(f"{change.kind} {change.path} ({change.size} bytes)" for change in changes[:200]),
    ]
    if len(changes) > 200:
        lines.append(f"... and {len(changes) - 200} more")
    return summary, "\n".join(lines)


def result_counts(changes: tuple[FileChange, ...]) -> str:
    """How many files the changes add, update and delete, as one phrase ("2 added, 1 updated, 0 deleted")."""
    kinds = {"add": "added", "update": "updated", "delete": "deleted"}
    return ", ".join(f"{sum(c.kind == kind for c in changes)} {word}" for kind, word in kinds.items())


def _operations(hubdir: Path, changes: tuple[FileChange, ...]) -> list[Any]:
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete

    return [
        CommitOperationDelete(path_in_repo=change.path, is_folder=False)
        if change.kind == "delete"
        else CommitOperationAdd(path_in_repo=change.path, path_or_fileobj=str(hubdir / change.path))
        for change in changes
    ]


# --- the remote ------------------------------------------------------------------------------------------------------
def remote_state(api: Any, repo_id: str, branch: str) -> RemoteState:
    """The repository's existence and visibility, and the files of ``branch`` (of main when it is still to be made)."""
    from huggingface_hub.errors import RepositoryNotFoundError

    try:
        info = api.repo_info(repo_id, repo_type=REPO_TYPE)
    except RepositoryNotFoundError:
        return RemoteState(False, None, False, None, {})
    refs = api.list_repo_refs(repo_id, repo_type=REPO_TYPE)
    branches = {ref.name: ref.target_commit for ref in refs.branches}
    if branch not in branches and branch in {ref.name for ref in refs.tags}:
        raise PushError(f"{repo_id}: {branch!r} is a tag; push needs a branch (--revision names a branch to commit to)")
    head = branches.get(branch) or branches.get(DEFAULT_BRANCH) or info.sha
    files = {}
    if head is not None:
        for entry in api.list_repo_tree(repo_id, recursive=True, revision=head, repo_type=REPO_TYPE):
            if hasattr(entry, "blob_id"):  # a RepoFile (folders have no blob id)
                files[entry.path] = RemoteFile(entry.size, entry.blob_id, entry.lfs.sha256 if entry.lfs else None)
    return RemoteState(True, info.private, branch in branches, head, files)


def _check_names(repo_id: str, branch: str) -> None:
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", repo_id) or ".." in repo_id:
        raise PushError(f"repo id {repo_id!r}: expected ORG/NAME (letters, digits, '-', '_', '.')")
    if not branch or branch.startswith(("/", "-", "refs/")) or any(c in branch for c in " ~^:?*[\\"):
        raise PushError(f"revision {branch!r}: expected a branch name")


@contextmanager
def _remote_errors(step: str, token: str | None) -> Iterator[None]:
    """Turn any failure of a remote step into a PushError naming the step, with the token scrubbed from the text."""
    try:
        yield
    except PushError:
        raise
    except Exception as exc:  # every failure of a remote step is reported the same way
        from huggingface_hub.errors import HfHubHTTPError

        reasons: list[str] = []
        cause: BaseException | None = exc
        while cause is not None and len(reasons) < 4:  # the client's wrappers hide the server's answer in the causes
            reasons.append(f"{type(cause).__name__}: {' '.join(str(cause).split())}")
            cause = None if isinstance(cause, HfHubHTTPError) else cause.__cause__
        raise PushError(_scrub(f"push failed while {step}: {' <- '.join(reasons)}", token)) from exc


def _scrub(text: str, token: str | None) -> str:
    """Replace the token (explicit or from the login) and drop URL query strings (presigned upload URLs)."""
    from huggingface_hub import get_token

    text = re.sub(r"(https?://[^\s?'\"]+)\?[^\s'\"]*", r"\1?...", text)
    secrets = {token}
    with suppress(Exception):  # an unreadable login leaves only the explicit token to scrub
        secrets.add(get_token())
    for secret in [secret for secret in secrets if secret]:
        text = text.replace(secret, "<token>")
    return text
