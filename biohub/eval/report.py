"""Reports in the Taiyi layout: rows = suite rows grouped by task family; per run the headline x 100 under lenient
parsing (with its 95% bootstrap interval as ``54.9 [47.1, 62.0]`` when the results have one) and under strict
parsing, and the parse-failure rate (%) under each, side by side (format adherence apart from content); deltas of
the lenient headline against the first run, published reference columns, and per run the row's number of examples
(n), the width of its interval, examples without an output (missing) and outputs that did not parse leniently (parse
fail); then each run's averages over its rows and per task family, with their intervals; Markdown, HTML and a
grouped bar PNG of the lenient headline (n in its labels, the intervals as error bars). With several runs, each Δ
is paired with the first run by example id (biohub.eval.paired): its paired-bootstrap interval, a significance mark
and a p column, or why the row could not be paired. After it, a "Metric variants" table: every NER and RE row's F1
under each named definition (biohub.eval.variants). For runs of ``--protocol
both``, the closed-answer rows' log-likelihood accuracy and the gap (headline - loglik acc) per run."""

from __future__ import annotations

import csv
import html
import json
from pathlib import Path
from typing import Any

from biohub.errors import ConfigError, MissingFileError
from biohub.eval.paired import ALPHA, pair_runs
from biohub.eval.resample import RESAMPLES
from biohub.eval.variants import VARIANTS
from biohub.io import atomic_path, write_text
from biohub.outputs import REPORT, replacing
from biohub.templates.registry import GROUPS, METRIC_VARIANTS

GROUP_ORDER = GROUPS
GROUP_NAMES = {
    "NER": "Named entity recognition",
    "NEN": "Entity normalisation",
    "RE": "Relation extraction",
    "COREF": "Coreference",
    "EE": "Event extraction",
    "TC": "Text classification",
    "PAIR": "Sentence pairs",
    "QA": "Question answering",
    "TS": "Text to structure",
    "GEN": "Generation",
}
PARSE_COLUMNS = ("lenient", "strict", "fail% lenient", "fail% strict")  # per run, side by side
LEGEND = (
    "Headline metric x 100 (definitions: README, Evaluation) under lenient parsing (what the parsers tolerate: prose "
    "around the answer, full-width punctuation, code fences, ...) and under strict parsing (exactly the layout biohub "
    "renders); fail%: outputs that did not parse in that mode, % of the row's examples. Δ: difference of the lenient "
    "headline to the first run. n: the row's examples; missing: examples without an output; parse fail: outputs that "
    "did not parse leniently (both count as wrong). –: not in that run, or results of an older biohub."
)
# table() key -> the results.json field it shows x 100 (absent from the results of an older biohub)
PERCENT_SOURCES = {"strict": "strict_value", "fail_lenient": "parse_failure_rate", "fail_strict": "strict_parse_failure_rate"}
REFERENCE_COLUMNS = {"taiyi1_qwen7b": "Taiyi (Qwen-7B)", "chatgpt35": "ChatGPT-3.5"}


def load_reference(path: Path | None) -> dict[str, dict[str, str]]:
    """``{dataset name: row}`` of a published-results CSV (columns ``dataset`` and those of :data:`REFERENCE_COLUMNS`,
    e.g. Taiyi's table); ``{}`` when no file is given. A file given but missing or malformed is an error naming it."""
    if path is None:
        return {}
    if not path.is_file():
        raise MissingFileError(f"{path}: no such reference results file (--reference)")
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [column for column in ("dataset", *REFERENCE_COLUMNS) if column not in (reader.fieldnames or [])]
        if missing:
            raise ConfigError(f"{path}: reference results without column(s) {', '.join(missing)}")
        rows = {}
        for row in reader:
            for column in REFERENCE_COLUMNS:
                try:
                    float(row[column] or 0)
                except ValueError:
                    raise ConfigError(f"{path}:{reader.line_num}: {column} is not a number: {row[column]!r}") from None
            rows[row["dataset"]] = row
        return rows


def _runs(folders: list[Path]) -> list[tuple[str, dict[str, Any]]]:
    runs = []
    for folder in folders:
        path = folder / "results.json"
        if not path.is_file():
            raise MissingFileError(f"{folder}: no results.json (run `biohub eval` or `biohub score` first)")
        runs.append((folder.name, json.loads(path.read_text(encoding="utf-8"))))
    return runs


def table(
    folders: list[Path], reference: Path | None = None, *, resamples: int = RESAMPLES, seed: int = 0, holm: bool = False
) -> dict[str, Any]:
    """The report's data: ordered rows with per-run values x 100 (``values``: the lenient headline; ``intervals``: its
    bootstrap interval; ``strict``: the strict headline; ``fail_lenient`` / ``fail_strict``: parse-failure rates in
    %), deltas of ``values``, counts (``n``, ``missing``, ``parse_failures``) — None where a run lacks the row or, for
    results of an older biohub, the value — and, when a ``reference`` CSV is given, its published figures; per run the
    ``averages`` of its results.json. With more than one run, ``paired`` per row and run after the first: its paired
    comparison with the first (x 100; :func:`pairing`), and ``pairing``: per comparison the rows tested, the tests used
    and the reason when none could be paired, with ``resamples``, ``seed`` and ``holm`` (Holm-adjusted p-values)."""
    runs = _runs(folders)
    published = load_reference(reference)
    names: list[str] = []
    info: dict[str, dict[str, Any]] = {}
    for _, document in runs:
        for entry in document["entries"]:
            if entry["name"] not in info:
                names.append(entry["name"])
                info[entry["name"]] = entry
    order = {group: index for index, group in enumerate(GROUP_ORDER)}
    first_seen = {name: index for index, name in enumerate(names)}
    names.sort(key=lambda name: (order.get(info[name]["group"], len(order)), first_seen[name]))
    rows = []
    for name in names:
        values: list[float | None] = []
        intervals: list[list[float] | None] = []
        counts: dict[str, list[int | None]] = {"n": [], "missing": [], "parse_failures": []}
        percents: dict[str, list[float | None]] = {"strict": [], "fail_lenient": [], "fail_strict": []}
        loglik: dict[str, list[float | None]] = {"loglik_acc": [], "gaps": []}  # --protocol both (None elsewhere)
        for _, document in runs:
            found = next((e for e in document["entries"] if e["name"] == name), None)
            values.append(None if found is None else 100 * found["value"])
            intervals.append(_percent(found.get("interval") if found else None))
            for key, column in counts.items():
                column.append(None if found is None else found.get(key))
            for key, source in PERCENT_SOURCES.items():
                percents[key].append(None if found is None or found.get(source) is None else 100 * found[source])
            both = found.get("loglik") if found is not None and found.get("protocol") == "both" else None
            loglik["loglik_acc"].append(None if both is None else 100 * both["acc"])
            loglik["gaps"].append(None if both is None else 100 * both["gap"])
        first = values[0]
        deltas = [None if v is None or first is None else v - first for v in values]
        ref_row = published.get(info[name].get("reference") or "", {})
        references = {label: float(ref_row[key]) for key, label in REFERENCE_COLUMNS.items() if ref_row.get(key)}
        rows.append(
            {
                "name": name,
                "group": info[name]["group"],
                "metric": info[name]["headline"],
                "values": values,
                "intervals": intervals,
                "deltas": deltas,
                **percents,
                **counts,
                **loglik,
                "reference": references,
            }
        )
    comparisons = pairing(folders, rows, resamples, seed, holm)
    reference_columns = list(REFERENCE_COLUMNS.values()) if published else []
    both = [index for index, (_, document) in enumerate(runs) if document.get("protocol") == "both"]
    averages = [document.get("averages") for _, document in runs]  # None: results of a biohub without intervals
    with_intervals = any(i is not None for row in rows for i in row["intervals"])  # else no CI width columns, as before
    return {
        "runs": [label for label, _ in runs], "rows": rows, "reference_columns": reference_columns, "averages": averages,
        "intervals": with_intervals, "variants": variant_rows(runs, names), "both_runs": both, "judged": judge_rows(runs, names),
        "pairing": {"resamples": resamples, "seed": seed, "holm": holm, "comparisons": comparisons},
    }


def pairing(folders: list[Path], rows: list[dict[str, Any]], resamples: int, seed: int, holm: bool) -> list[dict[str, Any]]:
    """Each run after the first paired with the first on the rows both have (:func:`biohub.eval.paired.pair_runs`):
    sets ``row["paired"]`` (one cell per run after the first: None where a run lacks the row; delta and interval x 100)
    and returns each comparison's summary (``run``, ``tested``, ``not_paired``, ``tests``, ``refused``)."""
    for row in rows:
        row["paired"] = []
    comparisons = []
    for index, folder in enumerate(folders[1:], start=1):
        names = [row["name"] for row in rows if row["values"][0] is not None and row["values"][index] is not None]
        found = pair_runs((folders[0], folder), (folders[0].name, folder.name), names, resamples, seed, holm)
        for row in rows:
            cell = found["rows"].get(row["name"]) if row["name"] in names else None
            if cell is not None and "delta" in cell:
                cell = cell | {"delta": 100 * cell["delta"], "interval": [100 * v for v in cell["interval"]]}
            row["paired"].append(cell)
        comparisons.append({key: found[key] for key in ("run", "tested", "not_paired", "tests", "refused")})
    return comparisons


def _percent(interval: list[float] | None) -> list[float] | None:
    """An interval of ``results.json`` (0-1 scale) x 100, as the values are shown; None stays None."""
    return None if interval is None else [100 * interval[0], 100 * interval[1]]


def variant_rows(runs: list[tuple[str, dict[str, Any]]], names: list[str]) -> list[dict[str, Any]]:
    """Per row with named metric variants (NER and RE) and per run that has it, in report order: the headline's name
    and value and each variant's F1 (x 100; None where the run's results lack it), from results.json ``metrics``."""
    found_rows = []
    for name in names:
        for label, document in runs:
            entry = next((e for e in document["entries"] if e["name"] == name), None)
            values = {} if entry is None else entry.get("metrics", {})
            if entry is None or not any(f"f1_{variant}" in values for variant in METRIC_VARIANTS):
                continue
            f1s = [100 * values[f"f1_{v}"] if f"f1_{v}" in values else None for v in METRIC_VARIANTS]
            found_rows.append({"name": name, "run": label, "metric": entry["headline"], "value": 100 * entry["value"], "f1": f1s})
    return found_rows


def judge_rows(runs: list[tuple[str, dict[str, Any]]], names: list[str]) -> list[dict[str, Any]]:
    """Per generation row and run with LLM-judge figures (``biohub judge``; pointwise grades, then pairwise win rates),
    in report order: the row's headline (ROUGE) x 100 beside each criterion, overall with its interval, n, the judges'
    parse failures and their agreement (:mod:`biohub.eval.judge`)."""
    found_rows = []
    for name in names:
        for label, document in runs:
            entry = next((e for e in document["entries"] if e["name"] == name), None)
            if entry is None:
                continue
            for key, mode in (("judge", "grade"), ("judge_pairwise", "win rate")):
                figures = entry.get(key)
                if not figures:
                    continue
                against = Path(str(document.get("judging_pairwise", {}).get("against") or "")).name
                agreement = [a for a in figures["agreement"].values() if a is not None]
                found_rows.append({
                    "name": name, "run": label if key == "judge" else f"{label} vs {against}", "mode": mode,
                    "metric": entry["headline"], "value": 100 * entry["value"], "scores": figures["scores"],
                    "overall": figures["overall"], "interval": figures["interval"], "n": figures["n"],
                    "failures": sum(figures["parse_failures"].values()),
                    "alpha": min(agreement) if agreement else None,
                })  # fmt: skip
    return found_rows


def _judge_header(data: dict[str, Any]) -> list[str]:
    criteria = list(data["judged"][0]["scores"]) if data.get("judged") else []
    return ["dataset", "run", "judged", "headline", "value", *criteria, "overall", "n", "judge parse fail", "lowest alpha"]


def _judge_cells(row: dict[str, Any]) -> list[str]:
    def score(value: float | None) -> str:
        return "–" if value is None else f"{value:.2f}"

    overall = score(row["overall"])
    if row["interval"] is not None:
        overall += f" [{row['interval'][0]:.2f}, {row['interval'][1]:.2f}]"
    return [
        row["name"], row["run"], row["mode"], row["metric"], _fmt(row["value"]), *(score(v) for v in row["scores"].values()),
        overall, str(row["n"]), str(row["failures"]), score(row["alpha"]),
    ]  # fmt: skip


JUDGE_CAPTION = (
    "LLM-judge figures of the generation rows (`biohub judge`, README: LLM judge), beside the row's headline x 100: "
    "grade: mean grade per criterion (1-5) over the examples, each the mean of the judges; win rate: this run's "
    "(wins + ties / 2) / n against the other run per criterion, answers shown in a seeded random order; overall: the "
    "mean of the criteria with its 95% bootstrap interval; n: examples with a readable verdict; lowest alpha: the "
    "lowest Krippendorff's alpha of the judges over the criteria (– with one judge)."
)


def judge_lines(data: dict[str, Any]) -> list[str]:
    """The Markdown "LLM judge" section of :func:`table`'s data (none without judged rows)."""
    if not data.get("judged"):
        return []
    header = _judge_header(data)
    lines = ["", "## LLM judge", "", JUDGE_CAPTION, "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(_judge_cells(row)) + " |" for row in data["judged"]]


def _judge_html(data: dict[str, Any]) -> str:
    if not data.get("judged"):
        return ""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in _judge_header(data))
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in _judge_cells(row)) + "</tr>" for row in data["judged"])
    return f"<h2>LLM judge</h2><p>{html.escape(JUDGE_CAPTION)}</p><table><tr>{head}</tr>{body}</table>"


def _fmt(value: float | None, delta: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.1f}" if delta else f"{value:.1f}"


def value_cell(value: float | None, interval: list[float] | None = None) -> str:
    """A value x 100 with one decimal and, when there is one, its interval: ``54.9 [47.1, 62.0]``."""
    if value is None or interval is None:
        return _fmt(value)
    return f"{value:.1f} [{interval[0]:.1f}, {interval[1]:.1f}]"


def _width(interval: list[float] | None) -> str:
    """The width of an interval (x 100, one decimal); ``–`` without one."""
    return "–" if interval is None else f"{interval[1] - interval[0]:.1f}"


def _header(data: dict[str, Any]) -> list[str]:
    runs = data["runs"]
    return [
        "task",
        "dataset",
        "metric",
        *(f"{column} {r}" for r in runs for column in PARSE_COLUMNS),
        *(column for r in runs[1:] for column in (f"Δ {r}", *([f"p {r}"] if _tested(data) else []))),
        *data["reference_columns"],
        *(f"{count} {r}" for r in runs for count in _count_columns(data)),
        *(f"{column} {runs[i]}" for i in data.get("both_runs", []) for column in ("loglik acc", "gap")),
    ]


def _cells(row: dict[str, Any], data: dict[str, Any], task: str) -> list[str]:
    """One table row: per run the lenient headline (with its interval) and the strict one and both parse-failure
    rates, deltas of the lenient headline to the first run, references, then n, interval width, missing and parse
    failures of each run (``task``: first cell)."""
    by_run = zip(row["values"], row["intervals"], row["strict"], row["fail_lenient"], row["fail_strict"])
    cells = [task, row["name"], row["metric"]]
    for value, interval, *others in by_run:
        cells += [value_cell(value, interval), *(_fmt(v) for v in others)]
    for delta, paired in zip(row["deltas"][1:], row.get("paired") or [None] * len(row["deltas"][1:])):
        cells += [delta_cell(delta, paired), *([p_cell(paired)] if _tested(data) else [])]
    cells += [_fmt(row["reference"].get(r)) for r in data["reference_columns"]]
    for n, interval, missing, failures in zip(row["n"], row["intervals"], row["missing"], row["parse_failures"]):
        cells += [_count(n), *([_width(interval)] if data.get("intervals") else []), _count(missing), _count(failures)]
    return cells + [
        _fmt(row[key][i], delta=key == "gaps") for i in data.get("both_runs", []) for key in ("loglik_acc", "gaps")
    ]


def _tested(data: dict[str, Any]) -> bool:
    """Whether some row of some comparison was paired (else no p columns, as in reports of unpaired runs)."""
    return any(c["tested"] for c in (data.get("pairing") or {}).get("comparisons", []))


def delta_cell(delta: float | None, paired: dict[str, Any] | None) -> str:
    """The Δ of a row (x 100) and, when it was paired, its paired interval and ``*`` when significant:
    ``+3.2 [-1.0, 7.5]`` or ``+8.0 [2.5, 13.5]*``."""
    if paired is None or "delta" not in paired:
        return _fmt(delta, True)
    low, high = paired["interval"]
    return f"{paired['delta']:+.1f} [{low:.1f}, {high:.1f}]" + ("*" if paired["significant"] else "")


def p_cell(paired: dict[str, Any] | None) -> str:
    """The p-value of a paired row (Holm-adjusted when asked, the raw one beside it), ``not paired: <reason>``, or
    ``–`` where a run lacks the row."""
    if paired is None:
        return "–"
    if "delta" not in paired:
        return f"not paired: {paired['reason']}"
    if paired["p_holm"] is None:
        return f"{paired['p']:.4f}"
    return f"{paired['p_holm']:.4f} (raw {paired['p']:.4f})"


def _count_columns(data: dict[str, Any]) -> tuple[str, ...]:
    """The per-run count columns: n, the interval width (only when some row has an interval), missing, parse fail."""
    return ("n", "CI width", "missing", "parse fail") if data.get("intervals") else ("n", "missing", "parse fail")


def _count(count: int | None) -> str:
    return "–" if count is None else f"{count:,}"


def _average_interval(data: dict[str, Any], index: int, group: str | None) -> list[float] | None:
    """The interval (x 100) of run ``index``'s average, overall (``group`` None) or of one group, from the
    ``averages`` of its results.json (None for results without them)."""
    averages = (data.get("averages") or [None] * (index + 1))[index]
    if not averages:
        return None
    found = averages.get("overall") if group is None else averages.get("groups", {}).get(group)
    return _percent(found.get("interval")) if found else None


def family_averages(data: dict[str, Any], index: int) -> str:
    """The run's average per report group (task family) of :func:`table`, in group order, as
    ``NER 81.2 [75.0, 86.1] (2 rows), RE ...`` (the interval from the run's results.json, when it has one); rows the
    run lacks are left out, a group without any row is not named."""
    by_group: dict[str, list[float]] = {}
    for row in data["rows"]:
        if row["values"][index] is not None:
            by_group.setdefault(row["group"], []).append(row["values"][index])
    return ", ".join(
        f"{group} {value_cell(sum(values) / len(values), _average_interval(data, index, group))} "
        f"({len(values)} row{'s' if len(values) > 1 else ''})"
        for group, values in by_group.items()
    )


def _average_lines(data: dict[str, Any]) -> list[str]:
    """Per run: its average over all its rows, then per task family (each with its interval when known), then over
    the rows with a strict headline."""
    lines = []
    for index, run in enumerate(data["runs"]):
        present = [row["values"][index] for row in data["rows"] if row["values"][index] is not None]
        if present:
            average = value_cell(sum(present) / len(present), _average_interval(data, index, None))
            lines.append(f"Average of {run} over its {len(present)} rows: {average}")
            lines.append(f"Average of {run} per task family: {family_averages(data, index)}")
        strict = [row["strict"][index] for row in data["rows"] if row["strict"][index] is not None]
        if strict:
            lines.append(f"Average of {run} under strict parsing over its {len(strict)} rows: {sum(strict) / len(strict):.1f}")
    return lines


def _caption(data: dict[str, Any]) -> str:
    """What the columns of the table mean (:data:`LEGEND`; the intervals and their width only when there are some;
    the paired comparisons when there are several runs)."""
    caption = LEGEND
    if data.get("intervals"):
        caption += (
            " [low, high]: the 95% percentile-bootstrap interval of the lenient headline over the row's examples (README, "
            "Intervals); CI width: high - low."
        )
    if data.get("both_runs"):
        caption += (
            " loglik acc: the closed-answer row's option log-likelihood accuracy (`--protocol both`); gap: headline "
            "(generated) - loglik acc. The two are different measurements (README, Evaluation protocols)."
        )
    return caption + pairing_caption(data)


def pairing_caption(data: dict[str, Any]) -> str:
    """Per comparison: how many rows were tested and by which test, or why none could be paired; with the number of
    resamples, the seed, the mark's level and whether Holm's correction was applied (empty for one run)."""
    pairing = data.get("pairing") or {}
    parts = []
    for comparison in pairing.get("comparisons", []):
        run = comparison["run"]
        if comparison["refused"] is not None:
            parts.append(f"Δ {run}: not paired (none of its {comparison['not_paired']} row(s)): {comparison['refused']}.")
            continue
        tests = ", ".join(f"{test}: {count}" for test, count in comparison["tests"].items() if count)
        others = f", {comparison['not_paired']} not paired (p column)" if comparison["not_paired"] else ""
        parts.append(f"Δ {run}: {comparison['tested']} row(s) tested ({tests}){others}.")
    if not parts:
        return ""
    text = " Paired comparisons with the first run (README, Paired comparisons): " + " ".join(parts)
    if _tested(data):
        holm = "Holm-adjusted over the rows tested in each comparison" if pairing["holm"] else "not adjusted (no --holm)"
        text += (
            f" Δ [low, high]: the difference and its 95% paired-bootstrap interval over the same resampled examples "
            f"(R = {pairing['resamples']:,}, seed {pairing['seed']}); * p < {ALPHA:g}; p: exact McNemar for rows of 0/1 "
            f"per-example values, the shifted paired bootstrap otherwise; p-values {holm}."
        )
    return text


VARIANT_HEADER = ["dataset", "run", "headline", "value", *(f"f1_{variant}" for variant in METRIC_VARIANTS)]


def _variant_cells(row: dict[str, Any]) -> list[str]:
    return [row["name"], row["run"], row["metric"], _fmt(row["value"]), *(_fmt(value) for value in row["f1"])]


def variant_caption() -> str:
    """What the metric-variant table shows, naming every variant's definition (README, Metric variants)."""
    definitions = "; ".join(f"{name}: {VARIANTS.get(name).formula}" for name in METRIC_VARIANTS)
    return (
        "F1 x 100 of every NER and RE row under each named definition, per run, beside the row's headline "
        f"(README, Metric variants). {definitions}."
    )


def variant_lines(data: dict[str, Any]) -> list[str]:
    """The Markdown "Metric variants" section of :func:`table`'s data (none without NER or RE rows)."""
    if not data.get("variants"):
        return []
    lines = ["", "## Metric variants", "", variant_caption(), "", "| " + " | ".join(VARIANT_HEADER) + " |"]
    lines.append("|" + "---|" * len(VARIANT_HEADER))
    return lines + ["| " + " | ".join(_variant_cells(row)) + " |" for row in data["variants"]]


def _variant_html(data: dict[str, Any]) -> str:
    if not data.get("variants"):
        return ""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in VARIANT_HEADER)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in _variant_cells(row)) + "</tr>" for row in data["variants"]
    )
    return f"<h2>Metric variants</h2><p>{html.escape(variant_caption())}</p><table><tr>{head}</tr>{body}</table>"


def markdown(data: dict[str, Any], title: str) -> str:
    """The report of :func:`table` as Markdown: one table row per suite row (the group named once), then each
    run's average over its rows and per task family (:func:`family_averages`) and, with reference columns, a note on
    how they compare."""
    header = _header(data)
    lines = [
        f"# {title}",
        "",
        _caption(data),
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    group = None
    for row in data["rows"]:
        lines.append("| " + " | ".join(_cells(row, data, row["group"] if row["group"] != group else "")) + " |")
        group = row["group"]
    lines += [f"\n{line}" for line in _average_lines(data)]
    if data["reference_columns"]:
        lines.append(
            "\nReference columns: published results of the Taiyi paper (arXiv 2311.11608) on the official test sets; "
            "the rows here may be sampled (`--limit`) and use biohub's exact matching rules, so they compare in spirit "
            "only."
        )
    lines += variant_lines(data)
    lines += judge_lines(data)
    return "\n".join(lines) + "\n"


def html_report(data: dict[str, Any], title: str, image: str) -> str:
    """The report of :func:`table` as one HTML page (every group named in full on its rows) showing ``image``."""
    body = [
        "<tr>"
        + "".join(f"<td>{html.escape(c)}</td>" for c in _cells(row, data, GROUP_NAMES.get(row["group"], row["group"])))
        + "</tr>"
        for row in data["rows"]
    ]
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>" + html.escape(title) + "</title>"
        "<style>body{font-family:sans-serif}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}"
        "td:nth-child(-n+3){text-align:left}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(_caption(data))}</p><table><tr>"
        + "".join(f"<th>{html.escape(h)}</th>" for h in _header(data)) + "</tr>" + "".join(body) + "</table>"
        + "".join(f"<p>{html.escape(line)}</p>" for line in _average_lines(data))
        + _variant_html(data)
        + _judge_html(data)
        + f"<p><img src='{html.escape(image)}' alt='grouped bar chart'></p></body></html>\n"
    )  # fmt: skip


def bar_chart(data: dict[str, Any], path: Path, title: str) -> None:
    """Write a PNG of grouped bars: one group per suite row, one bar per run (headline x 100), with the row's 95%
    interval as an error bar where the results have one."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rows, runs = data["rows"], data["runs"]
    width = 0.8 / max(len(runs), 1)
    figure, axis = plt.subplots(figsize=(max(6.0, 0.9 * len(rows) * max(1, len(runs)) ** 0.5), 4.2))
    positions = np.arange(len(rows))
    for index, run in enumerate(runs):
        heights = [row["values"][index] or 0.0 for row in rows]
        spans = [row["intervals"][index] or [height, height] for row, height in zip(rows, heights)]
        below = [max(0.0, height - low) for height, (low, _) in zip(heights, spans)]
        above = [max(0.0, high - height) for height, (_, high) in zip(heights, spans)]
        offset = positions + (index - (len(runs) - 1) / 2) * width
        axis.bar(offset, heights, width, label=run, yerr=[below, above], capsize=2, error_kw={"linewidth": 0.8})
    labels = [f"{row['name']}\n({row['metric']}, n={_sizes(row)})" for row in rows]
    axis.set_xticks(positions, labels, rotation=45, ha="right", fontsize=7)
    axis.set_ylabel("headline metric x 100")
    axis.set_ylim(0, 100)
    axis.set_title(title)
    axis.legend(fontsize=8)
    axis.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=110, metadata={"Software": None})
    plt.close(figure)


def write_report_folder(
    folders: list[Path],
    out: Path,
    title: str,
    reference: Path | None = None,
    *,
    overwrite: bool = False,
    resamples: int = RESAMPLES,
    seed: int = 0,
    holm: bool = False,
) -> dict[str, Any]:
    """``biohub report``: :func:`write_report` into a new folder that takes the place of ``out`` when complete; an
    earlier report there is replaced only with ``overwrite``, any other non-empty folder is refused. ``resamples``,
    ``seed``, ``holm``: the paired comparisons' (:func:`table`)."""
    with replacing(out, REPORT, overwrite=overwrite) as work:
        return write_report(folders, work, title, reference, resamples=resamples, seed=seed, holm=holm)


def _sizes(row: dict[str, Any]) -> str:
    """The row's n over the runs: one number when they agree, else each run's (``–``: not in that run)."""
    sizes = list(dict.fromkeys("–" if n is None else f"{n:,}" for n in row["n"]))
    return "/".join(sizes) if len(sizes) > 1 else sizes[0]


def write_report(
    folders: list[Path],
    out: Path,
    title: str = "biohub evaluation",
    reference: Path | None = None,
    *,
    resamples: int = RESAMPLES,
    seed: int = 0,
    holm: bool = False,
) -> dict[str, Any]:
    """``report.md``, ``report.html`` and ``report.png`` in ``out`` for the runs in ``folders`` (first = baseline);
    ``reference``: a published-results CSV for the reference columns (none without it); ``resamples``, ``seed``,
    ``holm``: the paired comparisons of the runs after the first with it (:func:`table`)."""
    data = table(folders, reference, resamples=resamples, seed=seed, holm=holm)
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "report.md", markdown(data, title))
    bar_chart(data, out / "report.png", title)
    write_text(out / "report.html", html_report(data, title, "report.png"))
    return data
