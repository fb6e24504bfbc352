"""``biohub push``: the real huggingface_hub client against a Hub-compatible endpoint on 127.0.0.1 (tests/hub/fake_hub.py).

The pushed repository is read back with ``datasets.load_dataset`` through olah serving the fake Hub's git repositories
as local mirrors in offline mode -- the path a user's ``load_dataset("ORG/NAME", CONFIG)`` takes. Uploads take the LFS
basic transfer (Xet is switched off: the fake Hub does not serve it); the commit API is the same either way.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from huggingface_hub import constants as hf_constants
from typer.testing import CliRunner

import biohub
from biohub.hub.push import FileChange, PushError, push
from biohub.io import write_json
from tests.hub.fake_hub import FakeHub

TOKEN = "hf_biohubFAKEtoken7c1e9a4d0b2f55aa"  # distinctive, so any leak is found by a plain substring search
REPO = "biohub-test/bio-instructions"
DATASETS = ("medqa_usmle", "ncbi_disease", "pubmedqa")
pytestmark = pytest.mark.slow  # a Hub server on 127.0.0.1 for every test, olah and load_dataset


# --- a small HUBDIR, shaped like the output of `biohub build` ------------------------------------------------------
@pytest.fixture
def hubdir(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Path:
    """A copy of the session Hub folder (tests/conftest.py's ``hub``, shadowed here by the fake Hub) with the two
    ``build_info.json`` fields a push names in its commit message and a ``decontamination.json``."""
    from tests.built_once import small_hub

    repo = Path(shutil.copytree(small_hub(tmp_path_factory), tmp_path / "hubdir"))
    recipe = {"name": "push-test", "datasets": list(DATASETS)}
    write_json(repo / "build_info.json", {
        **json.loads((repo / "build_info.json").read_text(encoding="utf-8")),
        "recipe": recipe,
        "recipe_sha256": hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest(),
        "biohub_version": biohub.__version__,
        "sources": {},
    })
    write_json(repo / "decontamination.json", {"contaminated": 0})
    return repo


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """The fake Hub, HF_TOKEN set to TOKEN, no saved login, no Xet (uploads take the LFS basic transfer)."""
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.delenv("HF_OIDC_RESOURCE", raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setattr(hf_constants, "HF_TOKEN_PATH", str(tmp_path / "no-login" / "token"))
    monkeypatch.setattr(hf_constants, "HF_HUB_DISABLE_XET", True)
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    with FakeHub(tmp_path / "remote", TOKEN) as fake:
        yield fake


def local_contents(hubdir: Path) -> dict[str, bytes]:
    return {p.relative_to(hubdir).as_posix(): p.read_bytes() for p in sorted(hubdir.rglob("*")) if p.is_file()}


def remote_contents(hub: FakeHub, revision: str = "main") -> dict[str, bytes]:
    files = hub.files(REPO, revision)
    assert files.pop(".gitattributes"), "the Hub's .gitattributes must stay"
    return files


def shrink(parquet: Path) -> None:
    """Rewrite a parquet file with its first row only (new content, same schema)."""
    pq.write_table(pq.read_table(parquet).slice(0, 1), parquet)


# --- pushing ------------------------------------------------------------------------------------------------------
def test_first_push_creates_the_repository_with_one_commit(hub: FakeHub, hubdir: Path) -> None:
    (hubdir / ".scratch.tmp").write_text("hidden files are not published")
    result = push(hubdir, REPO, endpoint=hub.url)
    history = hub.history(REPO)
    assert result.new_repo and not result.new_branch and not hub.is_private(REPO)
    assert result.commit_oid == hub.head(REPO) == history[0][0]
    assert [message for _, message in history[1:]] == ["initial commit"]  # the Hub's own, then exactly one
    expected = {path: data for path, data in local_contents(hubdir).items() if not path.startswith(".")}
    assert remote_contents(hub) == expected
    assert {(c.kind, c.path, c.size) for c in result.changes} == {("add", p, len(d)) for p, d in expected.items()}
    assert hub.lfs_files(REPO) == {path for path in expected if path.endswith(".parquet")}
    info = json.loads((hubdir / "build_info.json").read_text())
    assert info["recipe_sha256"] in history[0][1] and f"biohub {biohub.__version__}" in history[0][1]


def test_pushing_unchanged_content_makes_no_commit(hub: FakeHub, hubdir: Path) -> None:
    first = push(hubdir, REPO, endpoint=hub.url)
    seen = len(hub.requests)
    second = push(hubdir, REPO, endpoint=hub.url)
    assert second.commit_oid is None and second.changes == () and not second.new_repo
    assert second.unchanged == len(first.changes)
    assert hub.head(REPO) == first.commit_oid and len(hub.history(REPO)) == 2
    assert not [r for r in hub.requests[seen:] if not r.startswith("GET ")], "an unchanged push only reads"


def test_a_changed_folder_is_one_commit_with_adds_updates_and_deletes(hub: FakeHub, hubdir: Path) -> None:
    first = push(hubdir, REPO, endpoint=hub.url)
    removed = hubdir / "data" / "pubmedqa_instructions" / "test-00000-of-00001.parquet"
    removed_size = removed.stat().st_size
    removed.unlink()
    changed = hubdir / "data" / "ncbi_disease_instructions" / "train-00000-of-00001.parquet"
    shrink(changed)
    added = hubdir / "data" / "extra" / "train-00000-of-00001.parquet"
    added.parent.mkdir()
    shutil.copyfile(changed, added)
    (hubdir / "README.md").write_text((hubdir / "README.md").read_text() + "\nMore text.\n")
    result = push(hubdir, REPO, endpoint=hub.url)
    assert [oid for oid, _ in hub.history(REPO)[:2]] == [result.commit_oid, first.commit_oid]
    assert result.changes == (
        FileChange("update", "README.md", (hubdir / "README.md").stat().st_size),
        FileChange("add", "data/extra/train-00000-of-00001.parquet", added.stat().st_size),
        FileChange("update", "data/ncbi_disease_instructions/train-00000-of-00001.parquet", changed.stat().st_size),
        FileChange("delete", "data/pubmedqa_instructions/test-00000-of-00001.parquet", removed_size),
    )
    assert result.unchanged == len(first.changes) - 3
    assert remote_contents(hub) == local_contents(hubdir)


def test_dry_run_lists_the_operations_and_changes_nothing(hub: FakeHub, hubdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    planned = push(hubdir, REPO, endpoint=hub.url, dry_run=True)
    assert planned.dry_run and planned.new_repo and planned.commit_oid is None and hub.repo(REPO) is None
    assert planned.changes == tuple(FileChange("add", p, len(d)) for p, d in local_contents(hubdir).items())
    assert all(r.startswith("GET ") for r in hub.requests)
    pushed = push(hubdir, REPO, endpoint=hub.url)
    shrink(hubdir / "data" / "medqa_usmle_instructions" / "test-00000-of-00001.parquet")
    (hubdir / "decontamination.json").unlink()
    monkeypatch.delenv("HF_TOKEN")  # a dry run of a public repository needs no token
    planned = push(hubdir, REPO, endpoint=hub.url, dry_run=True)
    assert [(c.kind, c.path) for c in planned.changes] == [
        ("update", "data/medqa_usmle_instructions/test-00000-of-00001.parquet"),
        ("delete", "decontamination.json"),
    ]
    assert hub.head(REPO) == pushed.commit_oid and "decontamination.json" in hub.files(REPO)


@pytest.mark.parametrize(("stage", "status"), [("commit", 500), ("commit_before_ref_update", 500), ("lfs_upload", 403)])
def test_a_failed_push_leaves_the_previous_commit(hub: FakeHub, hubdir: Path, stage: str, status: int) -> None:
    first = push(hubdir, REPO, endpoint=hub.url)
    before = hub.files(REPO)
    shrink(hubdir / "data" / "pubmedqa_instructions" / "train-00000-of-00001.parquet")
    (hubdir / "README.md").write_text((hubdir / "README.md").read_text() + "\nChanged.\n")
    hub.fail_next(stage, status)
    with pytest.raises(
        PushError, match=rf"push failed while committing to {REPO}@main \(the branch stays at {first.commit_oid}\)"
    ):
        push(hubdir, REPO, endpoint=hub.url)
    assert hub.head(REPO) == first.commit_oid and hub.files(REPO) == before
    retried = push(hubdir, REPO, endpoint=hub.url)  # the next push completes with one commit
    assert [oid for oid, _ in hub.history(REPO)[:2]] == [retried.commit_oid, first.commit_oid]
    assert remote_contents(hub) == local_contents(hubdir)


def test_the_token_never_reaches_logs_or_output(
    hub: FakeHub, hubdir: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(hf_constants, "HF_DEBUG", True)  # huggingface_hub also logs every request as a curl command
    caplog.set_level(logging.DEBUG, logger="huggingface_hub")
    caplog.set_level(logging.DEBUG, logger="biohub")
    texts = [repr(push(hubdir, REPO, endpoint=hub.url, token=TOKEN))]
    (hubdir / "README.md").write_text("---\nconfigs: []\n---\nchanged\n")
    hub.fail_next("commit", 500)
    with pytest.raises(PushError) as failed:
        push(hubdir, REPO, endpoint=hub.url)  # the token from HF_TOKEN
    texts += [str(failed.value), repr(failed.value), repr(failed.value.__cause__)]
    texts.append(repr(push(hubdir, REPO, endpoint=hub.url, dry_run=True)))
    captured = capfd.readouterr()
    logged = caplog.text + "\n".join(record.getMessage() for record in caplog.records)
    assert "authenticated: True" in logged and "<TOKEN>" in logged, "the requests were logged, with the token masked"
    assert hub.authorized_writes > 0, "the token was sent to the Hub"
    for text in [logged, captured.out, captured.err, *texts]:
        assert TOKEN not in text


def test_a_revision_names_a_branch_created_from_main(hub: FakeHub, hubdir: Path) -> None:
    main = push(hubdir, REPO, endpoint=hub.url)
    (hubdir / "README.md").write_text((hubdir / "README.md").read_text() + "\nOn a branch.\n")
    dev = push(hubdir, REPO, endpoint=hub.url, revision="dev")
    assert dev.new_branch and [(c.kind, c.path) for c in dev.changes] == [("update", "README.md")]
    assert hub.head(REPO, "dev") == dev.commit_oid and hub.history(REPO, "dev")[1:] == hub.history(REPO, "main")
    assert hub.head(REPO) == main.commit_oid and remote_contents(hub, "dev") == local_contents(hubdir)
    again = push(hubdir, REPO, endpoint=hub.url, revision="dev")
    assert again.commit_oid is None and not again.new_branch and hub.head(REPO, "dev") == dev.commit_oid


def test_a_private_repository(hub: FakeHub, hubdir: Path) -> None:
    push(hubdir, "biohub-test/private-set", endpoint=hub.url, private=True)
    assert hub.is_private("biohub-test/private-set")
    push(hubdir, REPO, endpoint=hub.url)
    with pytest.raises(PushError, match="exists and is public"):
        push(hubdir, REPO, endpoint=hub.url, private=True)


def test_no_token_is_a_clear_error(hub: FakeHub, hubdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_TOKEN")
    with pytest.raises(PushError, match="no Hugging Face token: set HF_TOKEN"):
        push(hubdir, REPO, endpoint=hub.url)
    assert hub.repo(REPO) is None and hub.requests == []


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (lambda d: (d / "build_info.json").unlink(), r"build_info.json: missing"),
        (lambda d: (d / "build_info.json").write_text('{"recipe_sha256": "abc", "biohub_version": "0.1.0"}'), r"recipe_sha256"),
        (lambda d: (d / "build_info.json").write_text("{"), r"build_info.json: not readable JSON"),
        (lambda d: (d / "README.md").unlink(), r"README.md: missing"),
    ],
)
def test_the_folder_is_checked_before_any_request(hub: FakeHub, hubdir: Path, breakage, message: str) -> None:
    breakage(hubdir)
    with pytest.raises(PushError, match=message):
        push(hubdir, REPO, endpoint=hub.url)
    assert hub.requests == []


@pytest.mark.parametrize(
    ("repo_id", "revision", "message"), [("no-org", None, "expected ORG/NAME"), (REPO, "a b", "expected a branch")]
)
def test_names_are_checked_before_any_request(
    hub: FakeHub, hubdir: Path, repo_id: str, revision: str | None, message: str
) -> None:
    with pytest.raises(PushError, match=message):
        push(hubdir, repo_id, revision=revision, endpoint=hub.url)
    assert hub.requests == []


def test_the_fake_hub_applies_a_commit_whole_or_not_at_all(hub: FakeHub, hubdir: Path) -> None:
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi

    first = push(hubdir, REPO, endpoint=hub.url)
    operations = [CommitOperationAdd("new.txt", b"new"), CommitOperationDelete("missing.txt")]
    with pytest.raises(Exception, match="A file with this name doesn't exist"):
        HfApi(endpoint=hub.url, token=TOKEN).create_commit(REPO, operations, commit_message="bad", repo_type="dataset")
    assert hub.head(REPO) == first.commit_oid and "new.txt" not in hub.files(REPO)
    with pytest.raises(Exception, match="401"):
        HfApi(endpoint=hub.url, token="hf_wrong").create_commit(
            REPO, [CommitOperationAdd("x.txt", b"x")], commit_message="x", repo_type="dataset"
        )
    assert hub.head(REPO) == first.commit_oid


# --- the command line ---------------------------------------------------------------------------------------------
def test_the_push_command(hub: FakeHub, hubdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from biohub.cli import app

    monkeypatch.setattr(hf_constants, "ENDPOINT", hub.url)  # where HfApi() goes without an explicit endpoint
    runner = CliRunner()
    dry = runner.invoke(app, ["push", str(hubdir), "--repo-id", REPO, "--dry-run"], env={"COLUMNS": "200"})
    assert dry.exit_code == 0, dry.output
    assert "dry run" in dry.output and "data/pubmedqa_unified/test-00000-of-00001.parquet" in dry.output
    assert hub.repo(REPO) is None
    done = runner.invoke(app, ["push", str(hubdir), "--repo-id", REPO, "--private"], env={"COLUMNS": "200"})
    assert done.exit_code == 0, done.output
    assert f"committed {hub.head(REPO)}" in done.output and hub.is_private(REPO)
    same = runner.invoke(app, ["push", str(hubdir), "--repo-id", REPO], env={"COLUMNS": "200"})
    assert same.exit_code == 0 and "no commit" in same.output
    hub.fail_next("commit", 500)
    (hubdir / "README.md").write_text("---\nconfigs: []\n---\n")
    failed = runner.invoke(app, ["push", str(hubdir), "--repo-id", REPO], env={"COLUMNS": "200"})
    assert failed.exit_code == 1 and "push failed while committing" in failed.output and "Traceback" not in failed.output
    assert TOKEN not in dry.output + done.output + same.output + failed.output


# --- reading the pushed dataset back as a user would ----------------------------------------------------------------
LOADER = """
import json, sys
import datasets
repo_id, out = sys.argv[1], sys.argv[2]
loaded = {config: datasets.load_dataset(repo_id, config) for config in sys.argv[3:]}
with open(out, "w", encoding="utf-8") as handle:
    json.dump({c: {s: d[s].to_list() for s in d} for c, d in loaded.items()}, handle, ensure_ascii=False)
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def olah_mirror(mirrors: Path, work: Path) -> Iterator[str]:
    """olah on 127.0.0.1 in offline mode, serving the git repositories under ``mirrors`` as local mirrors."""
    port = _free_port()
    config = work / "olah.toml"
    config.write_text(
        f'[basic]\nhost = "127.0.0.1"\nport = {port}\nrepos-path = "{work / "cache"}"\nmirrors-path = ["{mirrors}"]\n'
        "[accessibility]\noffline = true\n",
        encoding="utf-8",
    )
    url = f"http://127.0.0.1:{port}"
    with (work / "olah.log").open("wb") as log:
        server = subprocess.Popen([sys.executable, "-m", "olah.server", "-c", str(config), "--log-path", str(work / "logs")],
                                  cwd=work, stdout=log, stderr=subprocess.STDOUT)
        try:
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            deadline = time.monotonic() + 60
            while True:
                assert server.poll() is None, (work / "olah.log").read_text(errors="replace")
                try:
                    with opener.open(f"{url}/api/datasets/{REPO}/revision/main", timeout=5) as answer:
                        if answer.status == 200:
                            break
                except OSError:
                    pass
                assert time.monotonic() < deadline, "olah did not start in 60 s"
                time.sleep(0.2)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def test_load_dataset_reads_the_pushed_repository(hub: FakeHub, hubdir: Path, tmp_path: Path) -> None:
    if importlib.util.find_spec("olah") is None:
        if os.environ.get("CI"):
            pytest.fail("olah (the `dev` extra) is missing in CI")
        pytest.skip("olah is not installed (pip install -e '.[dev]')")
    push(hubdir, REPO, endpoint=hub.url)
    configs = ["ncbi_disease_instructions", "pubmedqa_unified"]
    out, work = tmp_path / "loaded.json", tmp_path / "olah"
    work.mkdir()
    with olah_mirror(hub.root, work) as url:
        env = {key: value for key, value in os.environ.items() if not key.startswith("HF_")}
        env.update(HF_ENDPOINT=url, HF_HOME=str(tmp_path / "hf_home"), HF_HUB_OFFLINE="0", HF_HUB_DISABLE_TELEMETRY="1",
                   NO_PROXY="127.0.0.1,localhost")
        done = subprocess.run([sys.executable, "-c", LOADER, REPO, str(out), *configs], env=env, capture_output=True,
                              text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stderr[-4000:]
    loaded = json.loads(out.read_text(encoding="utf-8"))
    for config in configs:
        expected = {
            p.name.split("-")[0]: pq.read_table(p).to_pylist() for p in sorted((hubdir / "data" / config).glob("*.parquet"))
        }
        assert loaded[config] == json.loads(json.dumps(expected, ensure_ascii=False)), config


def test_training_reads_a_hub_dataset_id(hub: FakeHub, hubdir: Path, tmp_path: Path, tiny_model_dir: Path) -> None:
    """`biohub train --data ORG/NAME` loads its configs' train splits from the Hub (here the fake Hub behind olah)."""
    if importlib.util.find_spec("olah") is None:
        if os.environ.get("CI"):
            pytest.fail("olah (the `dev` extra) is missing in CI")
        pytest.skip("olah is not installed (pip install -e '.[dev]')")
    push(hubdir, REPO, endpoint=hub.url)
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        f"name: from_hub\nmodel: {tiny_model_dir}\nlora: {{r: 2, alpha: 4}}\nbatch_size: 1\nmax_length: 1024\nlogging_every: 1\n"
        "stages:\n- {name: stage1, data: [ncbi_disease_instructions]}\n"
        "- {name: stage2, data: [ncbi_disease_instructions, pubmedqa_instructions]}\n",
        encoding="utf-8",
    )
    work = tmp_path / "olah"
    work.mkdir()
    with olah_mirror(hub.root, work) as url:
        env = {key: value for key, value in os.environ.items() if not key.startswith("HF_")}
        env.update(
            HF_ENDPOINT=url, HF_HOME=str(tmp_path / "hf_home"), HF_HUB_OFFLINE="0", HF_HUB_DISABLE_TELEMETRY="1",
            NO_PROXY="127.0.0.1,localhost",
        )
        command = [
            sys.executable, "-m", "biohub.cli", "train", str(recipe), "--data", REPO, "--out", str(tmp_path / "run"),
            "--max-steps", "1",
        ]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stderr[-4000:]
    summary = json.loads((tmp_path / "run" / "stage2" / "training_summary.json").read_text())
    local = sum(
        pq.read_metadata(hubdir / "data" / c / "train-00000-of-00001.parquet").num_rows
        for c in ("ncbi_disease_instructions", "pubmedqa_instructions")
    )
    assert summary["examples"] + summary["too_long"] == local and summary["steps"] == 1
