"""The ``biohub`` command: a thin typer layer over the package's Python API."""

from __future__ import annotations

import dataclasses
import functools
import json
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from biohub.errors import BiohubError
from biohub.typed import load_yaml

app = typer.Typer(
    help="biohub: bilingual biomedical instruction tuning, from original corpora to reports.", no_args_is_help=True
)
P = ParamSpec("P")
R = TypeVar("R")
_debug = {"traceback": False}  # set by --debug (the app's callback runs before every command)
# options several commands take, alike
Overwrite = Annotated[bool, typer.Option("--overwrite", help="Replace OUT if it holds an earlier output of this command.")]
NoVerify = Annotated[bool, typer.Option("--no-verify", help="Skip the sha256 check of catalogued source files.")]


def _print_version(asked: bool) -> None:
    """Print ``biohub <version>`` and stop (the eager ``--version`` option)."""
    if asked:
        from biohub import __version__

        typer.echo(f"biohub {__version__}")
        raise typer.Exit()


@app.callback()
def options(
    debug: Annotated[bool, typer.Option("--debug", help="Show the traceback of an error, not just its message.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print biohub's version and exit.")
    ] = False,
) -> None:
    """biohub: bilingual biomedical instruction tuning, from original corpora to reports."""
    _debug["traceback"] = debug


def console() -> Console:
    """A console sized for the terminal at call time (not at import time)."""
    return Console()


def err() -> Console:
    """A console on stderr, for errors and warnings that must not mix with a command's table on stdout."""
    return Console(stderr=True)


def fail(exc: BaseException, code: int = 2) -> NoReturn:
    """Report bad input as one line ``error: <message>`` on stderr — whatever the terminal width, the message printed
    literally (never as markup), a KeyError without its quotes — and exit with ``code`` (no traceback)."""
    from rich.markup import escape

    message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
    text = " ".join(line.strip() for line in str(message).splitlines() if line.strip())
    err().print(f"[red]error:[/red] {escape(text)}", soft_wrap=True, highlight=False)
    raise typer.Exit(code)


KEPT_WHEN_INTERRUPTED = {  # what an interrupted command leaves in OUT, for those that keep finished work
    "train_command": "the checkpoints written so far are kept in {out}; continue with --resume",
    "eval_command": "the answers generated so far are kept in {out} and reused by the same command",
    "selfinstruct_command": "the finished rounds are kept in {out}; continue with --resume",
}


def interrupted(command: str, out: object) -> NoReturn:
    """End a command stopped by Ctrl-C (SIGINT) with one line saying what was kept, and exit code 130."""
    kept = KEPT_WHEN_INTERRUPTED.get(command, "nothing was written to {out}" if out is not None else "")
    err().print("interrupted" + (f"; {kept.format(out=out)}" if kept else ""), soft_wrap=True, highlight=False, markup=False)
    raise typer.Exit(130)


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Run a command so that a :class:`BiohubError` ends it with a one-line message on stderr and the error's exit code
    (2: bad input); the traceback is printed only with ``biohub --debug``. Ctrl-C ends it with one line saying what
    was kept (:func:`interrupted`) and exit code 130. Any other exception is a bug and propagates."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except BiohubError as exc:
            if _debug["traceback"]:
                traceback.print_exc(file=sys.stderr)
            fail(exc, exc.exit_code)
        except KeyboardInterrupt:
            if _debug["traceback"]:
                traceback.print_exc(file=sys.stderr)
            interrupted(command.__name__, kwargs.get("out"))

    return run


def _names(values: list[str] | None) -> list[str] | None:
    """The names of a list option, repeated and/or comma-separated (``--datasets a --datasets b,c`` is a, b, c), in
    order, each once; None when the option was not given. Every list option of the CLI reads its values this way."""
    if values is None:
        return None
    names = [name.strip() for value in values for name in value.split(",") if name.strip()]
    return list(dict.fromkeys(names))


def _pairs(values: list[str] | None, flag: str) -> dict[str, object]:
    """Parse repeated ``key=value`` flags; values are read as YAML scalars/lists (safe_load)."""
    parsed: dict[str, object] = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expected key=value, got {item!r}", param_hint=flag)
        parsed[key.strip()] = load_yaml(value, f"{flag} {key.strip()}") if flag == "--option" else value
    return parsed


@app.command("datasets")
@reports_errors
def datasets_command(
    catalog: Annotated[Path | None, typer.Option(help="Catalog folder (default: the built-in catalog).")] = None,
) -> None:
    """Print the corpus catalog as a table; narrower than 160 columns, only name, languages, tasks, splits and licence
    (cut short, ``NC`` marking a non-commercial one), so that each corpus stays readable at 80 columns."""
    from rich.markup import escape

    from biohub.converters.catalog import load_catalog

    shown = console()
    wide = shown.width >= 160
    columns = ("name", "display name", "lang", "tasks", "schema", "splits", "license", "metric")
    table = Table(title="biohub catalog")
    chosen = columns if wide else ("name", "lang", "tasks", "splits", "license")
    for column in chosen:
        cut = not wide and column == "license"
        table.add_column(column, no_wrap=column in ("name", "lang") or cut, overflow="ellipsis" if cut else "fold",
                         max_width=14 if cut else None)
    for entry in load_catalog(catalog).values():
        license_text = escape(entry.license.name)
        if entry.license.non_commercial:
            license_text = f"{license_text} [red](non-commercial)[/red]" if wide else f"[red]NC[/red] {license_text}"
        splits = ("derived: " if entry.source.derive_splits else "") + ", ".join(entry.splits)
        cells = dict(zip(columns, (entry.name, entry.display_name, "/".join(entry.languages), ", ".join(entry.tasks),
                                   entry.schema, splits, license_text, entry.metric.name)))
        table.add_row(*(cells[column] for column in chosen))
    shown.print(table)
    if not wide:
        shown.print("display name, schema and metric: shown at 160 columns or more (e.g. COLUMNS=200 biohub datasets)")


def _option_default(option: dataclasses.Field[Any]) -> str:
    """``name=default`` of a reader option for ``biohub formats``, a default factory's value in parentheses."""
    if option.default is not dataclasses.MISSING:
        return f"{option.name}={option.default!r}"
    if option.default_factory is not dataclasses.MISSING:
        return f"{option.name}=({option.default_factory()!r})"
    return f"{option.name}=(required)"


@app.command("formats")
@reports_errors
def formats_command() -> None:
    """List the supported source formats with their options, then the options of a catalog vocabulary."""
    from biohub.converters.catalog import VOCABULARY_OPTIONS
    from biohub.converters.registry import all_readers

    table = Table(title="biohub formats")
    for column in ("format", "schema", "description", "options (default)"):
        table.add_column(column, overflow="fold")
    for name, reader in all_readers().items():
        options = ", ".join(_option_default(f) for f in dataclasses.fields(reader.Options))
        table.add_row(name, reader.schema, reader.description, options or "-")
    console().print(table)
    console().print(
        "Catalog vocabularies (tables of standard terms beside a corpus, e.g. CHIP-CDN's ICD-10 list): each names "
        "name, file, code and term columns, and options from the csv format's "
        f"{', '.join(VOCABULARY_OPTIONS)}; written to OUT/<dataset>/vocabularies/<name>.parquet (code, term)."
    )


@app.command("convert")
@reports_errors
def convert_command(
    out: Annotated[Path, typer.Option(help="Output folder: OUT/<dataset>/<split>.parquet and OUT/ledger.json.")],
    mirror: Annotated[Path | None, typer.Option(help="Local mirror holding the catalogued corpora (one folder each).")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Convert every catalog entry.")] = False,
    datasets: Annotated[
        list[str] | None, typer.Option(help="Catalog names to convert, comma-separated and/or repeated.")
    ] = None,
    catalog: Annotated[Path | None, typer.Option(help="Catalog folder (default: the built-in catalog).")] = None,
    format_: Annotated[
        str | None, typer.Option("--format", help="Format of an uncatalogued corpus (see `biohub formats`).")
    ] = None,
    input_: Annotated[
        list[Path] | None, typer.Option("--input", help="Input file/folder of an uncatalogued corpus (repeatable).")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Dataset name for an uncatalogued corpus.")] = None,
    lang: Annotated[str | None, typer.Option(help="Language (en/zh) of an uncatalogued corpus.")] = None,
    split: Annotated[str | None, typer.Option(help="Split of the inputs (default: from the file names).")] = None,
    field: Annotated[list[str] | None, typer.Option(help="Field mapping key=value, e.g. text_1=query (repeatable).")] = None,
    option: Annotated[list[str] | None, typer.Option(help="Reader option key=value (YAML value; repeatable).")] = None,
    labels: Annotated[
        list[str] | None, typer.Option(help="Label set, comma-separated and/or repeated (default: inferred).")
    ] = None,
    strict: Annotated[
        bool, typer.Option(help="Fail (exit 2, nothing written) if any record is rejected or any annotation dropped.")
    ] = False,
    no_verify: NoVerify = False,
    allow_empty: Annotated[
        bool, typer.Option("--allow-empty", help="Write a corpus even when no record converted (else an error).")
    ] = False,
    jobs: Annotated[
        int | None,
        typer.Option(min=1, help="Worker processes for several catalogued corpora (default: one per CPU; 1: none)."),
    ] = None,
) -> None:
    """Convert corpora in their original formats into the unified schema."""
    from rich.markup import escape

    from biohub.converters.api import convert_catalogued, convert_files
    from biohub.converters.base import os_reason
    from biohub.io import InputError

    try:
        if format_:
            if mirror or all_ or datasets:
                raise typer.BadParameter("--format converts --input files; do not combine it with --mirror/--all/--datasets")
            if not input_ or not name or not lang:
                raise typer.BadParameter("--format needs --input, --name and --lang")
            results = [
                convert_files(
                    format_, input_, name, lang, out, split=split,
                    fields={key: str(value) for key, value in _pairs(field, "--field").items()},  # --field values: text
                    options=_pairs(option, "--option"), labels=_names(labels) or None, strict=strict,
                    allow_empty=allow_empty,
                )
            ]
        else:
            if mirror is None or all_ == bool(_names(datasets)):
                raise typer.BadParameter("give --mirror and exactly one of --all / --datasets (or use --format)")
            names = None if all_ else _names(datasets)
            results = convert_catalogued(
                mirror, out, names, catalog=catalog, verify=not no_verify, strict=strict, allow_empty=allow_empty,
                jobs=jobs,
            )
    except OSError as exc:  # e.g. an output folder that is a symbolic link loop: named with the reason, in one line
        if isinstance(exc, BiohubError):  # an output folder refused (OutputExistsError) says why itself
            raise
        where = Path(exc.filename) if exc.filename else out
        raise InputError(f"{where}: {os_reason(exc, where)}") from None
    table = Table(title=f"converted into {out}")
    for column in ("dataset", "split", "read", "converted", "rejected", "defects", "dropped", "unaccounted"):
        table.add_column(column, justify="right" if column not in ("dataset", "split") else "left")
    gaps: list[str] = []  # one phrase per split and unit whose annotation counts do not add up
    for result in results:
        for split_name, ledger in sorted(result.ledger.items()):
            missing = ledger.unaccounted_total()  # by absolute value: never cancels drops
            cells = (ledger.read, ledger.converted, ledger.rejected, sum(ledger.defects.values()), ledger.dropped, missing)
            table.add_row(escape(result.dataset), split_name, *map(str, cells))
            gaps += ledger.unaccounted_lines(f"{result.dataset}/{split_name}")
        for vocabulary in result.vocabularies:
            ledger = vocabulary.ledger
            cells = (ledger.read, ledger.converted, ledger.rejected, sum(ledger.defects.values()), ledger.dropped, 0)
            table.add_row(escape(result.dataset), escape(vocabulary.label), *map(str, cells))
    console().print(table)
    listed = f"{out}/<dataset>/rejections.jsonl"
    console().print(f"ledger: {out / 'ledger.json'}; rejected records and dropped annotations are listed in {listed}")
    if gaps:
        err().print(f"unaccounted annotations (a reader bug): {escape('; '.join(gaps))}", soft_wrap=True, highlight=False)


templates_app = typer.Typer(help="The instruction template library.", no_args_is_help=True)
app.add_typer(templates_app, name="templates")


@app.command("instruct")
@reports_errors
def instruct_command(
    unified: Annotated[
        Path, typer.Option(help="Folder written by `biohub convert` (<dataset>/<split>.parquet + info.json).")
    ],
    out: Annotated[
        Path, typer.Option(help="Output folder: OUT/<dataset>/<split>.parquet, ledger.json, length_stats.json.")
    ],
    seed: Annotated[int, typer.Option(help="Seed of the template (and format) choice.")] = 0,
    formats: Annotated[
        list[str] | None,
        typer.Option(help="Answer format(s): lines, json, or lines,json (seeded choice per example); repeatable."),
    ] = None,
    decompose: Annotated[
        bool,
        typer.Option(help="Also one NER example per entity type and one event example per event type (Taiyi's decomposition)."),
    ] = False,
    max_length: Annotated[
        int,
        typer.Option(help="Token limit per example; longer NER and event documents are split, others dropped (0: no limit)."),
    ] = 1024,
    tokenizer: Annotated[
        str, typer.Option(help="Tokenizer for lengths: 'default' (the default model's), a folder or a Hub id.")
    ] = "default",
    datasets: Annotated[
        list[str] | None, typer.Option(help="Subset of the converted datasets, comma-separated and/or repeated.")
    ] = None,
    overwrite: Overwrite = False,
    allow_empty: Annotated[
        bool, typer.Option("--allow-empty", help="Exit 0 even when no example was made (else an error).")
    ] = False,
) -> None:
    """Turn unified records into instruction examples (EN + ZH templates, seeded)."""
    from biohub.io import InputError
    from biohub.models import load_tokenizer
    from biohub.templates.answers import FORMATS
    from biohub.templates.instruct import InstructOptions, NoExampleError, instruct

    chosen = tuple(_names(formats) or []) if formats is not None else ("lines",)
    if not chosen or any(f not in FORMATS for f in chosen):
        raise typer.BadParameter(f"formats must be among {', '.join(FORMATS)}", param_hint="--formats")
    options = InstructOptions(seed=seed, formats=chosen, decompose=decompose, max_length=max_length)
    names = _names(datasets)
    if not unified.is_dir():
        raise InputError(f"{unified}: no such folder (--unified: a folder written by `biohub convert`)")
    loaded = load_tokenizer(tokenizer) if max_length else None
    if not allow_empty and not any(unified.glob("*/info.json")):
        raise InputError(f"{unified}: holds no converted dataset (no <dataset>/info.json); nothing written")
    try:
        ledger = instruct(unified, out, options, tokenizer=loaded, tokenizer_name=tokenizer, datasets=names,
                          overwrite=overwrite, allow_empty=allow_empty)
    except NoExampleError as exc:  # nothing written: the table says what every split lost, then the error
        _print_instruct(exc.ledger, out, max_length)
        raise
    _print_instruct(ledger, out, max_length)


def _print_instruct(ledger: dict[str, Any], out: Path, max_length: int) -> None:
    """An instruct ledger as a table (one row per dataset and split), then every drop with its count and reason."""
    from biohub.templates.instruct import drop_lines

    table = Table(title=f"instruction examples in {out}")
    for column in ("dataset", "split", "records", "examples", "windowed", "dropped (too long)"):
        table.add_column(column)
    for dataset, splits in ledger.items():
        for split, stats in splits.items():
            table.add_row(
                dataset, split, str(stats["records"]), str(sum(stats["examples"].values())),
                str(sum(stats["windowed_records"].values())), str(sum(stats["dropped_too_long"].values())),
            )
    console().print(table)
    for line in drop_lines(ledger, max_length):  # every loss on screen, with its count and reason
        console().print(line, markup=False)


@templates_app.command("list")
@reports_errors
def templates_list_command() -> None:
    """Number of templates per task family and language."""
    from biohub.templates.library import LANGUAGES, families

    table = Table(title="instruction templates")
    for column in ("family", "kind", "version", *LANGUAGES):
        table.add_column(column)
    for name, family in families().items():
        table.add_row(name, family.kind, str(family.version), *(str(len(family.templates[lang])) for lang in LANGUAGES))
    console().print(table)


@templates_app.command("check")
@reports_errors
def templates_check_command(
    unified: Annotated[Path, typer.Option(help="Folder written by `biohub convert`.")],
) -> None:
    """Render every labelled record with every template and parse the target back; non-zero exit below 100%."""
    from biohub.templates.check import check_unified

    results = check_unified(unified)
    table = Table(title="template round trip")
    for column in ("dataset", "labelled records", "task instances", "round trip"):
        table.add_column(column)
    for result in results:
        table.add_row(result.dataset, str(result.records), str(result.instances), f"{result.rate:.2%}")
    console().print(table)
    failed = [result for result in results if result.rate < 1.0]
    for result in failed:
        for failure in result.failures:
            err().print(f"[red]{result.dataset}[/red]: {failure}")
    if not results:
        err().print(f"[red]no converted datasets (*/info.json) in {unified}[/red]")
    if failed or not results:
        raise typer.Exit(1)


@app.command("build")
@reports_errors
def build_command(
    recipe: Annotated[Path, typer.Argument(help="Recipe YAML (e.g. recipes/taiyi_style.yaml).")],
    mirror: Annotated[Path, typer.Option(help="Local mirror of the corpora.")],
    out: Annotated[Path, typer.Option(help="The Hub dataset repository folder to write (replaced when complete).")],
    workers: Annotated[int, typer.Option(help="Worker processes (datasets in parallel).")] = 2,
    no_verify: NoVerify = False,
    catalog: Annotated[Path | None, typer.Option(help="Catalog folder to use instead of the built-in one.")] = None,
    cap: Annotated[
        int | None,
        typer.Option(
            help="Cap every dataset's training examples at N (a lower cap in the recipe is kept); eval sets stay whole."
        ),
    ] = None,
    overwrite: Overwrite = False,
) -> None:
    """Build a Hugging Face dataset repository folder (configs, card, decontamination report) from a recipe."""
    from biohub.hub.build import build, build_drop_lines
    from biohub.hub.recipe import load_recipe, with_cap

    plan = load_recipe(recipe)  # a worker's error is raised as itself
    info = build(
        plan if cap is None else with_cap(plan, cap), mirror, out, workers=workers, verify=not no_verify, catalog=catalog,
        overwrite=overwrite,
    )
    table = Table(title=f"{out} ({len(info['configs'])} configs)")
    for column in ("config", "splits"):
        table.add_column(column)
    for config, splits in info["configs"].items():
        table.add_row(config, ", ".join(f"{split} {n:,}" for split, n in sorted(splits.items())))
    console().print(table)
    for line in build_drop_lines(info):  # every training example the instruct stage lost, with its count and reason
        console().print(line, markup=False)
    console().print(f"card: {out / 'README.md'}; decontamination report: {out / 'decontamination.json'}")


@app.command("push")
@reports_errors
def push_command(
    hubdir: Annotated[Path, typer.Argument(help="The Hub dataset repository folder written by `biohub build`.")],
    repo_id: Annotated[str, typer.Option("--repo-id", help="Dataset repository ORG/NAME (created when missing).")],
    private: Annotated[
        bool, typer.Option("--private", help="Create the repository as private (refused if it exists and is public).")
    ] = False,
    revision: Annotated[
        str | None, typer.Option(help="Branch to commit to; a new one starts from main (default: main).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List the operations (add/update/delete with sizes); change nothing.")
    ] = False,
) -> None:
    """Publish HUBDIR as one commit (none when nothing changed); the token comes from HF_TOKEN or `hf auth login`."""
    from rich.markup import escape

    from biohub.hub.push import push, result_counts

    result = push(hubdir, repo_id, private=private, revision=revision, dry_run=dry_run)  # a PushError exits with 1
    where = f"{result.repo_id}@{result.revision}"
    if result.changes:
        table = Table(title=f"{'dry run: ' if dry_run else ''}{where}")
        for column in ("operation", "path", "bytes"):
            table.add_column(column, justify="right" if column == "bytes" else "left")
        for change in result.changes:
            table.add_row(change.kind, escape(change.path), f"{change.size:,}")
        console().print(table)
    novelties = (("new repository", result.new_repo), ("new branch", result.new_branch))
    created = ", ".join(what for what, new in novelties if new)
    summary = f"{result_counts(result.changes)}, {result.unchanged} unchanged" + (f" ({created})" if created else "")
    if dry_run and result.not_compared:
        console().print(f"dry run: could not compare with {where}, so every file is listed as an add; whether the "
                        f"repository exists, what it holds and its visibility are unknown ({result.not_compared}); "
                        f"nothing was changed on {where}", soft_wrap=True, highlight=False, markup=False)
    elif dry_run:
        console().print(f"dry run: {summary}; nothing was changed on {where}")
    elif result.commit_oid is None:
        console().print(f"{where} already matches {hubdir}: no commit ({result.unchanged} files unchanged)")
    else:
        console().print(f"committed {result.commit_oid} to {where}: {summary}\n{result.commit_url}", soft_wrap=True)


@app.command("train")
@reports_errors
def train_command(
    recipe: Annotated[Path, typer.Argument(help="Training recipe YAML (e.g. recipes/two_stage_demo.yaml).")],
    data: Annotated[str, typer.Option(help="A folder written by `biohub build`, or a Hub dataset id (ORG/NAME).")],
    out: Annotated[Path, typer.Option(help="Run folder: <stage>/ outputs, metrics.jsonl, loss.png.")],
    max_steps: Annotated[
        int | None, typer.Option("--max-steps", help="Cap the optimizer steps of every stage (smoke runs).")
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a recipe key: key.path=value (value read as YAML); repeatable."),
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in OUT from its newest checkpoint.")] = False,
) -> None:
    """Run a (two-stage) supervised fine-tune; works alone or under `accelerate launch`."""
    from biohub.training.recipe import load_train_recipe

    overrides = list(set_ or []) + ([f"max_steps={max_steps}"] if max_steps is not None else [])
    loaded = load_train_recipe(recipe, overrides)
    from biohub.training.preflight import check_run  # imports datasets (~3 s): after the recipe's own checks

    check_run(loaded, data, out, resume=resume)  # data, model and --out fail now, before torch and the model load
    from biohub.training.run import train

    evaluate = None
    if loaded.eval.every:  # task metrics during training: eval's scorers over a fixed sample of the hub's eval sets
        from biohub.eval.suite import load_suite
        from biohub.eval.training import TrainingEval

        settings = loaded.eval
        evaluate = TrainingEval(
            data, load_suite(settings.suite), settings.per_dataset, settings.protocol, loaded.seed, settings.max_new_tokens,
            settings.batch_size,
        )  # fmt: skip
    summary = train(loaded, data, out, resume=resume, evaluate=evaluate)
    from accelerate import PartialState

    if not PartialState().is_main_process:  # under `accelerate launch`, one summary
        return
    table = Table(title=f"{out}")
    for column in ("stage", "examples", "steps", "epochs", "tokens", "final loss", "seconds"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    for name, stage in summary["stages"].items():
        table.add_row(
            name, f"{stage['examples']:,}", f"{stage['steps']:,}", f"{stage['epochs']:.3g}", f"{stage['tokens']:,}",
            f"{stage['final_loss']:.4f}", f"{stage['seconds']:.0f}",
        )
    console().print(table)
    console().print(f"metrics: {out / 'metrics.jsonl'}; loss curves: {out / 'loss.png'}")


@app.command("eval")
@reports_errors
def eval_command(
    model: Annotated[
        str,
        typer.Option(help="`default`, a .gguf file, a model folder, or a Hub id; --backend openai: the served model's name."),
    ],
    suite: Annotated[str, typer.Option(help="Suite name (taiyi_style, all) or a suite YAML file.")],
    data: Annotated[str, typer.Option(help="A folder written by `biohub build`, or a Hub dataset id.")],
    out: Annotated[
        Path, typer.Option(help="Output folder (generations.jsonl, results.json, report.*); reused on restart.")
    ],
    adapter: Annotated[str | None, typer.Option(help="A LoRA adapter folder (e.g. a `biohub train` stage).")] = None,
    limit: Annotated[
        int | None, typer.Option(help="Seeded sample of at most N examples per row (the same for every model).")
    ] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", help="Generation batch size (loglik: questions per forward pass).")
    ] = 16,
    seed: Annotated[int, typer.Option(help="Seed of the --limit sample and of the bootstrap.")] = 0,
    max_new_tokens: Annotated[
        int | None, typer.Option("--max-new-tokens", help="Cap every per-task token budget (quick CPU runs).")
    ] = None,
    resamples: Annotated[
        int, typer.Option(min=0, help="Bootstrap resamples per row for the 95% intervals (0: no intervals).")
    ] = 1000,
    protocol: Annotated[
        str,
        typer.Option(
            help="generate: generate and parse every row; loglik: score the options of the closed-answer rows by "
            "log-likelihood (others skipped); both: generate every row and add loglik figures and the gap."
        ),
    ] = "generate",
    backend: Annotated[
        str,
        typer.Option(
            help="hf: transformers in this process; openai: an OpenAI-compatible server at --base-url serving --model "
            "(vLLM serve, SGLang, TGI, llama.cpp, Ollama, a hosted API; key from BIOHUB_EVAL_KEY or OPENAI_API_KEY); "
            "vllm: vLLM's offline engine on the visible GPUs, both protocols (pip install 'biohub[vllm]')."
        ),
    ] = "hf",
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="--backend openai: the server's API root, e.g. http://127.0.0.1:8000/v1.")
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="--backend openai: requests in flight.")] = 4,
    retries: Annotated[int, typer.Option(min=0, help="--backend openai: retries of a request on HTTP 429/5xx.")] = 5,
    max_requests: Annotated[
        int | None, typer.Option("--max-requests", min=1, help="--backend openai: most requests sent (retries count).")
    ] = None,
    max_tokens_total: Annotated[
        int | None,
        typer.Option("--max-tokens-total", min=1, help="--backend openai: most tokens (the server's usage counts)."),
    ] = None,
    tokenizer: Annotated[
        str | None,
        typer.Option(help="--backend openai --protocol loglik|both: the served model's tokenizer (folder or Hub id; "
                     "default: --model)."),
    ] = None,
    tensor_parallel_size: Annotated[
        int, typer.Option("--tensor-parallel-size", min=1, help="--backend vllm: GPUs per engine replica.")
    ] = 1,
    data_parallel_size: Annotated[
        int, typer.Option("--data-parallel-size", min=1, help="--backend vllm: engine replicas, each on its own GPUs.")
    ] = 1,
    merge: Annotated[
        bool,
        typer.Option(
            "--merge/--no-merge",
            help="Fold the --adapter into the base weights before generating (peft merge_and_unload: faster on a CPU; "
            "equal up to float rounding), or run it unmerged.",
        ),
    ] = True,
) -> None:
    """Generate for every example of a suite, parse, score, and write the results and a report."""
    from biohub.eval.run import PROTOCOLS, Server, evaluate
    from biohub.eval.suite import load_suite
    from biohub.eval.vllm_backend import VllmOptions

    if protocol not in PROTOCOLS:
        raise typer.BadParameter(f"expected one of {', '.join(PROTOCOLS)}", param_hint="--protocol")
    server = None
    if base_url is not None:
        server = Server(base_url, concurrency, retries, max_requests, max_tokens_total, tokenizer)
    document = evaluate(
        model, load_suite(suite), data, out, adapter=adapter, limit=limit, seed=seed, batch_size=batch_size,
        max_new_tokens_cap=max_new_tokens, resamples=resamples, protocol=protocol, backend=backend, server=server,
        merge_adapter=merge, vllm=VllmOptions(tensor_parallel_size, data_parallel_size),
    )
    _print_results(document, out)


@app.command("score")
@reports_errors
def score_command(
    predictions: Annotated[Path, typer.Option(help="JSONL of {\"id\": example id, \"output\": raw answer text}.")],
    data: Annotated[str, typer.Option(help="The hub folder (or Hub id) the example ids come from.")],
    out: Annotated[Path, typer.Option(help="Output folder (results.json, generations.jsonl, report.*).")],
    suite: Annotated[str, typer.Option(help="Suite name or YAML file.")] = "all",
    limit: Annotated[
        int | None, typer.Option(help="The --limit the predictions were made with (same seeded sample).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the --limit sample and of the bootstrap.")] = 0,
    resamples: Annotated[
        int, typer.Option(min=0, help="Bootstrap resamples per row for the 95% intervals (0: no intervals).")
    ] = 1000,
) -> None:
    """Score predictions made anywhere (another framework, an API model) with biohub's parsers and metrics."""
    from biohub.eval.run import score_file
    from biohub.eval.suite import load_suite

    document = score_file(predictions, load_suite(suite), data, out, limit=limit, seed=seed, resamples=resamples)
    _print_results(document, out)


@app.command("judge")
@reports_errors
def judge_command(
    run: Annotated[Path, typer.Argument(help="A result folder of `biohub eval` or `biohub score`.")],
    judge: Annotated[
        list[str],
        typer.Option("--judge", help="openai:MODEL@http(s)://HOST/v1, an OpenAI-compatible server; repeat for a jury."),
    ],
    against: Annotated[
        Path | None,
        typer.Option(help="Pairwise: another result folder of the same examples (answers shown in a seeded random order)."),
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Judge the first N examples of each generation row.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the pairwise order and of the bootstrap.")] = 0,
    resamples: Annotated[int, typer.Option(min=0, help="Bootstrap resamples for the interval of `overall`.")] = 1000,
    concurrency: Annotated[int, typer.Option(min=1, help="Requests in flight per judge.")] = 4,
    max_requests: Annotated[
        int | None, typer.Option("--max-requests", min=1, help="Most requests per judge (retries count).")
    ] = None,
    spec: Annotated[
        Path | None, typer.Option(help="A judge spec YAML (criteria, scale, prompts) instead of the shipped one.")
    ] = None,
) -> None:
    """Grade the generation rows of a run with LLM judges (key from BIOHUB_JUDGE_KEY, BIOHUB_EVAL_KEY or OPENAI_API_KEY)."""
    from biohub.eval.judge import judge_run, load_judge_spec, make_judges

    judges = make_judges(judge, concurrency=concurrency, max_requests=max_requests)
    document = judge_run(
        run, judges, against=against, spec=load_judge_spec(spec), seed=seed, resamples=resamples, limit=limit
    )
    key = "judge" if against is None else "judge_pairwise"
    table = Table(title=f"{run}: {'grades' if against is None else f'win rates against {against.name}'}")
    for column in ("row", "n", "overall", "judge parse fail"):
        table.add_column(column)
    for entry in document["entries"]:
        if entry.get(key):
            figures = entry[key]
            overall = "–" if figures["overall"] is None else f"{figures['overall']:.2f}"
            table.add_row(entry["name"], str(figures["n"]), overall, str(sum(figures["parse_failures"].values())))
    console().print(table)
    console().print(f"judgments: {run}; figures in {run / 'results.json'} and {run / 'report.md'}")


@app.command("report")
@reports_errors
def report_command(
    runs: Annotated[
        list[Path], typer.Argument(help="Result folders of `biohub eval`/`score`; the first is the baseline.")
    ],
    out: Annotated[Path, typer.Option(help="Report folder (report.md, report.html, report.png).")],
    title: Annotated[str, typer.Option(help="Report title.")] = "biohub evaluation",
    reference: Annotated[
        Path | None, typer.Option(help="Published results CSV for reference columns (none by default).")
    ] = None,
    overwrite: Overwrite = False,
    holm: Annotated[
        bool, typer.Option("--holm", help="Holm-adjust the paired p-values over the rows tested in each comparison.")
    ] = False,
    resamples: Annotated[
        int, typer.Option(min=1, help="Paired-bootstrap resamples per row for the Δ intervals and bootstrap p-values.")
    ] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the paired resamples (each row's generator: seed and row name).")] = 0,
) -> None:
    """One table in the Taiyi layout over several runs, with deltas against the first (paired by example id: interval,
    p-value, significance mark), and a grouped bar chart."""
    from biohub.eval.report import write_report_folder

    write_report_folder(runs, out, title, reference, overwrite=overwrite, resamples=resamples, seed=seed, holm=holm)
    console().print(f"report: {out / 'report.md'}, {out / 'report.html'}, {out / 'report.png'}")


def _print_results(document: dict[str, Any], out: Path) -> None:
    """Print a results document as one row per suite entry (headline value under lenient parsing, with its 95%
    interval when computed, and under strict parsing, n, missing outputs, parse failures under each) and where its
    report is."""
    table = Table(title=f"{out} ({document['suite']})")
    for column in ("row", "metric", "value", "strict", "n", "missing", "parse failures", "strict failures"):
        table.add_column(column, justify="left" if column in ("row", "metric") else "right")
    for entry in document["entries"]:
        # (a loglik row has no strict parse: nothing is parsed)
        keys = ("n", "missing", "parse_failures", "strict_parse_failures")
        counts = ("–" if entry.get(key) is None else f"{entry[key]:,}" for key in keys)
        interval = entry.get("interval")
        value = f"{100 * entry['value']:.1f}" + (f" [{100 * interval[0]:.1f}, {100 * interval[1]:.1f}]" if interval else "")
        strict = "–" if entry.get("strict_value") is None else f"{100 * entry['strict_value']:.1f}"
        table.add_row(entry["name"], entry["headline"], value, strict, *counts)
    console().print(table)
    console().print(f"report: {out / 'report.md'}")
    if "loglik" in document:
        summary = document["loglik"]
        console().print(
            f"loglik: {summary['questions']:,} questions in {summary['rows_scored']} rows; {summary['rows_skipped']} rows "
            f"without a closed-answer question skipped; option scores {out / 'loglik.jsonl'}, "
            f"reliability diagram {out / 'reliability.png'}"
        )


@app.command("selfinstruct")
@reports_errors
def selfinstruct_command(
    generator: Annotated[
        str,
        typer.Option(
            help="local:default | local:PATH_OR_HUB_ID | openai:MODEL@BASE_URL "
            "(key from $BIOHUB_GENERATOR_KEY or $OPENAI_API_KEY)."
        ),
    ],
    target: Annotated[int, typer.Option(help="Number of tasks to accept.")],
    out: Annotated[
        Path, typer.Option(help="Output folder (instructions.json, ledger.json, README.md, categories.png, state/).")
    ],
    seeds: Annotated[
        Path | None, typer.Option(help="Seed tasks, Alpaca-shaped JSONL (default: biohub's own EN + ZH seeds).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the example draws (and of local sampling).")] = 0,
    k: Annotated[int, typer.Option(help="Examples shown per request.")] = 3,
    batch: Annotated[int, typer.Option(help="Requests per round.")] = 8,
    max_requests: Annotated[
        int | None,
        typer.Option("--max-requests", help="Request budget (all rounds, retries of HTTP requests included)."),
    ] = None,
    concurrency: Annotated[int, typer.Option(help="Parallel HTTP requests (openai generators).")] = 4,
    categorize: Annotated[str, typer.Option(help="rules | generator: who assigns QA / IE / generation / other.")] = "rules",
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in OUT.")] = False,
    name: Annotated[
        str, typer.Option(help="Dataset name of the catalog entry and build recipe written to OUT.")
    ] = "selfinstruct",
    allow_empty: Annotated[
        bool, typer.Option("--allow-empty", help="Write the outputs even when no task was accepted (else an error).")
    ] = False,
) -> None:
    """Grow a seed set into new biomedical instructions (Self-Instruct / BioInstruct style), filtered and categorised."""
    from biohub.io import InputError
    from biohub.selfinstruct.generators import make_generator
    from biohub.selfinstruct.pipeline import Options, selfinstruct
    from biohub.selfinstruct.tasks import DATA, load_seeds

    if categorize not in ("rules", "generator"):
        raise typer.BadParameter("rules or generator", param_hint="--categorize")
    seeds_file = seeds or DATA / "seeds.jsonl"
    if not seeds_file.is_file():
        which = "--seeds" if seeds else "the default seeds: biohub is incomplete"
        raise InputError(f"no such file {seeds_file} ({which})")
    tasks = load_seeds(seeds_file)
    engine = make_generator(generator, seed=seed, budget=max_requests, concurrency=concurrency)
    options = Options(target, seed, k, batch, max_requests, categorize == "generator", name, allow_empty)
    ledger = selfinstruct(tasks, engine, out, options, resume=resume)
    console().print(f"{ledger['accepted']:,} accepted of {ledger['requests']:,} requests; removed: "
                    + ", ".join(f"{reason} {n:,}" for reason, n in ledger["rejected"].items() if n))
    console().print(f"{out / 'instructions.json'} (Alpaca JSON), {out / 'README.md'}, {out / 'ledger.json'}; "
                    f"build it with biohub build {out / 'recipe.yaml'} --mirror {out} --catalog {out / 'catalog'} --out HUBDIR")


@app.command("export")
@reports_errors
def export_command(
    hubdir: Annotated[Path, typer.Argument(help="A folder written by `biohub build`.")],
    format_: Annotated[str, typer.Option("--format", help="alpaca | sharegpt | messages | lm-eval")],
    out: Annotated[Path, typer.Option(help="Output folder (new, empty, or an earlier export with --overwrite).")],
    configs: Annotated[
        list[str] | None,
        typer.Option(help="Configs, comma-separated and/or repeated (default: the mixes and every *_instructions)."),
    ] = None,
    overwrite: Overwrite = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON instead of a table.")] = False,
) -> None:
    """Export instruction configs for other trainers (LLaMA-Factory, TRL/OpenAI) or lm-evaluation-harness."""
    from biohub.hub.export import export

    chosen = _names(configs) or None
    summary = export(hubdir, format_, out, chosen, overwrite=overwrite)
    if as_json:
        typer.echo(json.dumps(summary, indent=2, ensure_ascii=False, default=str))
        return
    _print_export(summary, out)


def _print_export(summary: dict[str, Any], out: Path) -> None:
    """An export summary as a table: one row per entry of the summary (files written, rows left out), then its
    scalar fields (format, configs) as the title."""
    from rich.markup import escape

    table = Table(title=escape(f"{summary.get('format')} export of {', '.join(map(str, summary.get('configs') or []))}"))
    for column in ("item", "value"):
        table.add_column(column, overflow="fold")
    for key, value in summary.items():
        if key in ("format", "configs"):
            continue
        if isinstance(value, dict) and value:
            for name, item in value.items():
                table.add_row(escape(f"{key}: {name}"), escape(_plain(item)))
        else:
            table.add_row(escape(str(key)), escape(_plain(value)))
    console().print(table)
    console().print(f"written to {out} (README.md there says how to use it); --json prints this summary as JSON")


def _plain(value: object) -> str:
    """A summary value as text: a list comma-separated, a mapping as ``key value`` pairs, numbers with thousands."""
    if isinstance(value, dict):
        return ", ".join(f"{key} {_plain(item)}" for key, item in value.items()) or "-"
    if isinstance(value, (list, tuple)):
        return ", ".join(map(_plain, value)) or "-"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def main() -> None:
    """The ``biohub`` console script: run the typer app on the process's arguments."""
    app()


if __name__ == "__main__":
    main()
