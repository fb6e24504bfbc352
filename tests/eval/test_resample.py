"""Bootstrap intervals (biohub.eval.resample) on hand-made rows, the averages' intervals, the report's cells, and the
stratified --limit sample (biohub.eval.sampling)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from biohub.eval.report import markdown, table, value_cell
from biohub.eval.resample import averages, percentile_interval, replicates, row_generator, row_sample
from biohub.eval.sampling import allocate, strata, stratified_indices
from biohub.eval.score import EntryResult, EvalError, Judged, compute
from biohub.eval.suite import Entry

RE = Entry("RE row", "demo", "test", ("re",), "f1_text_set", group="RE")


def triples(index: int, gold: list[list[str]], predicted: list[list[str]]) -> Judged:
    """An RE example: gold and predicted [relation, head, tail] triples."""
    return Judged(f"re-{index}", f"s{index}", "re", "en", "answer", predicted, {"value": gold}, True)


def label(index: int, gold: str, predicted: str | None) -> Judged:
    """A classification example over labels A, B, C (None: an answer that did not parse)."""
    return Judged(f"tc-{index}", f"s{index}", "classification", "en", "answer", predicted, {"value": gold},
                  predicted is not None, labels=("A", "B", "C"))


def sample_of(entry: Entry, judged: list[Judged]):  # type: ignore[no-untyped-def]
    return row_sample(entry, judged, None, compute(entry, judged))


def test_identical_examples_give_a_zero_width_interval_at_the_value() -> None:
    """Three examples, each tp 1, fp 1, fn 0: every resample sums to (3, 3, 0), so P = 1/2, R = 1, F1 = 2/3 always."""
    judged = [triples(i, [["r", "a", "b"]], [["r", "a", "b"], ["r", "a", "c"]]) for i in range(3)]
    sample = sample_of(RE, judged)
    assert sample.strategy == "counts" and sample.stats.tolist() == [[1, 1, 0]] * 3 and sample.ids == ["re-0", "re-1", "re-2"]
    draws = replicates(sample, 1000, row_generator(0, RE.name))
    assert percentile_interval(draws) == (pytest.approx(2 / 3, abs=1e-15), pytest.approx(2 / 3, abs=1e-15))


def test_f1_rows_are_recomputed_from_summed_counts_not_averaged() -> None:
    """A: tp 2 (F1 1); B: fp 1, fn 1 (F1 0). Resamples of two: AA -> 1 (p 1/4), AB -> summed (2, 1, 1) -> 2/3 (p 1/2;
    averaging the F1s would give 1/2), BB -> 0 (p 1/4); the row's own F1 is 2/3. The 95% interval is [0, 1]."""
    a = triples(0, [["r", "a", "b"], ["r", "a", "c"]], [["r", "a", "b"], ["r", "a", "c"]])
    b = triples(1, [["r", "x", "y"]], [["r", "x", "z"]])
    values = compute(RE, [a, b])
    assert values["f1_text_set"] == pytest.approx(2 / 3)
    sample = row_sample(RE, [a, b], None, values)
    assert sample.stats.tolist() == [[2, 0, 0], [0, 1, 1]]
    draws = replicates(sample, 4000, row_generator(0, RE.name))
    assert set(np.round(draws, 12)) == {0.0, round(2 / 3, 12), 1.0}
    assert np.mean(np.isclose(draws, 2 / 3)) == pytest.approx(0.5, abs=0.03)
    assert percentile_interval(draws) == (0.0, 1.0)


def test_accuracy_is_a_per_example_mean() -> None:
    """Four examples, three right: accuracy 3/4; a replicate is k/4 (k right among four draws), binomial(4, 3/4), so
    the replicates average 3/4; P(k = 0) = 1/256 < 2.5% <= P(k <= 1) = 13/256, so the 2.5% quantile is 1/4, and
    P(k = 4) = 81/256 > 2.5%, so the 97.5% quantile is 1."""
    entry = Entry("TC row", "demo", "test", ("classification",), "accuracy", group="TC")
    judged = [label(0, "A", "A"), label(1, "B", "B"), label(2, "C", "C"), label(3, "A", "B")]
    sample = sample_of(entry, judged)
    assert sample.strategy == "mean" and sample.stats.tolist() == [1.0, 1.0, 1.0, 0.0]
    draws = replicates(sample, 4000, row_generator(0, entry.name))
    assert set(draws * 4) <= {0.0, 1.0, 2.0, 3.0, 4.0} and draws.mean() == pytest.approx(0.75, abs=0.01)
    assert percentile_interval(draws) == (0.25, 1.0)


def test_macro_f1_is_recomputed_on_each_resample_from_the_same_index_matrix() -> None:
    entry = Entry("TC macro", "demo", "test", ("classification",), "macro_f1", group="TC")
    judged = [label(0, "A", "A"), label(1, "B", "A"), label(2, "C", "C"), label(3, "A", None), label(4, "B", "B")]
    sample = sample_of(entry, judged)
    assert sample.strategy == "recompute" and sample.stats.size == 0
    draws = replicates(sample, 20, np.random.default_rng(7))
    index = np.sort(np.random.default_rng(7).integers(0, 5, size=(20, 5)), axis=1)
    expected = [compute(entry, [judged[i] for i in row])["macro_f1"] for row in index]
    assert draws.tolist() == expected


def test_a_headline_its_examples_do_not_reproduce_is_refused() -> None:
    entry = Entry("TC row", "demo", "test", ("classification",), "accuracy", group="TC")
    judged = [label(0, "A", "A"), label(1, "B", "C")]
    values = compute(entry, judged) | {"accuracy": 0.9}  # as if accuracy were not the mean of its examples' values
    message = "row TC row: accuracy: aggregated as per-example mean, its examples give 0.5; the row's value is 0.9"
    with pytest.raises(EvalError, match=message):
        row_sample(entry, judged, None, values)
    counts = compute(RE, [triples(0, [["r", "a", "b"]], [])]) | {"tp_text_set": 5}
    with pytest.raises(EvalError, match="row RE row: f1_text_set: per-example counts sum to"):
        row_sample(RE, [triples(0, [["r", "a", "b"]], [])], None, counts)


def test_a_rows_interval_depends_on_the_seed_and_its_name_only() -> None:
    judged = [triples(i, [["r", "a", "b"]], [["r", "a", "b"]] if i % 2 else []) for i in range(9)]
    sample = sample_of(RE, judged)
    first = replicates(sample, 500, row_generator(3, RE.name))
    assert np.array_equal(first, replicates(sample, 500, row_generator(3, RE.name)))
    assert not np.array_equal(first, replicates(sample, 500, row_generator(4, RE.name)))
    assert not np.array_equal(first, replicates(sample, 500, row_generator(3, "another row")))


def result(name: str, group: str, value: float) -> EntryResult:
    return EntryResult(name, "demo", "test", group, ["re"], "f1_text_set", value, 10, 0, 0)


def test_averages_take_replicate_r_of_each_row() -> None:
    """Row a's replicates are 0, 0.01, ..., 1 and row b's the reverse: their mean is 0.5 in every replicate, so the
    overall interval is [0.5, 0.5] while each group's (one row) is that row's own, [0.025, 0.975]."""
    up = np.linspace(0.0, 1.0, 101)
    document = averages([result("a", "NER", 0.3), result("b", "RE", 0.5)], {"a": up, "b": 1 - up})
    assert document["overall"] == {"value": pytest.approx(0.4), "interval": [pytest.approx(0.5), pytest.approx(0.5)], "rows": 2}
    assert document["groups"]["NER"]["interval"] == [pytest.approx(0.025), pytest.approx(0.975)]
    without = averages([result("a", "NER", 0.3), result("b", "RE", 0.5)], {"a": up})
    assert without["overall"]["interval"] is None and without["groups"]["NER"]["interval"] is not None


def write_run(folder: Path, interval: list[float] | None) -> Path:
    folder.mkdir()
    entry = {"name": "BC5CDR-Chem", "group": "NER", "headline": "f1_mention", "value": 0.549, "n": 120, "missing": 0,
             "parse_failures": 3}
    document: dict[str, object] = {"entries": [entry if interval is None else entry | {"interval": interval}]}
    if interval is not None:
        document["averages"] = {"overall": {"value": 0.549, "interval": interval, "rows": 1},
                                "groups": {"NER": {"value": 0.549, "interval": interval, "rows": 1}}}
    (folder / "results.json").write_text(json.dumps(document), encoding="utf-8")
    return folder


def test_report_cells_show_intervals_widths_and_averages(tmp_path: Path) -> None:
    assert value_cell(54.9, [47.1, 62.0]) == "54.9 [47.1, 62.0]" and value_cell(54.9) == "54.9" and value_cell(None) == "–"
    new = write_run(tmp_path / "new", [0.471, 0.62])
    text = markdown(table([new]), "t")
    assert "| NER | BC5CDR-Chem | f1_mention | 54.9 [47.1, 62.0] | – | – | – | 120 | 14.9 | 0 | 3 |" in text
    assert "n new | CI width new | missing new | parse fail new" in text and "CI width: high - low" in text
    assert "Average of new over its 1 rows: 54.9 [47.1, 62.0]" in text
    assert "Average of new per task family: NER 54.9 [47.1, 62.0] (1 row)" in text


def test_results_without_intervals_render_as_before(tmp_path: Path) -> None:
    old = write_run(tmp_path / "old", None)
    text = markdown(table([old]), "t")
    assert "| NER | BC5CDR-Chem | f1_mention | 54.9 | – | – | – | 120 | 0 | 3 |" in text and "CI width" not in text
    assert "Average of old over its 1 rows: 54.9\n" in text and "NER 54.9 (1 row)" in text
    both = markdown(table([old, write_run(tmp_path / "new", [0.471, 0.62])]), "t")
    assert "| 54.9 | – | – | – | 54.9 [47.1, 62.0] | – | – | – | +0.0 | 120 | – | 0 | 3 | 120 | 14.9 | 0 | 3 |" in both


def test_allocation_is_proportional_with_largest_remainders() -> None:
    """1,000 examples, 22% A, 50% B, 28% C: a 100 sample has exactly 22, 50 and 28. Seven examples (A 4, B 2, C 1),
    limit 3: exact quotas 12/7, 6/7, 3/7 -> floors 1, 0, 0 and two left over, to the largest remainders B (6/7) and
    A (5/7): A 2, B 1, C 0."""
    labels = ["A"] * 220 + ["B"] * 500 + ["C"] * 280
    random.Random(1).shuffle(labels)
    picked = stratified_indices(labels, 100, random.Random("seed"))
    assert picked == sorted(picked) and len(set(picked)) == 100
    assert [sum(labels[i] == name for i in picked) for name in "ABC"] == [22, 50, 28]
    assert picked == stratified_indices(labels, 100, random.Random("seed"))  # seeded
    assert allocate({"A": 4, "B": 2, "C": 1}, 3) == {"A": 2, "B": 1, "C": 0}
    assert allocate({"A": 1, "B": 1}, 1) == {"A": 1, "B": 0}  # a tie goes to the first name


def test_only_single_label_kinds_are_stratified() -> None:
    def row(task: str, gold: object) -> dict[str, str]:
        return {"task": task, "gold": json.dumps({"value": gold})}

    assert strata([row("classification", "A"), row("qa_multiple_choice", ["C", "B"])]) == ['"A"', '["B", "C"]']
    assert strata([row("classification", "A"), row("ner", {"Disease": ["x"]})]) is None
    assert strata([row("qa_list", ["aspirin"])]) is None


def test_ner_variants_resample_by_counts_or_per_example_means() -> None:
    """Two NER examples, one right and one wrong: f1_sample_avg = (1 + 0) / 2 is a per-example mean; f1_untyped
    comes with its counts (tp, fp, fn) = (1, 1, 1) in all."""

    def ner(index: int, gold: list[str], predicted: list[str]) -> Judged:
        return Judged(f"ner-{index}", f"s{index}", "ner", "en", "answer", {"Disease": predicted}, {"value": {"Disease": gold}},
                      True, labels=("Disease",))

    judged = [ner(0, ["fever"], ["fever"]), ner(1, ["cough"], ["rash"])]
    mean = sample_of(Entry("NER avg", "demo", "test", ("ner",), "f1_sample_avg", group="NER"), judged)
    assert mean.strategy == "mean" and mean.stats.tolist() == [1.0, 0.0]
    counts = sample_of(Entry("NER untyped", "demo", "test", ("ner",), "f1_untyped", group="NER"), judged)
    assert counts.strategy == "counts" and counts.stats.sum(axis=0).tolist() == [1, 1, 1]
