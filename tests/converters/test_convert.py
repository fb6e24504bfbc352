"""Conversion orchestration: ledger accounting, derived splits, checksums, determinism, catalog strictness."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from biohub.converters.base import ConvertError
from biohub.converters.catalog import (
    CatalogError,
    DeriveSplits,
    Source,
    SourceFile,
    catalog_dir,
    load_catalog,
    load_entry,
    tree_sha256,
)
from biohub.converters.convert import convert_source, split_from_filename, update_ledger, write_result
from biohub.converters.registry import get_reader
from biohub.schema import LabelSet

BIO = "Aspirin\tB-Chemical\ncauses\tO\nasthma\tB-Disease\n\nthe\tO\nattack\tI-Disease\n\nnone\tO\n"


def source(tmp_path: Path, text: str = BIO, **kwargs) -> Source:
    (tmp_path / "train.tsv").write_text(text, encoding="utf-8")
    return Source(format="conll", splits={"train": (SourceFile("train.tsv", kwargs.pop("sha256", None)),)}, **kwargs)


def test_ledger_accounts_for_every_record(tmp_path: Path) -> None:
    result = convert_source("toy", source(tmp_path), tmp_path, language="en", labels=LabelSet(), progress=False)
    ledger = result.ledger["train"].to_json()
    assert (ledger["read"], ledger["converted"], ledger["rejected"]) == (3, 2, 1)
    assert ledger["reasons"] == {"I- tag does not continue a chunk": 1}
    assert ledger["counts"]["entities"] == 2 and ledger["counts"]["entity_types"] == {"Chemical": 1, "Disease": 1}
    out = tmp_path / "out"
    write_result(result, out, tmp_path)
    update_ledger(out, [result])
    on_disk = json.loads((out / "ledger.json").read_text())
    assert on_disk["toy"]["train"]["rejected"] == 1
    (rejection,) = [json.loads(line) for line in (out / "toy" / "rejections.jsonl").read_text().splitlines()]
    assert rejection == {
        "detail": "line 6: 'I-Disease' follows 'O'",
        "kind": "rejection",
        "locator": "6",
        "path": "train.tsv",
        "reason": "I- tag does not continue a chunk",
        "split": "train",
    }


def test_records_breaking_invariants_are_rejected_with_their_place(tmp_path: Path) -> None:
    result = convert_source(
        "toy", source(tmp_path), tmp_path, language="en", labels=LabelSet(entity_types=("Chemical",)), progress=False
    )
    assert result.ledger["train"].reasons == {"I- tag does not continue a chunk": 1, "invalid record": 1}
    invalid = next(p for p in result.problems if p.reason == "invalid record")
    assert (invalid.path, invalid.locator) == (str(tmp_path / "train.tsv"), "1")  # the input as given, not its name
    assert "'Disease' not in the declared entity types" in invalid.detail


def test_outputs_are_byte_identical_across_runs(tmp_path: Path) -> None:
    outputs = []
    for run in ("a", "b"):
        result = convert_source("toy", source(tmp_path), tmp_path, language="en", labels=LabelSet(), progress=False)
        write_result(result, tmp_path / run, tmp_path)
        update_ledger(tmp_path / run, [result])
        outputs.append(
            {p.relative_to(tmp_path / run): p.read_bytes() for p in sorted((tmp_path / run).rglob("*")) if p.is_file()}
        )
    assert outputs[0] == outputs[1] and len(outputs[0]) == 4


def test_checksum_mismatch_and_missing_files_are_errors(tmp_path: Path) -> None:
    with pytest.raises(ConvertError, match="sha256 mismatch"):
        convert_source("toy", source(tmp_path, sha256="0" * 64), tmp_path, language="en", labels=LabelSet(), progress=False)
    missing = Source(format="conll", splits={"test": (SourceFile("test.tsv"),)})
    with pytest.raises(ConvertError) as err:
        convert_source("toy", missing, tmp_path, language="en", labels=LabelSet(), progress=False)
    assert str(tmp_path / "test.tsv") in str(err.value) and "missing source file" in str(err.value)


def test_derived_splits_by_id_file_and_by_hash(tmp_path: Path) -> None:
    (tmp_path / "ids.json").write_text(json.dumps({"train-2": "x"}))
    derive = DeriveSplits(method="id_file", file=SourceFile("ids.json"), in_split="test", rest="train")
    result = convert_source(
        "toy",
        source(tmp_path, text="a\tO\n\nb\tO\n\nc\tO\n", derive_splits=derive),
        tmp_path,
        language="en",
        labels=LabelSet(),
        progress=False,
    )
    assert {split: [r.id for r in records] for split, records in result.records.items()} == {
        "train": ["toy.train.train-1", "toy.train.train-3"],
        "test": ["toy.test.train-2"],
    }
    text = "".join(f"w{i}\tO\n\n" for i in range(400))
    hashed = DeriveSplits(method="hash", ratios={"train": 0.5, "test": 0.5})
    runs = [
        convert_source(
            "toy", source(tmp_path, text=text, derive_splits=hashed), tmp_path, language="en", labels=LabelSet(), progress=False
        )
        for _ in range(2)
    ]
    sizes = {split: len(records) for split, records in runs[0].records.items()}
    assert sum(sizes.values()) == 400 and 150 < sizes["train"] < 250
    assert [r.id for r in runs[0].records["test"]] == [r.id for r in runs[1].records["test"]]


def test_split_from_filename() -> None:
    assert [split_from_filename(Path(n)) for n in ("train.tsv", "devel.tsv", "KUAKE-QIC_dev.json", "test.tsv", "x.tsv")] == [
        "train", "validation", "validation", "test", None,
    ]
    bc5cdr = ("CDR_TrainingSet.BioC.xml", "CDR_DevelopmentSet.BioC.xml", "CDR_TestSet.PubTator.txt")  # BC5CDR's own names
    assert [split_from_filename(Path(n)) for n in bc5cdr] == ["train", "validation", "test"]


def test_unknown_format_suggests_a_close_name() -> None:
    with pytest.raises(KeyError, match="Did you mean conll"):
        get_reader("conl")


def test_unknown_reader_option_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown option.*tag_col"):
        convert_source(
            "toy", source(tmp_path, options={"tag_col": 1}), tmp_path, language="en", labels=LabelSet(), progress=False
        )


def test_tree_sha256_of_a_folder_depends_on_names_and_contents(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.txt").write_text("1")
    first = tree_sha256(tmp_path / "a")
    (tmp_path / "a" / "x.txt").write_text("2")
    assert tree_sha256(tmp_path / "a") != first


def _entry(tmp_path: Path, **changes) -> Path:
    data = yaml.safe_load((catalog_dir() / "bc2gm.yaml").read_text(encoding="utf-8"))
    data.update(changes)
    path = tmp_path / f"{data['name']}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_catalog_entries_are_strict(tmp_path: Path) -> None:
    assert load_entry(_entry(tmp_path)).name == "bc2gm"
    with pytest.raises(CatalogError, match="unknown key.*licence"):
        load_entry(_entry(tmp_path, licence="x"))
    with pytest.raises(CatalogError, match="unknown task 'nerr'"):
        load_entry(_entry(tmp_path, tasks=["nerr"]))
    with pytest.raises(CatalogError, match="must equal the file name"):
        path = _entry(tmp_path)
        load_entry(path.rename(tmp_path / "other.yaml"))


def test_every_catalog_entry_is_complete() -> None:
    for entry in load_catalog().values():
        assert entry.citation.strip().startswith("@"), entry.name
        assert entry.homepage.startswith("http"), entry.name
        assert entry.expected, entry.name
        for files in entry.source.splits.values():
            assert all(f.sha256 and len(f.sha256) == 64 for f in files), entry.name


def test_option_and_catalog_values_are_type_checked(tmp_path: Path) -> None:
    from biohub.converters.formats.conll import ConllReader

    with pytest.raises(ValueError, match="repair_orphan_i.*expected true or false"):
        ConllReader.from_mapping({"repair_orphan_i": "no"})
    with pytest.raises(ValueError, match="columns.*expected an integer"):
        ConllReader.from_mapping({"columns": "2"})
    assert ConllReader.from_mapping({"comment_prefixes": ["#"]}).options.comment_prefixes == ("#",)
    data = yaml.safe_load((catalog_dir() / "bc2gm.yaml").read_text(encoding="utf-8"))
    data["license"]["non_commercial"] = "no"
    path = tmp_path / "bc2gm.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(CatalogError, match="non_commercial: expected true or false"):
        load_entry(path)
    data["license"]["non_commercial"], data["languages"] = False, "en"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(CatalogError, match="languages: expected a list"):
        load_entry(path)
    path.write_text("name: [unclosed", encoding="utf-8")
    with pytest.raises(CatalogError, match="invalid YAML"):
        load_entry(path)


def test_derived_splits_write_no_file_for_the_source_group(tmp_path: Path) -> None:
    (tmp_path / "all.tsv").write_text("a\tO\n\nb\tI-X\n\nc\tO\n", encoding="utf-8")  # the middle sentence is rejected
    hashed = DeriveSplits(method="hash", ratios={"train": 0.5, "test": 0.5})
    grouped = Source(format="conll", splits={"all": (SourceFile("all.tsv"),)}, derive_splits=hashed)
    result = convert_source("toy", grouped, tmp_path, language="en", labels=LabelSet(), progress=False)
    assert result.ledger["all"].rejected == 1 and result.ledger["all"].converted == 0
    write_result(result, tmp_path / "out", tmp_path)
    assert sorted(p.name for p in (tmp_path / "out" / "toy").glob("*.parquet")) == ["test.parquet", "train.parquet"]


def test_split_names_are_whole_words() -> None:
    names = ("test_devices.csv", "dev_pretrained.json", "restrained.tsv", "test_set.jsonl", "train-dev.tsv")
    assert [split_from_filename(Path(n)) for n in names] == ["test", "validation", None, "test", None]


def test_catalog_known_problems_use_the_closed_reason_vocabulary(tmp_path: Path) -> None:
    load_entry(_entry(tmp_path, known_defects={"train": {"mention text disagrees with its offsets": 1}}))
    with pytest.raises(CatalogError, match=r"bc2gm\.yaml\.known_defects\.train: unknown problem reason 'entity text disagrees"):
        load_entry(_entry(tmp_path, known_defects={"train": {"entity text disagrees with offsets": 1}}))
    misspelt = r"known_rejections\.test: unknown problem reason 'duplicate optoins'.*'duplicate options'"
    with pytest.raises(CatalogError, match=misspelt):
        load_entry(_entry(tmp_path, known_rejections={"test": {"duplicate optoins": 1}}))


def test_every_catalog_reason_is_in_the_vocabulary_and_spelled_once() -> None:
    from biohub.converters.problems import Reason

    spellings = [reason.value for reason in Reason]
    assert len(spellings) == len(set(spellings))
    assert not [s for s in spellings if "disagrees with offsets" in s or s.startswith("entity text disagrees")]
    assert load_catalog()  # every entry's known_rejections / known_defects are checked on load


def test_reader_base_turns_record_rejected_into_one_rejection() -> None:
    from biohub.converters.base import ReadContext, Reader, Rejection
    from biohub.converters.problems import RecordRejected

    ctx = ReadContext("toy", "train", "en")

    def bad() -> list:
        raise RecordRejected("missing field", "no text", locator=7)

    (item,) = Reader.rejecting(ctx, "f.json", 3, bad, document_id="d", prefix="line 3: ")
    assert isinstance(item, Rejection)
    assert (item.path, item.locator, item.reason, item.detail) == ("f.json", "7", "missing field", "line 3: no text")
    defect = ctx.defect("f.json", 1, "duplicate relation")
    assert list(Reader.rejecting(ctx, "f.json", 3, lambda: [defect])) == [defect]
    with pytest.raises(ValueError, match="unknown problem reason 'missing feld'.*did you mean 'missing field'"):
        ctx.reject("f.json", 1, "missing feld")
    with pytest.raises(ValueError, match="unknown problem reason"):
        RecordRejected("no such reason", "x")


def test_converters_package_exports_its_public_api() -> None:
    import biohub.converters as converters
    from biohub.converters.api import convert_catalogued as direct

    assert converters.convert_catalogued is direct
    assert all(getattr(converters, name) is not None for name in converters.__all__)
    assert {"convert_catalogued", "convert_files", "load_catalog", "Reader", "RecordRejected"} <= set(converters.__all__)
    with pytest.raises(AttributeError, match="no attribute 'convert_everything'"):
        converters.convert_everything  # noqa: B018


def test_formats_package_lists_every_format_module() -> None:
    import pkgutil

    from biohub.converters import formats

    assert sorted(formats.__all__) == sorted(module.name for module in pkgutil.iter_modules(formats.__path__))


def test_read_context_keeps_the_keys_read_for_duplicate_checks() -> None:
    from biohub.converters.base import ReadContext

    ctx = ReadContext("toy", "train", "en")
    assert ctx.read_before("q1") is None
    ctx.note_read("q1", "a.json record 0")
    ctx.note_read("q2")
    assert (ctx.read_before("q1"), ctx.read_before("q2"), ctx.read_before("q3")) == ("a.json record 0", "", None)
    assert ReadContext("toy", "train", "en").read_before("q1") is None  # one read's keys, not another's


def test_a_record_id_given_twice_in_one_conversion_is_rejected_once_naming_both_places(tmp_path: Path) -> None:
    # two sources of one dataset whose files share a name give their records the same ids: the reject loop keeps the
    # first and rejects the second as a duplicate (one store of record ids for every source and split)
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "train.tsv").write_text("Aspirin\tB-Chemical\n", encoding="utf-8")
    sources = [Source(format="conll", splits={"train": (SourceFile(f"{folder}/train.tsv"),)}) for folder in ("a", "b")]
    result = convert_source("toy", sources, tmp_path, language="en", labels=LabelSet(), progress=False)
    assert (result.ledger["train"].converted, result.ledger["train"].reasons) == (1, {"duplicate id": 1})
    (rejection,) = result.problems
    assert (rejection.path, rejection.locator) == (str(tmp_path / "b" / "train.tsv"), "1")
    assert rejection.detail == "record id toy.train.train-1 already given to the record read at train.tsv 1"


def test_a_record_id_yielded_twice_around_the_reject_loop_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from collections.abc import Iterator

    from biohub.converters.base import Item, ReadContext, Reader
    from biohub.schema import TextRecord

    class Repeating(Reader):
        """A reader that yields its records itself, not through ``Reader.rejecting``: the same id twice."""

        name, schema, description = "repeating", "text", "test reader"

        def read(self, paths: list[Path], ctx: ReadContext) -> Iterator[Item]:
            for _ in range(2):
                yield TextRecord(**ctx.common("k", meta={"source": {"path": "train.tsv", "line": 1}}), text="x", labels=[])

    monkeypatch.setattr("biohub.converters.convert.get_reader", lambda name: Repeating)
    source(tmp_path)
    with pytest.raises(ConvertError, match=r"record id toy\.train\.k yielded twice \(a reader bug\)"):
        repeating = Source(format="repeating", splits={"train": (SourceFile("train.tsv"),)})
        convert_source("toy", repeating, tmp_path, language="en", labels=LabelSet(), progress=False)
