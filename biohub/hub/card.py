"""The dataset card (README.md) of a built repository: Hub metadata, tables, licences, citations, provenance,
and a token-length histogram (PNG beside the card)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from biohub.converters.catalog import load_catalog
from biohub.hub.decontam import Report
from biohub.hub.recipe import Recipe
from biohub.io import atomic_path, write_text
from biohub.templates.library import families

HISTOGRAM = "length_histogram.png"


def size_category(rows: int) -> str:
    """The Hugging Face ``size_categories`` value for a repository of ``rows`` rows in all."""
    for bound, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if rows < bound:
            return label
    return "1M<n<10M"


def front_matter(configs: dict[str, dict[str, int]], tasks: set[str], rows: int, recipe: Recipe) -> dict[str, Any]:
    """The card's Hub metadata: every config with its data files (mixes first, ``mix_stage2`` the default), licence,
    languages, the task categories of the families present, size category, name and tags."""
    entries = []
    for config in sorted(configs, key=lambda c: (not c.startswith("mix_"), c)):
        files = [{"split": split, "path": f"data/{config}/{split}-*.parquet"} for split in sorted(configs[config])]
        entry: dict[str, Any] = {"config_name": config, "data_files": files}
        if config == "mix_stage2":
            entry["default"] = True
        entries.append(entry)
    return {
        "configs": entries,
        "license": "other",
        "license_name": "mixed",
        "license_link": "LICENSE.md",
        "language": ["en", "zh"],
        "task_categories": sorted({families()[task].hub.task_category for task in tasks if task in families()}),
        "size_categories": [size_category(rows)],
        "pretty_name": f"biohub {recipe.name}",
        "tags": ["biomedical", "bionlp", "instruction-tuning", "biohub"],
    }


def card_text(metadata: dict[str, Any], body: str) -> str:
    """The README.md text: ``metadata`` as huggingface_hub's ``DatasetCardData`` writes it (keys in the given order),
    between ``---`` lines, a blank line, then ``body``; parsed back by ``DatasetCard``, which checks the front matter."""
    from huggingface_hub import DatasetCard, DatasetCardData

    front = DatasetCardData(**metadata).to_yaml(original_order=list(metadata))
    return str(DatasetCard(f"---\n{front}\n---\n\n{body}"))


def write_histogram(path: Path, lengths: dict[str, dict[str, list[list[Any]]]], max_length: int) -> None:
    """Token lengths of training and eval examples (log-scaled counts), with the max-length line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train = [n for per in lengths.values() for task, n in per.get("train", [])]
    evals = [n for per in lengths.values() for split, pairs in per.items() if split != "train" for task, n in pairs]
    figure, axis = plt.subplots(figsize=(8, 4), dpi=100)
    bins = list(range(0, max(train + evals + [max_length]) + 64, 64))
    if train:
        axis.hist(train, bins=bins, alpha=0.7, label=f"train ({len(train):,})")
    if evals:
        axis.hist(evals, bins=bins, alpha=0.5, label=f"eval (sample of {len(evals):,})")
    axis.axvline(max_length, color="black", linestyle="--", linewidth=1, label=f"max length {max_length}")
    axis.set_yscale("log")
    axis.set_xlabel("tokens per example (chat template, default model tokenizer)")
    axis.set_ylabel("examples")
    axis.legend()
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", metadata={"Software": None})
    plt.close(figure)


def _dataset_rows(info: dict[str, Any], catalog_dir: Path | None = None) -> list[str]:
    catalog = load_catalog(catalog_dir)
    lines = [
        "| dataset | language | tasks | unified records per split | training examples | eval examples |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    configs = info["configs"]
    for name in info["recipe"]["datasets"]:
        entry = catalog[name]
        unified = ", ".join(f"{split} {n:,}" for split, n in sorted(configs.get(f"{name}_unified", {}).items()))
        instructions = configs.get(f"{name}_instructions", {})
        evals = ", ".join(f"{split} {n:,}" for split, n in sorted(instructions.items()) if split != "train") or "-"
        lines.append(
            f"| {entry.display_name} (`{name}`) | {'/'.join(entry.languages)} | {', '.join(entry.tasks)} | {unified} "
            f"| {instructions.get('train', 0):,} | {evals} |"
        )
    return lines


def _licences(info: dict[str, Any], catalog_dir: Path | None = None) -> list[str]:
    catalog = load_catalog(catalog_dir)
    lines = ["| dataset | licence | commercial use |", "| --- | --- | --- |"]
    citations = []
    for name in info["recipe"]["datasets"]:
        entry = catalog[name]
        flag = "**no (non-commercial / research only)**" if entry.license.non_commercial else "see licence"
        lines.append(f"| `{name}` | {entry.license.name} | {flag} |")
        citations.append(f"`{name}` — {entry.homepage}\n\n```bibtex\n{entry.citation.strip()}\n```\n")
    return [*lines, "", "### Citations", "", *citations]


def write_card(
    repo: Path, recipe: Recipe, info: dict[str, Any], report: Report, lengths: dict[str, Any], catalog_dir: Path | None = None
) -> None:
    """Write the repository's ``README.md`` (front matter and body: datasets, mixes, token lengths, decontamination,
    licences, citations, provenance), ``LICENSE.md`` and the token-length histogram into ``repo``."""
    configs = info["configs"]
    tasks = {task for per in lengths.values() for pairs in per.values() for task, _ in pairs}
    rows = sum(sum(splits.values()) for splits in configs.values())
    write_histogram(repo / HISTOGRAM, lengths, recipe.instructions.max_length)
    decontam = report.to_json()
    sources = [
        f"| `{name}` | `{item['path']}` | `{item['sha256']}` |"
        for name, summary in info["datasets"].items()
        for files in summary["files"].values()
        for item in files
    ]
    body = [
        f"# biohub · {recipe.name}",
        "",
        recipe.description.strip() or "Bilingual (English + Chinese) biomedical instruction data built by biohub.",
        "",
        ("Load a config with `datasets.load_dataset(REPO, CONFIG)`. `mix_stage1` mixes the extraction, classification "
        "and sentence-pair tasks (stage 1), `mix_stage2` every task including QA, dialogue and instructions (stage 2); "
        "`<dataset>_instructions` holds a corpus' training examples and its eval splits; `<dataset>_unified` the "
        "corpus in biohub's unified, BigBio-compatible schema; `<dataset>_source` every converted record as its source "
        "file has it (verbatim text with file and line/record)."),
        "",
        "## Datasets",
        "",
        *_dataset_rows(info, catalog_dir),
        "",
        "## Mixes",
        "",
        (f"Temperature {recipe.mixing.temperature:g}; "
        + "; ".join(
            f"`{mix}`: {configs[mix]['train']:,} examples" if mix in configs else f"`{mix}`: none (no task of that stage)"
            for mix in ("mix_stage1", "mix_stage2")
        )
        + ". Caps per dataset are in the recipe below."),
        "",
        "## Token lengths",
        "",
        f"![token-length histogram]({HISTOGRAM})",
        "",
        "## Decontamination",
        "",
        (f"{decontam['eval_records']:,} eval records were checked against {decontam['train_records']:,} training "
        f"records of all datasets (normalised exact match, n-gram overlap, and short texts contained whole in the other). "
        f"Contaminated training records dropped: {decontam['contaminated_train_records']:,} "
        f"({', '.join(f'{reason}: {count:,}' for reason, count in decontam['contaminated_by_reason'].items()) or 'none'}); "
        f"duplicate training examples dropped: "
        f"{sum(decontam['duplicate_train_examples_dropped'].values()):,}. Details: `decontamination.json`."),
        "",
        "## Licences",
        "",
        ("Every source keeps its own licence; **non-commercial sources are flagged**. "
        "Using this dataset means following each."),
        "",
        *_licences(info, catalog_dir),
        "## Provenance",
        "",
        f"Built by biohub {info['biohub_version']} from recipe `{recipe.name}` (sha256 `{info['recipe_sha256']}`):",
        "",
        "```yaml",
        yaml.safe_dump(info["recipe"], sort_keys=False, allow_unicode=True).strip(),
        "```",
        "",
        "| dataset | source file | sha256 |",
        "| --- | --- | --- |",
        *sources,
        "",
    ]
    write_text(repo / "README.md", card_text(front_matter(configs, tasks, rows, recipe), "\n".join(body)))
    licence_table = _licences(info, catalog_dir)[: 2 + len(info["recipe"]["datasets"])]
    write_text(repo / "LICENSE.md", "# Licences\n\n" + "\n".join(licence_table) + "\n")
