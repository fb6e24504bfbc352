"""Sentence-aligned parallel documents: groups -> translation pairs; each bad alignment line a rejection with its line."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from biohub.converters.base import ConvertError, Rejection
from biohub.converters.formats.bitext import BitextOptions, BitextReader
from biohub.schema import LabelSet, T2TRecord, validate
from tests.converters.conftest import read_items, write_text

DOCS = {
    "doc1.en": "results\nthe drug reduced pain .\nit was well tolerated .\nconclusions\n",
    "doc1.zh": "结果\n该 药物 减轻 了 疼痛 ， 且 耐受性 良好 。\n结论\n",
    "doc2.en": "one .\ntwo .\n",
    "doc2.zh": "一 。\n二 。\n",
}


def read(folder: Path, alignment: str, docs: dict[str, str] | None = None, **options) -> list:
    for name, text in (DOCS if docs is None else docs).items():
        write_text(folder, name, text)
    write_text(folder, "align.txt", alignment)
    return read_items(BitextReader(BitextOptions(**options)), folder, "test")


def test_groups_become_pairs_with_both_languages(tmp_path: Path) -> None:
    first, many, last = read(tmp_path, "doc1\t1 <=> 1\tOK\ndoc1\t2,3 <=> 2\tOK\r\ndoc1\t4 <=> 3\tOK\n")
    assert isinstance(many, T2TRecord)
    assert (many.id, many.document_id, many.language) == ("toy.test.doc1-2", "doc1-2", "en")
    assert many.text_1 == "the drug reduced pain . it was well tolerated ."
    assert many.text_2 == "该 药物 减轻 了 疼痛 ， 且 耐受性 良好 。"
    assert (many.text_1_name, many.text_2_name) == ("en", "zh")
    assert json.loads(many.meta) == {
        "source": {"path": "align.txt", "line": 2}, "source_lines": [2, 3], "status": "OK", "target_lines": [2],
    }
    assert [first.text_2, last.text_2] == ["结果", "结论"] and validate(many, LabelSet()) == []


def test_each_bad_alignment_line_is_rejected_with_its_line_and_reason(tmp_path: Path) -> None:
    alignment = (
        "doc1\t1 <=> omitted\tOK\n"  # 1 unaligned
        "doc1\t2 <=> 9\tOK\n"  # 2 out of range
        "doc1\t1 <=> 1\tDOUBT\n"  # 3 unknown status
        "doc1\t1 => 1\tOK\n"  # 4 no link
        "doc1\tone <=> 1\tOK\n"  # 5 not numbers
        "doc3\t1 <=> 1\tOK\n"  # 6 no such document
        "doc1\tomitted <=> omitted\tOK\n"  # 7 nothing on either side
        "doc9\t1 <=> 1\tOK\n"  # 8 a document named unusable
        "\n"
        "doc2\t2 <=> 2\tOK\n"  # 10 kept
    )
    *rejections, kept = read(tmp_path, alignment, unusable_documents={"doc9": "numbered against other files"}, statuses=["OK"])
    assert isinstance(kept, T2TRecord) and kept.id == "toy.test.doc2-10"
    assert all(isinstance(r, Rejection) for r in rejections)
    assert [(r.locator, r.reason) for r in rejections] == [
        ("1", "unaligned sentence"), ("2", "aligned line out of range"), ("3", "bad value"),
        ("4", "malformed annotation line"), ("5", "bad value"), ("6", "missing partner file"),
        ("7", "malformed annotation line"), ("8", "alignment does not match its documents"),
    ]
    assert "doc1.zh has 3 lines, the group names [9]" in rejections[1].detail
    assert "numbered against other files" in rejections[7].detail and rejections[0].path.endswith("align.txt")


def test_documents_read_inside_a_tar_gz(tmp_path: Path) -> None:
    archive = tmp_path / "docs.tar.gz"
    with tarfile.open(archive, "w:gz") as bundle:
        for name, text in DOCS.items():
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            bundle.addfile(info, io.BytesIO(text.encode()))
    alignment = write_text(tmp_path, "align.txt", "doc2\t1,2 <=> 1,2\tOK\n")
    (record,) = read_items(BitextReader(BitextOptions()), [alignment, Path(f"{archive}!*")], "test")
    assert (record.text_1, record.text_2) == ("one . two .", "一 。 二 。")


def test_inputs_need_exactly_one_alignment_file_and_distinct_languages(tmp_path: Path) -> None:
    write_text(tmp_path, "doc1.en", "x\n")
    with pytest.raises(ConvertError, match="expected one alignment file named 'align.txt', found 0"):
        read_items(BitextReader(BitextOptions()), tmp_path)
    with pytest.raises(ValueError, match="both 'en'"):
        BitextOptions(target_language="en")
