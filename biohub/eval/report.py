"""Reports in the Taiyi layout: rows = suite rows grouped by task family, columns = runs (headline x 100, with its
95% bootstrap interval as ``54.9 [47.1, 62.0]`` when the results have one), deltas against the first run, published
reference columns, and per run the row's number of examples (n), the width of its interval, examples without an
output (missing) and outputs that did not parse (parse fail); then each run's average over its rows and per task
family, with their intervals; Markdown, HTML and a grouped bar PNG (n in its labels, the intervals as error bars)."""

from __future__ import annotations

import csv
import html
import json
from pathlib import Path
from typing import Any

from biohub.errors import ConfigError, MissingFileError
from biohub.io import atomic_path, write_text
from biohub.outputs import REPORT, replacing
from biohub.templates.registry import GROUPS

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


def table(folders: list[Path], reference: Path | None = None) -> dict[str, Any]:
    """The report's data: ordered rows with per-run values, intervals (x 100), deltas, counts (``n``, ``missing``,
    ``parse_failures``; None where a run lacks the row or, for results of an older biohub, the count or interval)
    and, when a ``reference`` CSV is given, its published figures; per run the ``averages`` of its results.json."""
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
        for _, document in runs:
            found = next((e for e in document["entries"] if e["name"] == name), None)
            values.append(None if found is None else 100 * found["value"])
            intervals.append(_percent(found.get("interval") if found else None))
            for key, column in counts.items():
                column.append(None if found is None else found.get(key))
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
                **counts,
                "reference": references,
            }
        )
    reference_columns = list(REFERENCE_COLUMNS.values()) if published else []
    averages = [document.get("averages") for _, document in runs]  # None: results of a biohub without intervals
    with_intervals = any(i is not None for row in rows for i in row["intervals"])  # else no CI width columns, as before
    return {
        "runs": [label for label, _ in runs], "rows": rows, "reference_columns": reference_columns, "averages": averages,
        "intervals": with_intervals,
    }


def _percent(interval: list[float] | None) -> list[float] | None:
    """An interval of ``results.json`` (0-1 scale) x 100, as the values are shown; None stays None."""
    return None if interval is None else [100 * interval[0], 100 * interval[1]]


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
        *runs,
        *(f"Δ {r}" for r in runs[1:]),
        *data["reference_columns"],
        *(f"{count} {r}" for r in runs for count in _count_columns(data)),
    ]


def _cells(row: dict[str, Any], data: dict[str, Any], task: str) -> list[str]:
    """One table row: values (with intervals), deltas to the first run, references, then n, interval width, missing
    and parse failures of each run (``task``: first cell)."""
    values = (value_cell(v, i) for v, i in zip(row["values"], row["intervals"]))
    cells = [task, row["name"], row["metric"], *values, *(_fmt(d, True) for d in row["deltas"][1:])]
    cells += [_fmt(row["reference"].get(r)) for r in data["reference_columns"]]
    for n, interval, missing, failures in zip(row["n"], row["intervals"], row["missing"], row["parse_failures"]):
        cells += [_count(n), *([_width(interval)] if data.get("intervals") else []), _count(missing), _count(failures)]
    return cells


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
    """Per run: its average over all its rows, then per task family (each with its interval when known)."""
    lines = []
    for index, run in enumerate(data["runs"]):
        present = [row["values"][index] for row in data["rows"] if row["values"][index] is not None]
        if present:
            average = value_cell(sum(present) / len(present), _average_interval(data, index, None))
            lines.append(f"Average of {run} over its {len(present)} rows: {average}")
            lines.append(f"Average of {run} per task family: {family_averages(data, index)}")
    return lines


def _caption(data: dict[str, Any]) -> str:
    """What the columns of the Markdown table mean (the intervals and their width only when there are some)."""
    if not data.get("intervals"):
        return (
            "Headline metric x 100 (definitions: README, Evaluation). Δ: difference to the first run. n: the row's "
            "examples; missing: examples without an output; parse fail: outputs that did not parse (both count as wrong)."
        )
    return (
        "Headline metric x 100 (definitions: README, Evaluation); [low, high]: its 95% percentile-bootstrap interval "
        "over the row's examples (README, Intervals). Δ: difference to the first run. n: the row's examples; CI width: "
        "high - low; missing: examples without an output; parse fail: outputs that did not parse (both count as wrong)."
    )


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
    folders: list[Path], out: Path, title: str, reference: Path | None = None, *, overwrite: bool = False
) -> dict[str, Any]:
    """``biohub report``: :func:`write_report` into a new folder that takes the place of ``out`` when complete; an
    earlier report there is replaced only with ``overwrite``, any other non-empty folder is refused."""
    with replacing(out, REPORT, overwrite=overwrite) as work:
        return write_report(folders, work, title, reference)


def _sizes(row: dict[str, Any]) -> str:
    """The row's n over the runs: one number when they agree, else each run's (``–``: not in that run)."""
    sizes = list(dict.fromkeys("–" if n is None else f"{n:,}" for n in row["n"]))
    return "/".join(sizes) if len(sizes) > 1 else sizes[0]


def write_report(
    folders: list[Path], out: Path, title: str = "biohub evaluation", reference: Path | None = None
) -> dict[str, Any]:
    """``report.md``, ``report.html`` and ``report.png`` in ``out`` for the runs in ``folders`` (first = baseline);
    ``reference``: a published-results CSV for the reference columns (none without it)."""
    data = table(folders, reference)
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "report.md", markdown(data, title))
    bar_chart(data, out / "report.png", title)
    write_text(out / "report.html", html_report(data, title, "report.png"))
    return data
