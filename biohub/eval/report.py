"""Reports in the Taiyi layout: rows = suite rows grouped by task family, columns = runs (headline x 100), deltas
against the first run, published reference columns, and per run the row's number of examples (n), examples without
an output (missing) and outputs that did not parse (parse fail); for runs of ``--protocol both``, the closed-answer
rows' log-likelihood accuracy and the gap (headline - loglik acc); Markdown, HTML and a grouped bar PNG (n in its
labels)."""

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
    """The report's data: ordered rows with per-run values, deltas, counts (``n``, ``missing``, ``parse_failures``;
    None where a run lacks the row or, for results of an older biohub, the count) and, when a ``reference`` CSV is
    given, its published figures."""
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
        counts: dict[str, list[int | None]] = {"n": [], "missing": [], "parse_failures": []}
        loglik: dict[str, list[float | None]] = {"loglik_acc": [], "gaps": []}  # --protocol both (None elsewhere)
        for _, document in runs:
            found = next((e for e in document["entries"] if e["name"] == name), None)
            values.append(None if found is None else 100 * found["value"])
            for key, column in counts.items():
                column.append(None if found is None else found.get(key))
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
                "deltas": deltas,
                **counts,
                **loglik,
                "reference": references,
            }
        )
    reference_columns = list(REFERENCE_COLUMNS.values()) if published else []
    both = [index for index, (_, document) in enumerate(runs) if document.get("protocol") == "both"]
    return {"runs": [label for label, _ in runs], "rows": rows, "reference_columns": reference_columns, "both_runs": both}


def _fmt(value: float | None, delta: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.1f}" if delta else f"{value:.1f}"


def _header(data: dict[str, Any]) -> list[str]:
    runs = data["runs"]
    return [
        "task",
        "dataset",
        "metric",
        *runs,
        *(f"Δ {r}" for r in runs[1:]),
        *data["reference_columns"],
        *(f"{count} {r}" for r in runs for count in ("n", "missing", "parse fail")),
        *(f"{column} {runs[i]}" for i in data.get("both_runs", []) for column in ("loglik acc", "gap")),
    ]


def _cells(row: dict[str, Any], data: dict[str, Any], task: str) -> list[str]:
    """One table row: values, deltas to the first run, references, then n, missing and parse failures of each run
    (``task``: first cell)."""
    cells = [task, row["name"], row["metric"], *(_fmt(v) for v in row["values"]), *(_fmt(d, True) for d in row["deltas"][1:])]
    cells += [_fmt(row["reference"].get(r)) for r in data["reference_columns"]]
    counts = zip(row["n"], row["missing"], row["parse_failures"])
    cells += ["–" if count is None else f"{count:,}" for run in counts for count in run]
    return cells + [
        _fmt(row[key][i], delta=key == "gaps") for i in data.get("both_runs", []) for key in ("loglik_acc", "gaps")
    ]


def family_averages(data: dict[str, Any], index: int) -> str:
    """The run's average per report group (task family) of :func:`table`, in group order, as
    ``NER 81.2 (2 rows), RE ...``; rows the run lacks are left out, a group without any row is not named."""
    by_group: dict[str, list[float]] = {}
    for row in data["rows"]:
        if row["values"][index] is not None:
            by_group.setdefault(row["group"], []).append(row["values"][index])
    return ", ".join(
        f"{group} {sum(values) / len(values):.1f} ({len(values)} row{'s' if len(values) > 1 else ''})"
        for group, values in by_group.items()
    )


def _average_lines(data: dict[str, Any]) -> list[str]:
    """Per run: its average over all its rows, then per task family."""
    lines = []
    for index, run in enumerate(data["runs"]):
        present = [row["values"][index] for row in data["rows"] if row["values"][index] is not None]
        if present:
            lines.append(f"Average of {run} over its {len(present)} rows: {sum(present) / len(present):.1f}")
            lines.append(f"Average of {run} per task family: {family_averages(data, index)}")
    return lines


def markdown(data: dict[str, Any], title: str) -> str:
    """The report of :func:`table` as Markdown: one table row per suite row (the group named once), then each
    run's average over its rows and per task family (:func:`family_averages`) and, with reference columns, a note on
    how they compare."""
    header = _header(data)
    lines = [
        f"# {title}",
        "",
        "Headline metric x 100 (definitions: README, Evaluation). Δ: difference to the first run. n: the row's "
        "examples; missing: examples without an output; parse fail: outputs that did not parse (both count as wrong).",
        *(
            [
                "loglik acc: the closed-answer row's option log-likelihood accuracy (`--protocol both`); gap: headline "
                "(generated) - loglik acc. The two are different measurements (README, Evaluation protocols)."
            ]
            if data.get("both_runs")
            else []
        ),
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
        f"<h1>{html.escape(title)}</h1><p>Headline metric x 100; Δ: difference to the first run; n: the row's examples; "
        "missing: examples without an output; parse fail: outputs that did not parse (both count as wrong).</p><table><tr>"
        + "".join(f"<th>{html.escape(h)}</th>" for h in _header(data)) + "</tr>" + "".join(body) + "</table>"
        + "".join(f"<p>{html.escape(line)}</p>" for line in _average_lines(data))
        + f"<p><img src='{html.escape(image)}' alt='grouped bar chart'></p></body></html>\n"
    )  # fmt: skip


def bar_chart(data: dict[str, Any], path: Path, title: str) -> None:
    """Write a PNG of grouped bars: one group per suite row, one bar per run (headline x 100)."""
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
        axis.bar(positions + (index - (len(runs) - 1) / 2) * width, heights, width, label=run)
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
