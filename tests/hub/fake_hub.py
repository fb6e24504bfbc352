"""A small Hugging Face Hub-compatible HTTP endpoint for tests, on 127.0.0.1.

It answers the routes ``huggingface_hub.HfApi`` uses to publish (checked against huggingface_hub 2.4's sources):
``create_repo``, ``repo_info``/``dataset_info``, ``list_repo_refs``, ``create_branch``, ``list_repo_tree``,
``get_paths_info``, README front-matter validation, ``preupload`` (regular or LFS), the LFS
batch API with the *basic* transfer (uploads go to this same server) and ``commit`` (an NDJSON body of
``header``/``file``/``lfsFile``/``deletedFile``/``deletedFolder`` lines).

Each repository is a git repository under ``ROOT/<models|datasets|spaces>/<org>/<name>`` (never checked out; the
git CLI writes it) with LFS files stored as pointers and their content in ``.git/lfs/objects/aa/bb/<sha256>`` --
the layout git-lfs uses and olah's local mirrors read. A commit is atomic: every line is validated, the new tree and
commit objects are written, and only then ``git update-ref`` moves the branch (compare-and-swap on the old head), so
a failure leaves the branch at its previous commit. ``fail_next(stage, status)`` injects one failure.
Xet storage is not served: clients must take the LFS path (set ``huggingface_hub.constants.HF_HUB_DISABLE_XET``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import secrets
import socket
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from fnmatch import fnmatch
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

MAX_BODY = 256 * 1024 * 1024  # the largest request body accepted
LFS_THRESHOLD = 10 * 1024 * 1024  # like the Hub: larger files always go to LFS
GITATTRIBUTES = "".join(
    f"{pattern} filter=lfs diff=lfs merge=lfs -text\n"
    for pattern in ("*.arrow", "*.bin", "*.gz", "*.parquet", "*.pt", "*.safetensors", "*.tar", "*.zip", "*.zst")
)
POINTER = "version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {size}\n"
POINTER_RE = re.compile(rb"version https://git-lfs\.github\.com/spec/v1\noid sha256:([0-9a-f]{64})\nsize ([0-9]+)\n")
ZERO_OID = "0" * 40
STAGES = ("create_repo", "preupload", "lfs_batch", "lfs_upload", "commit", "commit_before_ref_update")
_REPO = r"(?P<type>models|datasets|spaces)/(?P<org>[^/]+)/(?P<name>[^/]+)"


class HubError(Exception):
    """An HTTP error answer: status, message, and the ``X-Error-Code`` huggingface_hub maps to its errors."""

    def __init__(self, status: int, message: str, code: str | None = None, **fields: Any) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.fields = status, message, code, fields


@dataclass(frozen=True, slots=True)
class Entry:
    """A file or directory of a commit, as the Hub's tree and paths-info routes describe it."""

    path: str
    kind: str  # "file" | "directory"
    oid: str  # git blob/tree id
    size: int  # content size (an LFS file's real size)
    lfs_oid: str | None = None
    pointer_size: int | None = None

    def to_json(self) -> dict[str, Any]:
        item: dict[str, Any] = {"type": self.kind, "oid": self.oid, "size": self.size, "path": self.path}
        if self.lfs_oid is not None:
            item["lfs"] = {"oid": self.lfs_oid, "size": self.size, "pointerSize": self.pointer_size}
        return item


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _check_path(path: Any) -> str:
    if not isinstance(path, str) or not path or path.startswith("/") or path.endswith("/"):
        raise HubError(400, f"invalid path {path!r}")
    if any(part in ("", ".", "..", ".git") for part in path.split("/")):
        raise HubError(400, f"invalid path {path!r}")
    return path


class GitRepo:
    """One repository: a non-bare git repository that is never checked out, written only with git plumbing."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lfs_dir = path / ".git" / "lfs" / "objects"

    def git(self, *args: str, data: bytes | None = None, env: dict[str, str] | None = None) -> bytes:
        base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.path), "LC_ALL": "C",
                "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_AUTHOR_NAME": "fake-hub",
                "GIT_AUTHOR_EMAIL": "fake-hub@127.0.0.1", "GIT_COMMITTER_NAME": "fake-hub",
                "GIT_COMMITTER_EMAIL": "fake-hub@127.0.0.1"}
        done = subprocess.run(["git", *args], cwd=self.path, input=data, capture_output=True, env={**base, **(env or {})},
                              timeout=60, check=False)
        if done.returncode != 0:
            raise HubError(500, f"git {args[0]} failed: {done.stderr.decode(errors='replace').strip()}")
        return done.stdout

    def init(self) -> None:
        self.path.mkdir(parents=True)
        self.git("init", "-q", "-b", "main", ".")
        tree = self._tree({}, {".gitattributes": GITATTRIBUTES.encode()})
        commit = self.git("commit-tree", tree, "-m", "initial commit").decode().strip()
        self.git("update-ref", "refs/heads/main", commit, "")

    def refs(self, prefix: str) -> dict[str, str]:
        out = self.git("for-each-ref", "--format=%(refname) %(objectname)", prefix).decode()
        return {ref.removeprefix(prefix): oid for ref, oid in (line.split() for line in out.splitlines())}

    def resolve(self, rev: str) -> str | None:
        """A branch, a tag or a full commit id -> the commit id (None when unknown)."""
        for prefix in ("refs/heads/", "refs/tags/"):
            if rev in (found := self.refs(prefix)):
                return found[rev]
        if re.fullmatch(r"[0-9a-f]{40}", rev):
            try:
                return rev if self.git("cat-file", "-t", rev).strip() == b"commit" else None
            except HubError:
                return None
        return None

    def entries(self, commit: str) -> dict[str, Entry]:
        """Every file and directory of ``commit`` by path, LFS pointers read as their files."""
        listing = [
            item.split("\t", 1) for item in self.git("ls-tree", "-r", "-t", "-l", "-z", commit).decode().split("\0") if item
        ]
        small = [meta.split()[2] for meta, _ in listing if meta.split()[1] == "blob" and int(meta.split()[3]) < 200]
        contents = self.blobs(small)
        found = {}
        for meta, path in listing:
            _, kind, oid, size = meta.split()
            if kind == "tree":
                found[path] = Entry(path, "directory", oid, 0)
                continue
            pointer = POINTER_RE.fullmatch(contents.get(oid, b""))
            if pointer:
                found[path] = Entry(path, "file", oid, int(pointer[2]), pointer[1].decode(), int(size))
            else:
                found[path] = Entry(path, "file", oid, int(size))
        return found

    def blobs(self, oids: list[str]) -> dict[str, bytes]:
        if not oids:
            return {}
        out, contents, pos = self.git("cat-file", "--batch", data="".join(f"{oid}\n" for oid in oids).encode()), {}, 0
        for oid in oids:
            header_end = out.index(b"\n", pos)
            size = int(out[pos:header_end].split()[2])
            contents[oid] = out[header_end + 1: header_end + 1 + size]
            pos = header_end + 2 + size
        return contents

    def lfs_object(self, oid: str) -> Path:
        return self.lfs_dir / oid[:2] / oid[2:4] / oid

    def read(self, entry: Entry) -> bytes:
        return self.lfs_object(entry.lfs_oid).read_bytes() if entry.lfs_oid else self.blobs([entry.oid])[entry.oid]

    def _tree(self, parent_files: dict[str, str], changes: dict[str, bytes | None]) -> str:
        """Write the tree of ``parent_files`` (path -> blob id) with ``changes`` (None deletes) in a scratch index."""
        with tempfile.TemporaryDirectory() as scratch:
            env = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
            lines = [f"100644 {oid}\t{path}" for path, oid in sorted(parent_files.items()) if path not in changes]
            for path, content in sorted(changes.items()):
                if content is not None:
                    lines.append(f"100644 {self.git('hash-object', '-w', '--stdin', data=content).decode().strip()}\t{path}")
            self.git("update-index", "--add", "--index-info", data="".join(f"{line}\n" for line in lines).encode(), env=env)
            return self.git("write-tree", env=env).decode().strip()

    def commit(self, branch: str, parent: str, changes: dict[str, bytes | None], message: list[str],
               before_ref_update: Any = None) -> str:
        files = {path: entry.oid for path, entry in self.entries(parent).items() if entry.kind == "file"}
        tree = self._tree(files, changes)
        commit = self.git("commit-tree", tree, "-p", parent, *(arg for part in message if part for arg in ("-m", part)))
        commit_oid = commit.decode().strip()
        if before_ref_update is not None:
            before_ref_update()
        self.git("update-ref", f"refs/heads/{branch}", commit_oid, parent)  # compare-and-swap: atomic
        return commit_oid


class FakeHub:
    """The endpoint: ``with FakeHub(root, token) as hub: HfApi(endpoint=hub.url, token=token) ...``."""

    def __init__(self, root: Path, token: str) -> None:
        self.root, self._token = root, token
        self._secret = secrets.token_hex(16)  # signs the LFS upload URLs (like presigned URLs)
        self._private: dict[str, bool] = {}
        self._failures: dict[str, int] = {}
        self._lock = threading.Lock()
        self.requests: list[str] = []  # "METHOD /path -> status" (never headers)
        self.authorized_writes = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle --------------------------------------------------------------------------------------------
    def start(self) -> FakeHub:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.hub = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.close_connections()
            self._server.server_close()
            self._thread.join(timeout=10)
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "the fake Hub is not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def fail_next(self, stage: str, status: int = 500) -> None:
        """Make the next request of ``stage`` (one of STAGES) fail with ``status``."""
        assert stage in STAGES, stage
        self._failures[stage] = status

    def _maybe_fail(self, stage: str) -> None:
        if stage in self._failures:
            raise HubError(self._failures.pop(stage), f"injected failure at {stage}")

    # --- helpers for tests ------------------------------------------------------------------------------------
    def repo(self, repo_id: str, repo_type: str = "dataset") -> GitRepo | None:
        path = self.root / f"{repo_type}s" / repo_id
        return GitRepo(path) if (path / ".git").is_dir() else None

    def head(self, repo_id: str, branch: str = "main", repo_type: str = "dataset") -> str | None:
        repo = self.repo(repo_id, repo_type)
        return None if repo is None else repo.refs("refs/heads/").get(branch)

    def history(self, repo_id: str, branch: str = "main", repo_type: str = "dataset") -> list[tuple[str, str]]:
        """(commit id, full message) of the branch, newest first."""
        repo = self.repo(repo_id, repo_type)
        assert repo is not None, repo_id
        out = repo.git("log", "--format=%H%x1f%B%x1e", f"refs/heads/{branch}").decode()
        return [tuple(item.strip("\n").split("\x1f", 1)) for item in out.split("\x1e") if item.strip()]  # type: ignore[misc]

    def files(self, repo_id: str, revision: str = "main", repo_type: str = "dataset") -> dict[str, bytes]:
        """Every file of the revision with its content (LFS files resolved)."""
        repo = self.repo(repo_id, repo_type)
        assert repo is not None, repo_id
        entries = repo.entries(repo.resolve(revision) or revision)
        return {path: repo.read(entry) for path, entry in entries.items() if entry.kind == "file"}

    def lfs_files(self, repo_id: str, revision: str = "main", repo_type: str = "dataset") -> set[str]:
        repo = self.repo(repo_id, repo_type)
        assert repo is not None, repo_id
        return {path for path, entry in repo.entries(repo.resolve(revision) or revision).items() if entry.lfs_oid}

    def is_private(self, repo_id: str, repo_type: str = "dataset") -> bool:
        return self._private[f"{repo_type}s/{repo_id}"]

    # --- request handling -------------------------------------------------------------------------------------
    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        split = urlsplit(target)
        query = {key: values[-1] for key, values in parse_qs(split.query).items()}
        for route_method, pattern, handler in _ROUTES:
            match = re.fullmatch(pattern, split.path)
            if match and route_method == method:
                args = {key: unquote(value) for key, value in match.groupdict().items() if value is not None}
                try:
                    return 200, {}, json.dumps(handler(self, headers=headers, body=body, query=query, **args)).encode()
                except HubError as exc:
                    extra = {"X-Error-Message": exc.message, **({"X-Error-Code": exc.code} if exc.code else {})}
                    return exc.status, extra, json.dumps({"error": exc.message, **exc.fields}).encode()
        return 404, {}, json.dumps({"error": f"no route {method} {split.path}"}).encode()

    def _authorized(self, headers: dict[str, str]) -> bool:
        given = headers.get("authorization", "")
        return hmac.compare_digest(given, f"Bearer {self._token}")

    def _require_write(self, headers: dict[str, str]) -> None:
        if not self._authorized(headers):
            raise HubError(401, "Invalid credentials in Authorization header" if headers.get("authorization") else "Unauthorized")
        self.authorized_writes += 1

    def _open(self, type: str, org: str, name: str, headers: dict[str, str]) -> GitRepo:
        key = f"{type}/{org}/{name}"
        repo = GitRepo(self.root / key)
        if not (repo.path / ".git").is_dir() or (self._private.get(key) and not self._authorized(headers)):
            raise HubError(404, "Repository not found", "RepoNotFound")
        return repo

    def _commit_of(self, repo: GitRepo, rev: str) -> str:
        commit = repo.resolve(rev)
        if commit is None:
            raise HubError(404, f"Invalid rev id: {rev}", "RevisionNotFound")
        return commit

    def _branch(self, repo: GitRepo, rev: str) -> str:
        if rev not in repo.refs("refs/heads/"):
            raise HubError(404, f"Invalid rev id: {rev} (not a branch)", "RevisionNotFound")
        return rev

    def _base(self, type: str, org: str, name: str) -> str:
        prefix = "" if type == "models" else f"{type}/"
        return f"{self.url}/{prefix}{org}/{name}"


# --- routes -----------------------------------------------------------------------------------------------------
def create_repo(hub: FakeHub, *, headers: dict[str, str], body: bytes, **_: Any) -> dict[str, Any]:
    hub._require_write(headers)
    hub._maybe_fail("create_repo")
    payload = json.loads(body)
    type_ = {"model": "models", "dataset": "datasets", "space": "spaces"}.get(payload.get("type") or "model")
    org, name = payload.get("organization"), payload.get("name")
    if type_ is None or not isinstance(org, str) or not isinstance(name, str) or not re.fullmatch(r"[\w.-]+", org + name):
        raise HubError(400, f"invalid repository {payload!r}")
    with hub._lock:
        repo = GitRepo(hub.root / type_ / org / name)
        if (repo.path / ".git").is_dir():
            raise HubError(409, "You already created this repo", url=hub._base(type_, org, name))
        repo.init()
        hub._private[f"{type_}/{org}/{name}"] = payload.get("visibility") == "private"
    return {"url": hub._base(type_, org, name), "name": f"{org}/{name}", "id": f"{org}/{name}"}


def validate_yaml(hub: FakeHub, *, body: bytes, **_: Any) -> dict[str, Any]:
    content = json.loads(body).get("content", "")
    match = re.match(r"---\n(.*?)\n---", content, flags=re.DOTALL)
    try:
        meta = yaml.safe_load(match[1]) if match else {}
    except yaml.YAMLError as exc:
        raise HubError(400, f"invalid YAML: {exc}") from None
    if meta is not None and not isinstance(meta, dict):
        raise HubError(400, "the metadata must be a mapping")
    return {"errors": [], "warnings": []}


def repo_info(
    hub: FakeHub, *, headers: dict[str, str], type: str, org: str, name: str, rev: str = "main", **_: Any
) -> dict[str, Any]:
    repo = hub._open(type, org, name, headers)
    commit = hub._commit_of(repo, rev)
    files = sorted(path for path, entry in repo.entries(commit).items() if entry.kind == "file")
    return {"_id": hashlib.sha1(f"{type}/{org}/{name}".encode()).hexdigest()[:24], "id": f"{org}/{name}", "author": org,
            "sha": commit, "private": hub._private.get(f"{type}/{org}/{name}", False), "disabled": False, "gated": False,
            "lastModified": _now(), "tags": [], "siblings": [{"rfilename": path} for path in files]}


def list_refs(hub: FakeHub, *, headers: dict[str, str], type: str, org: str, name: str, **_: Any) -> dict[str, Any]:
    repo = hub._open(type, org, name, headers)

    def refs(prefix: str) -> list[dict[str, str]]:
        return [{"name": n, "ref": f"{prefix}{n}", "targetCommit": oid} for n, oid in sorted(repo.refs(prefix).items())]

    return {"branches": refs("refs/heads/"), "tags": refs("refs/tags/"), "converts": [], "pullRequests": []}


def create_branch(
    hub: FakeHub, *, headers: dict[str, str], body: bytes, type: str, org: str, name: str, branch: str, **_: Any
) -> dict[str, Any]:
    hub._require_write(headers)
    repo = hub._open(type, org, name, headers)
    start = json.loads(body or b"{}").get("startingPoint") or "main"
    if subprocess.run(["git", "check-ref-format", "--branch", branch], capture_output=True, check=False).returncode:
        raise HubError(400, f"invalid branch name {branch!r}")
    with hub._lock:
        if branch in repo.refs("refs/heads/"):
            raise HubError(409, "Reference already exists")
        repo.git("update-ref", f"refs/heads/{branch}", hub._commit_of(repo, start), "")
    return {}


def _with_last_commit(repo: GitRepo, commit: str, entry: Entry) -> dict[str, Any]:
    oid, title, stamp = repo.git("log", "-1", "--format=%H%x1f%s%x1f%ct", commit, "--", entry.path).decode().strip().split("\x1f")
    date = datetime.fromtimestamp(int(stamp), UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return {**entry.to_json(), "lastCommit": {"id": oid, "title": title, "date": date}}


def tree(hub: FakeHub, *, headers: dict[str, str], query: dict[str, str], type: str, org: str, name: str, rev: str,
         path: str = "", **_: Any) -> list[dict[str, Any]]:
    repo = hub._open(type, org, name, headers)
    commit = hub._commit_of(repo, rev)
    entries = repo.entries(commit)
    if path and (path not in entries or entries[path].kind != "directory"):
        raise HubError(404, f"{path} does not exist on {rev}", "EntryNotFound")
    recursive, expand = query.get("recursive", "").lower() in ("1", "true"), query.get("expand", "").lower() in ("1", "true")
    prefix = f"{path}/" if path else ""
    chosen = [e for p, e in sorted(entries.items()) if p.startswith(prefix) and (recursive or "/" not in p[len(prefix):])]
    return [_with_last_commit(repo, commit, e) if expand else e.to_json() for e in chosen]


def paths_info(
    hub: FakeHub, *, headers: dict[str, str], body: bytes, type: str, org: str, name: str, rev: str, **_: Any
) -> list[dict[str, Any]]:
    repo = hub._open(type, org, name, headers)
    commit = hub._commit_of(repo, rev)
    form = parse_qs(body.decode(), keep_blank_values=True)
    expand = form.get("expand", ["False"])[-1].lower() in ("1", "true")
    entries = repo.entries(commit)
    found = [entries[p] for p in form.get("paths", []) if p in entries]
    return [_with_last_commit(repo, commit, e) if expand else e.to_json() for e in found]


def _lfs_patterns(repo: GitRepo, commit: str) -> list[str]:
    entry = repo.entries(commit).get(".gitattributes")
    text = repo.read(entry).decode(errors="replace") if entry else ""
    return [line.split()[0] for line in text.splitlines() if "filter=lfs" in line.split()[1:]]


def preupload(
    hub: FakeHub, *, headers: dict[str, str], body: bytes, type: str, org: str, name: str, rev: str, **_: Any
) -> dict[str, Any]:
    hub._require_write(headers)
    repo = hub._open(type, org, name, headers)
    hub._maybe_fail("preupload")
    commit = hub._commit_of(repo, rev)
    patterns, entries = _lfs_patterns(repo, commit), repo.entries(commit)
    answer = []
    for item in json.loads(body)["files"]:
        path, size, sample = _check_path(item["path"]), int(item["size"]), base64.b64decode(item["sample"])
        by_pattern = any(fnmatch(path if "/" in p else path.rsplit("/", 1)[-1], p) for p in patterns)
        mode = "lfs" if by_pattern or size >= LFS_THRESHOLD or b"\0" in sample else "regular"
        remote = entries.get(path)
        oid = None if remote is None or remote.kind != "file" else (remote.lfs_oid or remote.oid)
        answer.append({"path": path, "uploadMode": mode, "shouldIgnore": False, "oid": oid})
    return {"files": answer, "commitOid": commit}


def _signature(hub: FakeHub, key: str, oid: str, size: int) -> str:
    return hmac.new(hub._secret.encode(), f"{key}:{oid}:{size}".encode(), "sha256").hexdigest()


def lfs_batch(
    hub: FakeHub, *, headers: dict[str, str], body: bytes, org: str, name: str, type: str = "models", **_: Any
) -> dict[str, Any]:
    hub._require_write(headers)
    repo = hub._open(type, org, name, headers)
    hub._maybe_fail("lfs_batch")
    payload = json.loads(body)
    if payload.get("operation") != "upload" or "basic" not in payload.get("transfers", ["basic"]):
        raise HubError(400, "only uploads with the basic transfer are supported")
    objects = []
    for item in payload["objects"]:
        oid, size = item.get("oid"), item.get("size")
        if not isinstance(oid, str) or not re.fullmatch(r"[0-9a-f]{64}", oid) or not isinstance(size, int) or size < 0:
            raise HubError(422, f"invalid LFS object {item!r}")
        answer: dict[str, Any] = {"oid": oid, "size": size, "authenticated": True}
        stored = repo.lfs_object(oid)
        if not (stored.is_file() and stored.stat().st_size == size):
            key = f"{type}/{org}/{name}"
            upload = f"{hub.url}/lfs-upload/{key}/{oid}?size={size}&sig={_signature(hub, key, oid, size)}"
            answer["actions"] = {"upload": {"href": upload}, "verify": {"href": f"{hub.url}/lfs-verify/{key}"}}
        objects.append(answer)
    return {"transfer": "basic", "objects": objects, "hash_algo": "sha256"}


def lfs_upload(
    hub: FakeHub, *, query: dict[str, str], body: bytes, type: str, org: str, name: str, oid: str, **_: Any
) -> dict[str, Any]:
    key, size = f"{type}/{org}/{name}", int(query.get("size", "-1"))
    if not hmac.compare_digest(query.get("sig", ""), _signature(hub, key, oid, size)):
        raise HubError(403, "bad upload signature")
    hub._maybe_fail("lfs_upload")
    if len(body) != size or hashlib.sha256(body).hexdigest() != oid:
        raise HubError(400, f"uploaded content does not match oid {oid} and size {size}")
    target = GitRepo(hub.root / key).lfs_object(oid)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload.")
    with os.fdopen(handle, "wb") as out:
        out.write(body)
    os.replace(tmp, target)
    return {}


def lfs_verify(hub: FakeHub, *, headers: dict[str, str], body: bytes, type: str, org: str, name: str, **_: Any) -> dict[str, Any]:
    hub._require_write(headers)
    repo = hub._open(type, org, name, headers)
    item = json.loads(body)
    stored = repo.lfs_object(str(item.get("oid")))
    if not (stored.is_file() and stored.stat().st_size == item.get("size")):
        raise HubError(404, f"LFS object {item.get('oid')} is not uploaded")
    return {}


def _changes(repo: GitRepo, parent: str, lines: list[dict[str, Any]]) -> dict[str, bytes | None]:
    """Validate every operation line against the parent commit; path -> new content (None: deleted)."""
    files = {p for p, e in repo.entries(parent).items() if e.kind == "file"}
    changes: dict[str, bytes | None] = {}
    for line in lines:
        key, value = line.get("key"), line.get("value") or {}
        path = _check_path(value.get("path", "").rstrip("/") if key == "deletedFolder" else value.get("path"))
        if key == "file":
            if value.get("encoding") != "base64":
                raise HubError(400, f"{path}: only base64 content is supported")
            try:
                changes[path] = base64.b64decode(value.get("content", ""), validate=True)
            except binascii.Error:
                raise HubError(400, f"{path}: invalid base64 content") from None
        elif key == "lfsFile":
            oid, stored = value.get("oid", ""), repo.lfs_object(str(value.get("oid", "")))
            if value.get("algo", "sha256") != "sha256" or not re.fullmatch(r"[0-9a-f]{64}", oid) or not stored.is_file():
                raise HubError(422, f"{path}: LFS object {oid} was not uploaded")
            size = stored.stat().st_size
            if value.get("size") not in (None, size):
                raise HubError(422, f"{path}: LFS object {oid} has size {size}, not {value.get('size')}")
            changes[path] = POINTER.format(oid=oid, size=size).encode()
        elif key == "deletedFile":
            if path not in files or changes.get(path, b"") is None:
                raise HubError(404, f"A file with this name doesn't exist: {path}", "EntryNotFound")
            changes[path] = None
        elif key == "deletedFolder":
            inside = [p for p in files | set(changes) if p.startswith(f"{path}/") and changes.get(p, b"") is not None]
            if not inside:
                raise HubError(404, f"A folder with this name doesn't exist: {path}", "EntryNotFound")
            changes.update(dict.fromkeys(inside))
        else:
            raise HubError(400, f"unknown operation {key!r}")
    live = {p for p in files if changes.get(p, b"") is not None} | {p for p, c in changes.items() if c is not None}
    for path in live:
        parents = path.split("/")[:-1]
        if any("/".join(parents[: i + 1]) in live for i in range(len(parents))):
            raise HubError(400, f"{path}: a parent folder is a file")
    return changes


def commit(hub: FakeHub, *, headers: dict[str, str], body: bytes, query: dict[str, str], type: str, org: str, name: str,
           rev: str, **_: Any) -> dict[str, Any]:
    hub._require_write(headers)
    repo = hub._open(type, org, name, headers)
    hub._maybe_fail("commit")
    if query.get("create_pr"):
        raise HubError(400, "pull requests are not supported by the fake Hub")
    try:
        lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HubError(400, f"invalid NDJSON body: {exc}") from None
    if not lines or lines[0].get("key") != "header":
        raise HubError(400, "the first line must be the commit header")
    header = lines[0].get("value") or {}
    if not str(header.get("summary", "")).strip():
        raise HubError(400, "empty commit summary")
    with hub._lock:
        branch = hub._branch(repo, rev)
        parent = repo.refs("refs/heads/")[branch]
        expected = header.get("parentCommit")
        if expected and not parent.startswith(expected):
            raise HubError(412, f"A commit has happened since {expected}: {branch} is at {parent}")
        changes = _changes(repo, parent, lines[1:])
        oid = repo.commit(branch, parent, changes, [header["summary"], header.get("description", "")],
                          before_ref_update=lambda: hub._maybe_fail("commit_before_ref_update"))
    return {"success": True, "commitOid": oid, "commitUrl": f"{hub._base(type, org, name)}/commit/{oid}", "hookOutput": ""}


_API = rf"/api/{_REPO}"
_ROUTES: list[tuple[str, str, Any]] = [
    ("POST", r"/api/repos/create", create_repo),
    ("POST", r"/api/validate-yaml", validate_yaml),
    ("GET", rf"{_API}(?:/revision/(?P<rev>[^/]+))?", repo_info),
    ("GET", rf"{_API}/refs", list_refs),
    ("POST", rf"{_API}/branch/(?P<branch>[^/]+)", create_branch),
    ("GET", rf"{_API}/tree/(?P<rev>[^/]+)(?:/(?P<path>.+))?", tree),
    ("POST", rf"{_API}/paths-info/(?P<rev>[^/]+)", paths_info),
    ("POST", rf"{_API}/preupload/(?P<rev>[^/]+)", preupload),
    ("POST", rf"{_API}/commit/(?P<rev>[^/]+)", commit),
    ("POST", r"/(?:(?P<type>datasets|spaces)/)?(?P<org>[^/]+)/(?P<name>[^/]+)\.git/info/lfs/objects/batch", lfs_batch),
    ("PUT", rf"/lfs-upload/{_REPO}/(?P<oid>[0-9a-f]{{64}})", lfs_upload),
    ("POST", rf"/lfs-verify/{_REPO}", lfs_verify),
]


# --- HTTP plumbing ----------------------------------------------------------------------------------------------
class _Server(ThreadingHTTPServer):
    daemon_threads = True
    hub: FakeHub

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def close_connections(self) -> None:
        with self.connections_lock:
            for connection in self.connections:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30  # seconds a connection may stay idle or slow
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        super().finish()

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts, total = [], 0
            while (size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)) > 0:
                total += size
                if total > MAX_BODY:
                    raise HubError(413, "request body too large")
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline().strip():  # trailers
                pass
            return b"".join(parts)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise HubError(413, "request body too large")
        return self.rfile.read(length)

    def _serve(self) -> None:
        try:
            body = self._body()
            status, extra, payload = self.server.hub.handle(
                self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
            )
        except HubError as exc:
            status, extra, payload = exc.status, {"X-Error-Message": exc.message}, json.dumps({"error": exc.message}).encode()
            self.close_connection = True
        self.server.hub.requests.append(f"{self.command} {urlsplit(self.path).path} -> {status}")
        self.send_response(status)
        for key, value in {"Content-Type": "application/json", "Content-Length": str(len(payload)), **extra}.items():
            self.send_header(key, value.replace("\n", " ") if isinstance(value, str) else value)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = _serve

    def log_message(self, format: str, *args: Any) -> None:  # requests are recorded in hub.requests instead
        pass
