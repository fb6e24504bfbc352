"""Archive members read in memory: ``ARCHIVE!MEMBER`` inputs, patterns, and hostile archives refused by name."""

from __future__ import annotations

import hashlib
import io
import json
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from biohub.converters.api import convert_files
from biohub.converters.archives import ArchiveError, ArchiveLimits, archive_members, expand_member_path, read_member
from biohub.converters.base import ConvertError, Rejection, read_text
from biohub.converters.catalog import Source, SourceFile
from biohub.converters.convert import ConversionResult, convert_source
from biohub.converters.formats.csv_table import CsvOptions, CsvReader
from biohub.schema import LabelSet, TextRecord
from tests.converters.conftest import read_items

ROWS = {"train": "GSM1,1,treated with drug X\nGSM2,0,untreated control\n", "test": "GSM3,1,knockdown of gene Y\n"}
LABELS = LabelSet(classes=("0", "1"))
CSV = {"header": False, "columns": ["sample_id", "label", "text"], "fields": {"text": "text", "label": "label"}}


def make_zip(path: Path, members: dict[str, bytes], links: tuple[str, ...] = ()) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name, data in members.items():
            bundle.writestr(name, data)
        for name in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            bundle.writestr(info, "../../etc/passwd")
    return path


def make_tar(path: Path, members: dict[str, bytes], symlink: str = "") -> Path:
    with tarfile.open(path, "w:gz") as bundle:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            bundle.addfile(info, io.BytesIO(data))
        if symlink:
            info = tarfile.TarInfo(symlink)
            info.type = tarfile.SYMTYPE
            info.linkname = "/etc/passwd"
            bundle.addfile(info)
    return path


def data_zip(tmp_path: Path) -> Path:
    members = {f"corpus/data/{split}/samples_{split}.csv": text.encode() for split, text in ROWS.items()}
    return make_zip(tmp_path / "corpus.zip", {"corpus/README.md": b"# toy\n", **members})


def test_a_member_is_read_by_the_table_reader_without_extracting(tmp_path: Path) -> None:
    archive = data_zip(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    items = read_items(CsvReader(CsvOptions(**CSV)), Path(f"{archive}!corpus/data/train/samples_train.csv"))
    assert [(r.id, r.text, r.labels) for r in items if isinstance(r, TextRecord)] == [
        ("toy.train.samples_train-0", "treated with drug X", ["1"]), ("toy.train.samples_train-1", "untreated control", ["0"]),
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written beside the archive


def test_a_pattern_names_several_members_and_tar_gz_reads_alike(tmp_path: Path) -> None:
    archive = data_zip(tmp_path)
    paths = expand_member_path(Path(f"{archive}!corpus/data/*/*.csv"))
    assert [p.name for p in paths] == ["samples_test.csv", "samples_train.csv"]
    tar = make_tar(tmp_path / "docs.tar.gz", {"doc1.en": b"One.\nTwo.\n", "doc1.zh": "一。\n".encode()})
    assert archive_members(tar) == ["doc1.en", "doc1.zh"]
    assert read_text(Path(f"{tar}!doc1.zh")) == "一。\n"


def test_missing_member_and_unmatched_pattern_are_errors(tmp_path: Path) -> None:
    archive = data_zip(tmp_path)
    with pytest.raises(ConvertError, match="no member 'corpus/nope.csv'"):
        read_items(CsvReader(CsvOptions(**CSV)), Path(f"{archive}!corpus/nope.csv"))
    with pytest.raises(ConvertError, match=r"no member matches '\*\.tsv'"):
        read_items(CsvReader(CsvOptions(**CSV)), Path(f"{archive}!*.tsv"))


@pytest.mark.parametrize(
    ("members", "wanted"),
    [
        ({"../evil.csv": b"x"}, "points outside the archive"),
        ({"corpus/../../evil.csv": b"x"}, "points outside the archive"),
        ({"/etc/evil.csv": b"x"}, "absolute name"),
    ],
)
def test_path_traversal_and_absolute_names_are_refused(tmp_path: Path, members: dict[str, bytes], wanted: str) -> None:
    for archive in (make_zip(tmp_path / "bad.zip", members), make_tar(tmp_path / "bad.tar.gz", members)):
        with pytest.raises(ArchiveError, match=wanted):
            archive_members(archive)
        with pytest.raises(ConvertError, match=wanted):  # through a reader: the whole archive refused, named
            read_text(Path(f"{archive}!ok.csv"))


def test_link_members_are_refused(tmp_path: Path) -> None:
    zipped = make_zip(tmp_path / "links.zip", {"ok.csv": b"a,1,b\n"}, links=("passwd",))
    tarred = make_tar(tmp_path / "links.tar.gz", {"ok.csv": b"a,1,b\n"}, symlink="passwd")
    for archive in (zipped, tarred):
        with pytest.raises(ArchiveError, match="'passwd' is a link or special file; refused"):
            read_member(archive, "ok.csv")


def test_a_zip_bomb_is_refused_before_it_is_decompressed(tmp_path: Path) -> None:
    bomb = make_zip(tmp_path / "bomb.zip", {"big.csv": b"0" * (20 << 20)})  # 20 MiB of one byte: ~1000 to 1
    assert bomb.stat().st_size < 100_000
    with pytest.raises(ArchiveError, match=r"'big.csv' compresses \d+ to 1, over the limit of 200 \(a zip bomb\?\)"):
        read_member(bomb, "big.csv")
    with pytest.raises(ConvertError, match="zip bomb"):
        read_items(CsvReader(CsvOptions(**CSV)), Path(f"{bomb}!big.csv"))
    tar_bomb = make_tar(tmp_path / "bomb.tar.gz", {"big.csv": b"0" * (20 << 20)})
    with pytest.raises(ArchiveError, match="over the ratio limit of 200"):
        archive_members(tar_bomb)


def test_size_and_count_limits(tmp_path: Path) -> None:
    archive = data_zip(tmp_path)
    with pytest.raises(ArchiveError, match="unpacks to .* over the limit of 10"):
        archive_members(archive, ArchiveLimits(member_bytes=10))
    with pytest.raises(ArchiveError, match="members unpack to .* over the limit of 50"):
        archive_members(archive, ArchiveLimits(total_bytes=50))
    with pytest.raises(ArchiveError, match="3 members, more than the limit of 2"):
        archive_members(archive, ArchiveLimits(members=2))


def test_not_an_archive_and_a_corrupt_one(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.zip"
    corrupt.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ArchiveError, match="corrupt.zip: not a readable archive"):
        archive_members(corrupt)
    items = read_items(CsvReader(CsvOptions(**CSV)), Path(f"{data_zip(tmp_path)}!corpus/README.md"))
    assert [type(item) for item in items] == [Rejection]  # a member is read as the reader's format says


def convert(mirror: Path, member: SourceFile) -> ConversionResult:
    return convert_source("toy", Source("csv", {"train": (member,)}, CSV), mirror, language="en", labels=LABELS, progress=False)


def test_a_catalog_source_names_a_member_and_is_checked_by_its_archives_sha256(tmp_path: Path) -> None:
    archive = data_zip(tmp_path)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    member = SourceFile("corpus.zip!corpus/data/train/samples_train.csv", digest)
    result = convert(tmp_path, member)
    assert result.ledger["train"].converted == 2 and result.files["train"] == [{"path": member.path, "sha256": digest}]
    wrong = SourceFile(member.path, "0" * 64)
    with pytest.raises(ConvertError, match="corpus.zip: sha256 mismatch"):
        convert(tmp_path, wrong)
    gone = SourceFile("gone.zip!corpus/a.csv")
    with pytest.raises(ConvertError, match="gone.zip: missing source file"):
        convert(tmp_path, gone)


def test_a_member_name_given_twice_is_refused(tmp_path: Path) -> None:
    zipped = tmp_path / "twice.zip"
    with zipfile.ZipFile(zipped, "w") as bundle:
        bundle.writestr("a.csv", "x,1,first\n")
        with pytest.warns(UserWarning, match="Duplicate name"):
            bundle.writestr("a.csv", "x,0,second\n")
    tarred = make_tar(tmp_path / "twice.tar.gz", {"a.csv": b"x,1,first\n"})
    with tarfile.open(tarred, "w:gz") as bundle:
        for text in (b"x,1,first\n", b"x,0,second\n"):
            info = tarfile.TarInfo("a.csv")
            info.size = len(text)
            bundle.addfile(info, io.BytesIO(text))
    for archive in (zipped, tarred):
        with pytest.raises(ArchiveError, match="'a.csv' occurs twice"):
            read_member(archive, "a.csv")


def test_an_archive_changed_on_disk_is_read_again(tmp_path: Path) -> None:
    archive = make_tar(tmp_path / "docs.tar.gz", {"a.txt": b"old\n"})
    assert read_member(archive, "a.txt") == b"old\n"
    make_tar(archive, {"a.txt": b"new text\n"})
    assert read_member(archive, "a.txt") == b"new text\n"


def test_convert_with_no_code_takes_archive_members_as_inputs(tmp_path: Path) -> None:
    """``biohub convert --format csv --input 'corpus.zip!…train.csv' --input 'corpus.zip!…test.csv'``: splits from the
    member names, info.json names each member and the archive's sha256."""
    archive = data_zip(tmp_path)
    inputs = [Path(f"{archive}!corpus/data/{split}/samples_{split}.csv") for split in ("train", "test")]
    options = {key: value for key, value in CSV.items() if key != "fields"}
    result = convert_files("csv", inputs, "geo", "en", tmp_path / "out", fields=CSV["fields"], options=options, progress=False)
    assert {split: ledger.converted for split, ledger in result.ledger.items()} == {"train": 2, "test": 1}
    info = json.loads((tmp_path / "out" / "geo" / "info.json").read_text(encoding="utf-8"))
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    assert info["files"]["test"] == [{"path": str(inputs[1]), "sha256": digest}]
