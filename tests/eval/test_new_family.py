"""A new task family by one YAML file alone (issue 19): a ``qa_summary`` family in a folder named by ``BIOHUB_FAMILIES``
turns summary questions into its own examples (instruct), a suite may name it, and its outputs are scored by the
scorer its file names — no Python change. Without the file, the same records stay ``qa_open_context``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from biohub.eval.score import compute, judge
from biohub.eval.suite import SuiteError, headline_for, load_suite, resolve
from biohub.schema import QARecord
from biohub.templates.instruct import InstructOptions, build_split
from biohub.templates.library import EXTRA_FAMILIES_ENV, TemplateError, families
from biohub.templates.tasks import DatasetInfo

INFO = DatasetInfo("toy_summary", "qa", ("qa_summary",), (), (), (), False)


def summary_family(headline: str = "rougeL") -> str:
    """The family file of the README's worked example, with ten templates per language."""
    templates = {
        "en": [f"Summarise the passage's answer (variant {i}).\n{{context}}\nQuestion: {{question}}" for i in range(1, 11)],
        "zh": [f"请概括资料对问题的回答（第{i}种）。\n{{context}}\n问题：{{question}}" for i in range(1, 11)],
    }
    lines = [
        "family: qa_summary",
        "version: 1",
        "kind: text",
        'prefix: ""',
        "placeholders: [context, question]",
        'label_names: ""',
        "hub: {stage: 2, task_category: summarization}",
        "eval:",
        "  scorer: text",
        "  metrics: [rouge1, rouge2, rougeL, bleu]",
        f"  headline: {headline}",
        "  group: QA",
        "  max_new_tokens: 256",
        "format_hints:",
        '  lines: {en: "", zh: ""}',
        '  json: {en: "", zh: ""}',
        "templates:",
    ]
    for language, texts in templates.items():
        lines.append(f"  {language}:")
        for index, text in enumerate(texts, start=1):
            lines.append(f"    - id: qa_summary.{language}.{index:02d}")
            lines.append(f"      text: {_quoted(text)}")
    return "\n".join(lines) + "\n"


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


@pytest.fixture()
def extra_families(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty folder named by BIOHUB_FAMILIES (the library is re-read with it, and again without it afterwards)."""
    folder = tmp_path / "families"
    folder.mkdir()
    monkeypatch.setenv(EXTRA_FAMILIES_ENV, str(folder))
    families.cache_clear()
    yield folder
    monkeypatch.delenv(EXTRA_FAMILIES_ENV)
    families.cache_clear()


def records() -> list[QARecord]:
    common = {"dataset": "toy_summary", "split": "test", "type": "summary"}
    return [
        QARecord(id="s1", document_id="s1", language="en", question="What does aspirin do?", context="Aspirin inhibits COX.",
                 answer=["Aspirin inhibits cyclooxygenase."], **common),
        QARecord(id="s2", document_id="s2", language="en", question="What does metformin lower?", context="It lowers glucose.",
                 answer=["Metformin lowers blood glucose."], **common),
    ]


def test_a_family_file_alone_runs_through_instruct_and_score(extra_families: Path, tmp_path: Path) -> None:
    (extra_families / "qa_summary.yaml").write_text(summary_family(), encoding="utf-8")
    examples, stats, _ = build_split(records(), INFO, InstructOptions(max_length=0), None)
    assert [example.task for example in examples] == ["qa_summary", "qa_summary"]
    assert all(example.template_id.startswith("qa_summary.en.") for example in examples)
    assert stats.examples == {"qa_summary": 2}
    suite = tmp_path / "summary.yaml"
    suite.write_text(
        "name: summary\nentries:\n  - {name: S, dataset: toy_summary, split: test, tasks: [qa_summary], headline: rougeL}\n",
        encoding="utf-8",
    )
    (entry,) = resolve(load_suite(str(suite)), "unused")
    rows = [example.to_row() for example in examples]
    perfect = compute(entry, [judge(row, row["messages"][-1]["content"]) for row in rows])
    assert set(perfect) == set(families()["qa_summary"].eval.metrics) and perfect["rougeL"] == pytest.approx(1.0)
    wrong = compute(entry, [judge(row, "Something else entirely.") for row in rows])
    assert wrong["rougeL"] < 0.5
    assert headline_for("accuracy", "qa_summary") == "rougeL"


def test_without_the_file_summaries_stay_open_questions_with_context() -> None:
    examples, _, _ = build_split(records(), INFO, InstructOptions(max_length=0), None)
    assert [example.task for example in examples] == ["qa_open_context", "qa_open_context"]


def test_a_suite_headline_the_new_family_never_computes_fails_on_load(extra_families: Path, tmp_path: Path) -> None:
    (extra_families / "qa_summary.yaml").write_text(summary_family(), encoding="utf-8")
    suite = tmp_path / "bad.yaml"
    suite.write_text(
        "name: bad\nentries:\n  - {name: S, dataset: toy_summary, split: test, tasks: [qa_summary], headline: accuracy}\n",
        encoding="utf-8",
    )
    with pytest.raises(SuiteError, match=r"bad\.yaml: entry S: headline 'accuracy' is not computed for task qa_summary"):
        load_suite(str(suite))


def test_a_misspelt_task_in_a_suite_suggests_the_family(tmp_path: Path) -> None:
    suite = tmp_path / "typo.yaml"
    text = "name: typo\nentries:\n  - {name: R, dataset: d, split: test, tasks: [qa_yesn], headline: accuracy}\n"
    suite.write_text(text, encoding="utf-8")
    with pytest.raises(SuiteError, match=r"unknown task 'qa_yesn'; did you mean 'qa_yesno'"):
        load_suite(str(suite))


def test_an_unregistered_scorer_fails_with_a_suggestion(extra_families: Path, tmp_path: Path) -> None:
    (extra_families / "qa_summary.yaml").write_text(summary_family().replace("scorer: text", "scorer: txt"), encoding="utf-8")
    examples, _, _ = build_split(records(), INFO, InstructOptions(max_length=0), None)
    rows = [example.to_row() for example in examples]
    entry = load_suite("taiyi_style").entries[0]
    with pytest.raises(ValueError, match=r"qa_summary\.yaml\.eval\.scorer: unknown scorer 'txt'; did you mean 'text'"):
        compute(entry, [judge(row, "x") for row in rows])


def test_a_family_name_taken_twice_is_an_error(extra_families: Path) -> None:
    (extra_families / "qa_summary.yaml").write_text(summary_family(), encoding="utf-8")
    (extra_families / "ner.yaml").write_text(summary_family().replace("qa_summary", "ner"), encoding="utf-8")
    with pytest.raises(TemplateError, match="family 'ner' is already defined in"):
        families()


def test_a_headline_the_family_file_does_not_list_fails_when_the_file_loads(extra_families: Path) -> None:
    (extra_families / "qa_summary.yaml").write_text(summary_family(headline="accuracy"), encoding="utf-8")
    with pytest.raises(TemplateError, match=r"qa_summary\.yaml\.eval\.headline: 'accuracy' is not one of the family's metrics"):
        families()


def test_every_shipped_family_names_a_registered_scorer() -> None:
    from biohub.templates.registry import SCORERS

    assert {family.eval.scorer for family in families().values()} <= set(SCORERS.names())
