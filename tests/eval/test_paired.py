"""Paired comparisons (biohub.eval.paired) on hand-made rows: McNemar, the shifted paired bootstrap, Holm, refusals,
a recomputed (macro-F1) row through samples.jsonl, the report's Δ and p cells and caption, and determinism."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from biohub.cli import app
from biohub.eval.paired import PairingError, holm, mcnemar, pair_row, shifted_bootstrap_p
from biohub.eval.report import markdown, table, write_report
from biohub.eval.resample import RowSample, index_blocks, row_generator, row_sample, sample_from_line, sample_line
from biohub.eval.run import score_file, select
from biohub.eval.score import Judged, compute
from biohub.eval.suite import Entry, load_suite
from biohub.io import write_jsonl

RUNS = ("base", "new")


def mean_row(values: list[float], ids: list[str] | None = None, metric: str = "accuracy", name: str = "row") -> RowSample:
    """A ``mean`` row of per-example values (ids ``e0``, ``e1``, ... unless given)."""
    return RowSample("mean", ids or [f"e{i}" for i in range(len(values))], np.array(values, dtype=np.float64), metric, name)


def test_exact_mcnemar_on_discordant_counts() -> None:
    """b = 5 (right in the first only), c = 1: two-sided binomial P(X <= 1 | 6, 1/2) x 2 = 2 x 7/64 = 0.21875; the
    concordant examples do not count; b = c = 0 gives 1."""
    first = np.array([1, 1, 1, 1, 1, 0, 1, 0, 1], dtype=np.float64)
    other = np.array([0, 0, 0, 0, 0, 1, 1, 0, 1], dtype=np.float64)
    assert mcnemar(first, other) == pytest.approx(0.21875, abs=1e-12)
    assert mcnemar(first, first) == 1.0
    paired = pair_row(mean_row(first.tolist()), mean_row(other.tolist()), 200, 0, RUNS)
    assert paired.test == "McNemar exact" and paired.p == pytest.approx(0.21875) and paired.delta == pytest.approx(-4 / 9)


def test_identical_runs_have_delta_zero_a_zero_interval_and_p_one() -> None:
    """ROUGE-like values (not 0/1): the paired bootstrap; the second run lists the same examples in another order and
    is aligned by id, so every replicate's difference is exactly 0."""
    first = mean_row([0.2, 0.5, 0.9, 0.4], metric="rougeL")
    other = mean_row([0.4, 0.9, 0.2, 0.5], ids=["e3", "e2", "e0", "e1"], metric="rougeL")
    paired = pair_row(first, other, 500, 0, RUNS)
    assert (paired.delta, paired.interval, paired.p, paired.test) == (0.0, (0.0, 0.0), 1.0, "paired bootstrap")


def test_a_run_better_on_every_example_has_the_smallest_bootstrap_p() -> None:
    """Every example 0.3 higher: every replicate's difference is 0.3 (up to rounding), so no shifted replicate is as
    far from 0 as 0.3 and p = (1 + 0) / (R + 1) = 1/1000 with R = 999."""
    first = mean_row([0.2, 0.4, 0.6, 0.1], metric="rougeL")
    other = mean_row([0.5, 0.7, 0.9, 0.4], metric="rougeL")
    paired = pair_row(first, other, 999, 0, RUNS)
    assert paired.delta == pytest.approx(0.3) and paired.p == pytest.approx(1 / 1000)
    assert paired.interval == (pytest.approx(0.3), pytest.approx(0.3))
    # the formula on hand-made replicates: δ = 0.1; |δ* - δ| >= 0.1 for 0.0 and 0.25 (2 of 4): p = 3/5
    assert shifted_bootstrap_p(0.1, np.array([0.0, 0.1, 0.15, 0.25])) == pytest.approx(3 / 5)
    assert shifted_bootstrap_p(0.0, np.array([0.5, -0.5])) == 1.0


def test_holm_on_a_hand_fixture() -> None:
    """[0.01, 0.04, 0.03]: sorted 0.01 x 3 = 0.03, 0.03 x 2 = 0.06, 0.04 x 1 = 0.04 -> raised to 0.06 (monotone)."""
    assert holm([0.01, 0.04, 0.03]) == [pytest.approx(0.03), pytest.approx(0.06), pytest.approx(0.06)]
    assert holm([0.5, 0.6]) == [1.0, 1.0] and holm([]) == []


def test_rows_on_other_examples_or_headlines_are_refused() -> None:
    with pytest.raises(PairingError, match=r"row row: runs base and new were scored on different examples \(3 vs 3; "
                                           r"1 only in base, 1 only in new\): other --limit, --seed or data"):
        pair_row(mean_row([1, 0, 1]), mean_row([1, 0, 1], ids=["e0", "e1", "x"]), 10, 0, RUNS)
    with pytest.raises(PairingError, match=r"row row: runs base and new have different headlines \(accuracy vs rougeL\)"):
        pair_row(mean_row([1, 0]), mean_row([1, 0], metric="rougeL"), 10, 0, RUNS)


def label(index: int, gold: str, predicted: str | None) -> Judged:
    """A classification example over labels A, B, C (None: an answer that did not parse)."""
    return Judged(f"tc-{index}", f"s{index}", "classification", "en", "answer", predicted, {"value": gold},
                  predicted is not None, labels=("A", "B", "C"))


def test_a_macro_f1_row_is_paired_through_samples_jsonl() -> None:
    """macro-F1 is recomputed: the row's samples.jsonl line carries its judged examples and entry, read back they score
    the same, and each replicate difference is macro-F1 of the other run minus the first's on the same indices."""
    entry = Entry("TC macro", "demo", "test", ("classification",), "macro_f1", group="TC")
    golds = "ABCAB"
    first_judged = [label(i, g, p) for i, (g, p) in enumerate(zip(golds, ["A", "A", "C", None, "B"]))]
    other_judged = [label(i, g, p) for i, (g, p) in enumerate(zip(golds, "ABCAB"))]
    first, other = (
        sample_from_line(json.loads(json.dumps(sample_line(row_sample(entry, judged, None, compute(entry, judged))))))
        for judged in (first_judged, other_judged)
    )
    assert first.strategy == "recompute" and first.entry == entry and first.examples == first_judged
    paired = pair_row(first, other, 50, 3, RUNS)
    assert paired.test == "paired bootstrap"
    assert paired.delta == pytest.approx(1.0 - compute(entry, first_judged)["macro_f1"])
    index = next(index_blocks(5, 50, row_generator(3, entry.name)))
    expected = [compute(entry, [other_judged[i] for i in row])["macro_f1"] - compute(entry, [first_judged[i] for i in row])
                ["macro_f1"] for row in index]
    assert paired.interval == tuple(np.percentile(expected, [2.5, 97.5]).tolist())


def test_token_rows_carry_their_examples_tokens() -> None:
    """A seqeval row's line holds source id -> [tokens, gold tags] of its examples, and reads back as a lookup."""
    entry = Entry("NER tokens", "demo", "test", ("ner",), "seqeval_f1", group="NER")
    judged = [Judged("n0", "s0", "ner", "en", "x", {"Disease": []}, {"value": {"Disease": []}}, True, labels=("Disease",))]
    table_ = {"s0": (["fever", "today"], ["B-Disease", "O"]), "other": (["a"], ["O"])}
    line = sample_line(RowSample("recompute", ["n0"], np.empty(0), "seqeval_f1", entry.name, judged, entry, table_.get))
    assert line["tokens"] == {"s0": [["fever", "today"], ["B-Disease", "O"]]}
    back = sample_from_line(json.loads(json.dumps(line)))
    assert back.tokens is not None and back.tokens("s0") == (["fever", "today"], ["B-Disease", "O"]) and back.entry == entry


def write_run(folder: Path, accuracy: list[float], f1_counts: list[list[int]] | None, samples: bool = True) -> Path:
    """A run of two rows: "QA" (accuracy, its per-example values) and "RE" (f1 from per-example tp/fp/fn)."""
    folder.mkdir()
    counts = np.array(f1_counts or [[1, 0, 0]], dtype=np.int64).sum(axis=0)
    f1 = 2 * counts[0] / (2 * counts[0] + counts[1] + counts[2])
    rows = [("QA", "QA", "accuracy", sum(accuracy) / len(accuracy), len(accuracy)), ("RE", "RE", "f1", f1, 4)]
    entries = [{"name": name, "group": group, "headline": metric, "value": value, "n": n, "missing": 0, "parse_failures": 0}
               for name, group, metric, value, n in rows]
    (folder / "results.json").write_text(json.dumps({"entries": entries}), encoding="utf-8")
    if samples:
        lines = [sample_line(RowSample("mean", [f"q{i}" for i in range(len(accuracy))], np.array(accuracy), "accuracy", "QA"))]
        if f1_counts is not None:
            lines.append(sample_line(RowSample("counts", ["r0", "r1", "r2", "r3"], np.array(f1_counts), "f1", "RE")))
        write_jsonl(folder / "samples.jsonl", lines)
    return folder


RE_COUNTS = [[1, 0, 0], [0, 1, 1], [2, 0, 1], [1, 1, 0]]


def test_report_cells_and_caption(tmp_path: Path) -> None:
    """QA: 0/10 right then 10/10: Δ +100.0 [100.0, 100.0], McNemar b = 0, c = 10, p = 2 / 2^10 = 0.0020, marked; RE:
    the same counts in both runs, Δ +0.0 [0.0, 0.0], p 1. With --holm, the 2 p-values become 0.0039 and 1."""
    base = write_run(tmp_path / "base", [0.0] * 10, RE_COUNTS)
    new = write_run(tmp_path / "new", [1.0] * 10, RE_COUNTS)
    text = markdown(table([base, new], resamples=200), "t")
    assert "| Δ new | p new |" in text
    assert "| +100.0 [100.0, 100.0]* | 0.0020 |" in text and "| +0.0 [0.0, 0.0] | 1.0000 |" in text
    assert "Δ new: 2 row(s) tested (McNemar exact: 1, paired bootstrap: 1)." in text
    assert "(R = 200, seed 0); * p < 0.05" in text and "p-values not adjusted (no --holm)" in text
    adjusted = markdown(table([base, new], resamples=200, holm=True), "t")
    assert "| 0.0039 (raw 0.0020) |" in adjusted and "Holm-adjusted over the rows tested in each comparison" in adjusted
    data = table([base, new], resamples=200)
    qa = next(row for row in data["rows"] if row["name"] == "QA")
    assert qa["paired"][0]["test"] == "McNemar exact" and data["pairing"]["comparisons"][0]["tested"] == 2


def test_rows_or_runs_that_cannot_be_paired_say_why(tmp_path: Path) -> None:
    base = write_run(tmp_path / "base", [0.0] * 10, RE_COUNTS)
    other_examples = write_run(tmp_path / "fewer", [1.0] * 8, None)  # QA on 8 examples, RE without a sample
    text = markdown(table([base, other_examples], resamples=50), "t")
    assert ("Δ fewer: not paired (none of its 2 row(s)): row RE: run fewer's samples.jsonl has no sample of the row; "
            "row QA: runs base and fewer were scored on different examples (10 vs 8; 2 only in base, 0 only in fewer)") in text
    assert "| Δ fewer |" in text and "p fewer" not in text  # no p column when no row was paired
    old = write_run(tmp_path / "old", [1.0] * 10, None, samples=False)
    text = markdown(table([base, tmp_path / "fewer", old], resamples=50), "t")
    assert "Δ old: not paired (none of its 2 row(s)): run old has no samples.jsonl (scored with --resamples 0" in text
    same = write_run(tmp_path / "same", [1.0] * 10, None)  # QA paired, RE not: one cell says why
    text = markdown(table([base, same], resamples=50), "t")
    assert "| not paired: row RE: run same's samples.jsonl has no sample of the row |" in text
    assert "Δ same: 1 row(s) tested (McNemar exact: 1), 1 not paired (p column)." in text


def test_paired_reports_are_deterministic_and_follow_the_seed(tmp_path: Path) -> None:
    base = write_run(tmp_path / "base", [0.0, 1.0, 1.0, 0.0, 1.0], [[1, 0, 0], [0, 1, 1], [2, 0, 1], [0, 0, 3]])
    new = write_run(tmp_path / "new", [1.0, 1.0, 0.0, 1.0, 1.0], [[1, 0, 0], [1, 0, 0], [3, 0, 0], [1, 1, 2]])
    write_report([base, new], tmp_path / "r1", resamples=300, seed=4)
    write_report([base, new], tmp_path / "r2", resamples=300, seed=4)
    assert (tmp_path / "r1" / "report.md").read_bytes() == (tmp_path / "r2" / "report.md").read_bytes()
    assert (tmp_path / "r1" / "report.html").read_bytes() == (tmp_path / "r2" / "report.html").read_bytes()
    intervals = [next(r for r in table([base, new], resamples=300, seed=seed)["rows"] if r["name"] == "RE")["paired"][0]
                 ["interval"] for seed in (4, 5)]
    assert intervals[0] != intervals[1]


def test_report_command_takes_holm_resamples_and_seed(tmp_path: Path) -> None:
    base = write_run(tmp_path / "base", [0.0] * 10, RE_COUNTS)
    new = write_run(tmp_path / "new", [1.0] * 10, RE_COUNTS)
    out = tmp_path / "report"
    result = CliRunner().invoke(app, ["report", str(base), str(new), "--out", str(out), "--holm", "--resamples", "100",
                                      "--seed", "2"])
    assert result.exit_code == 0, result.output
    text = (out / "report.md").read_text(encoding="utf-8")
    assert "(R = 100, seed 2)" in text and "0.0039 (raw 0.0020)" in (out / "report.html").read_text(encoding="utf-8")
    refused = CliRunner().invoke(app, ["report", str(base), str(new), "--out", str(tmp_path / "x"), "--resamples", "0"])
    assert refused.exit_code == 2


def test_scored_runs_pair_recompute_rows_and_refuse_another_limit(demo_hub: Path, tmp_path: Path) -> None:
    """Two scorings of the demo taiyi_style suite at --limit 2: every row pairs (recompute rows from their examples in
    samples.jsonl); against a scoring without --limit, every row with more than 2 examples is refused, naming the runs."""
    full = load_suite("taiyi_style")  # three of its rows: counts (f1_mention), recompute (HoC micro_f1), mean (accuracy)
    suite = dataclasses.replace(full, entries=tuple(e for e in full.entries if e.name in ("BC5CDR-Chem", "HoC", "PubMedQA")))
    chosen = select(str(demo_hub), list(suite.entries), 2, 0)
    answers = {r["id"]: r["messages"][-1]["content"] for rows in chosen.values() for r in rows}
    (tmp_path / "p.jsonl").write_text("".join(json.dumps({"id": k, "output": v}) + "\n" for k, v in sorted(answers.items())))
    perfect = score_file(tmp_path / "p.jsonl", suite, str(demo_hub), tmp_path / "perfect", limit=2, resamples=20)
    wrong = tmp_path / "w.jsonl"
    wrong.write_text(json.dumps({"id": json.loads((tmp_path / "p.jsonl").read_text().splitlines()[0])["id"], "output": "?"})
                     + "\n", encoding="utf-8")
    score_file(wrong, suite, str(demo_hub), tmp_path / "wrong", limit=2, resamples=20)
    data = table([tmp_path / "perfect", tmp_path / "wrong"], resamples=20)
    comparison = data["pairing"]["comparisons"][0]
    assert comparison["tested"] == len(perfect["entries"]) == 3 and comparison["not_paired"] == 0
    lines = [json.loads(line) for line in (tmp_path / "perfect" / "samples.jsonl").read_text().splitlines()]
    assert [line["strategy"] for line in lines] == ["counts", "recompute", "mean"] and lines[1]["examples"]
    assert any(row["paired"][0]["test"] == "paired bootstrap" for row in data["rows"])
    score_file(tmp_path / "p.jsonl", suite, str(demo_hub), tmp_path / "unlimited", limit=None, resamples=20)
    other = table([tmp_path / "perfect", tmp_path / "unlimited"], resamples=20)
    reasons = [row["paired"][0]["reason"] for row in other["rows"] if "reason" in row["paired"][0]]
    assert reasons and all("runs perfect and unlimited were scored on different examples" in reason for reason in reasons)
    assert other["pairing"]["comparisons"][0]["not_paired"] == len(reasons)  # rows of at most 2 examples are the same


def test_a_broken_samples_line_is_an_error_naming_the_file_and_line(tmp_path: Path) -> None:
    from biohub.eval.paired import load_samples
    from biohub.eval.score import EvalError

    good = {"name": "r", "metric": "accuracy", "strategy": "mean", "ids": ["a", "b"], "stats": [1.0, 0.0]}
    (tmp_path / "samples.jsonl").write_text(json.dumps(good) + "\n\n" + '{"name": "s", "strategy": "counts"}\n')
    with pytest.raises(EvalError, match=r"samples.jsonl:3: not a row sample .*KeyError"):
        load_samples(tmp_path)
    (tmp_path / "samples.jsonl").write_text(json.dumps(good) + "\n")
    loaded = load_samples(tmp_path)
    assert loaded is not None and loaded["r"].stats.tolist() == [1.0, 0.0]
