"""``biohub export``: a Hub folder's instruction configs -> files that fine-tuning and evaluation tools read as is.

Input is a folder written by ``biohub build`` (HUBDIR): its ``README.md`` front matter lists the configs and the
parquet files of each split. By default the export takes ``mix_stage1``, ``mix_stage2`` and every
``*_instructions`` config that the card lists, with all their splits; ``configs`` picks others (any config whose
rows are instruction examples). Rows keep the order of the parquet files. Every conversation is checked first:
an optional system message, then user and assistant turns alternating, ending with the assistant target; a row
that breaks this is an error naming its file, row and id. Splits with no rows are not written (the summary lists
them under ``empty``). ``out`` must be missing or empty, so that no stale file of an earlier export is read with
the new ones. Same inputs give byte-identical files. Every export writes ``OUT/README.md``: what the files are and
the exact commands or code that use them.

Training data and eval data are kept apart so that no trainer picks up an eval split by name: the ``train`` split
of each config is written under ``OUT/<config>/``; every other split (validation, test, ...) under
``OUT/eval/<config>/``, listed in ``OUT/eval/manifest.json`` (``{"<config>_<split>": {"file_name", "config",
"split", "rows", ...}}``, file names relative to ``OUT/eval``), which is deliberately not a ``dataset_info.json``.

Formats
-------
``alpaca`` (LLaMA-Factory)
    ``<config>/train.json`` (and ``eval/<config>/<split>.json``): a JSON array of ``{"instruction", "input",
    "output", "system", "history"}``; ``instruction`` is the last user turn, ``input`` is empty, ``output`` the
    assistant target, ``system`` the system prompt ("" when there is none) and ``history`` the earlier turns as
    ``[[user, assistant], ...]``. ``OUT/dataset_info.json`` registers the training files only, one entry
    ``<config>_train`` each: ``{"file_name", "formatting": "alpaca", "columns": {"prompt": "instruction", "query":
    "input", "response": "output", "system": "system", "history": "history"}}`` (LLaMA-Factory's documented schema,
    ``data/README.md``). Use it with ``dataset_dir: OUT`` and ``dataset: mix_stage2_train``.
``sharegpt`` (LLaMA-Factory)
    The same layout with rows ``{"conversations": [{"from": "human"|"gpt", "value"}, ...], "system"}`` and
    ``dataset_info.json`` entries ``{"file_name", "formatting": "sharegpt", "columns": {"messages": "conversations",
    "system": "system"}, "tags": {"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag":
    "gpt"}}``.
``messages`` (OpenAI fine-tuning files, TRL ``SFTTrainer`` conversational datasets)
    ``<config>/train.jsonl`` (and ``eval/<config>/<split>.jsonl``): one ``{"messages": [{"role", "content"}, ...]}``
    per line, plus ``chat_template.jinja``: the default model's chat template with ``{% generation %}`` markers around
    each assistant turn (:mod:`biohub.hub.chat_template`), which TRL's ``assistant_only_loss=True`` needs; pass it as
    ``SFTConfig(chat_template_path=...)``. It supervises the tokens biohub's own trainer supervises.
``lm-eval`` (lm-evaluation-harness: generation scored by biohub's parsers, and log-likelihood multiple choice)
    See :mod:`biohub.hub.lm_eval_export`: one ``generate_until`` task per dataset, eval split and task family,
    scored by the shipped ``utils.py`` with the template's own parser and biohub's metrics, so ``lm_eval`` reports
    what ``biohub score --suite all`` reports for the same outputs (group ``biohub``); beside each task of a choice
    family (single-answer multiple choice, yes/no, binary relation, single-label classification, pair label,
    entailment), a ``multiple_choice`` task ``<task>_loglik`` over
    the same rows that lm-eval scores by each option's log-likelihood (``acc``, ``acc_norm``; group ``biohub_loglik``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal, get_args

import pyarrow.parquet as pq
import yaml

from biohub.errors import ConfigError, MissingFileError, UnknownNameError
from biohub.hub.chat_template import TRAINING_CHAT_TEMPLATE, TRAINING_CHAT_TEMPLATE_FILE
from biohub.io import atomic_path, write_json, write_text
from biohub.outputs import BUILD, EXPORT, claim, replacing, require_complete
from biohub.templates.example import EXAMPLE_FEATURES
from biohub.typed import load_yaml

Format = Literal["alpaca", "sharegpt", "messages", "lm-eval"]
FORMATS: tuple[str, ...] = get_args(Format)
MIX_CONFIGS = ("mix_stage1", "mix_stage2")
INSTRUCTIONS_SUFFIX = "_instructions"
TRAIN_SPLIT = "train"
EVAL_FOLDER = "eval"
EVAL_MANIFEST = "manifest.json"
ALPACA_COLUMNS = {"prompt": "instruction", "query": "input", "response": "output", "system": "system", "history": "history"}
SHAREGPT_COLUMNS = {"messages": "conversations", "system": "system"}
SHAREGPT_TAGS = {"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt"}

Splits = dict[str, list[Path]]  # split -> parquet files, in order


# --------------------------------------------------------------------------------------------- reading the hub
def card_configs(hubdir: Path) -> dict[str, Splits]:
    """The configs of a Hub folder as its ``README.md`` front matter declares them: config -> split -> files."""
    card = hubdir / "README.md"
    if not card.is_file():
        raise MissingFileError(f"{card}: no dataset card (is {hubdir} a folder written by `biohub build`?)")
    text = card.read_text(encoding="utf-8").replace("\r\n", "\n")
    parts = text.split("---\n", 2)
    if not text.startswith("---\n") or len(parts) < 3:
        raise ConfigError(f"{card}: no YAML front matter between '---' lines")
    try:
        front = load_yaml(parts[1], str(card)) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{card}: front matter is not valid YAML ({exc})") from None
    entries = front.get("configs") if isinstance(front, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{card}: front matter has no `configs:` list")
    configs: dict[str, Splits] = {}
    for entry in entries:
        name = entry.get("config_name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or name in configs:
            raise ConfigError(f"{card}: config entry {entry!r} has no config_name or repeats one")
        configs[name] = _splits(hubdir, card, name, entry.get("data_files"))
    return configs


def _splits(hubdir: Path, card: Path, config: str, data_files: Any) -> Splits:
    """split -> files of one config's ``data_files`` (a list of {split, path}, or paths of a lone train split)."""
    if not data_files or not isinstance(data_files, (str, list)):
        raise ConfigError(f"{card}: config {config!r} has no data_files")
    if all(isinstance(item, str) for item in _as_list(data_files)):
        data_files = [{"split": "train", "path": data_files}]
    splits: Splits = {}
    for item in data_files:
        if not isinstance(item, dict) or not isinstance(item.get("split"), str) or "path" not in item:
            raise ConfigError(f"{card}: config {config!r}: data_files entry {item!r} needs `split` and `path`")
        files: list[Path] = []
        for pattern in _as_list(item["path"]):
            if not isinstance(pattern, str) or Path(pattern).is_absolute() or ".." in Path(pattern).parts:
                raise ConfigError(f"{card}: config {config!r}: path {pattern!r} leaves the Hub folder")
            matched = sorted(hubdir.glob(pattern))
            if not matched:
                raise MissingFileError(f"{card}: config {config!r} split {item['split']!r}: no file matches {pattern!r}")
            files.extend(matched)
        splits[item["split"]] = files
    return splits


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def select_configs(available: dict[str, Splits], configs: list[str] | None) -> list[str]:
    """The named configs (checked), or the defaults: mix_stage1, mix_stage2 and every ``*_instructions`` config."""
    if configs is None:
        chosen = [name for name in MIX_CONFIGS if name in available]
        chosen += sorted(name for name in available if name.endswith(INSTRUCTIONS_SUFFIX))
        if not chosen:
            raise ConfigError(f"no mix_stage* or *_instructions config in the card; it has {', '.join(sorted(available))}")
        return chosen
    unknown = [name for name in configs if name not in available]
    if unknown:
        raise UnknownNameError(f"unknown config(s) {', '.join(unknown)}; the card lists {', '.join(sorted(available))}")
    if len(set(configs)) != len(configs):
        raise ConfigError(f"configs repeat a name: {configs}")
    return list(configs)


def iter_rows(files: list[Path]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(``file:row`` locator, row) of every instruction row of the files, checked to have a valid conversation."""
    for path in files:
        parquet = pq.ParquetFile(path)
        missing = sorted(set(EXAMPLE_FEATURES) - set(parquet.schema_arrow.names))
        if missing:
            raise ConfigError(f"{path}: not instruction examples (missing column(s) {', '.join(missing)})")
        index = 0
        for batch in parquet.iter_batches(batch_size=4096, columns=list(EXAMPLE_FEATURES)):
            for row in batch.to_pylist():
                where = f"{path}: row {index} (id {row['id']!r})"
                check_messages(row["messages"], where)
                yield where, row
                index += 1


def check_messages(messages: list[dict[str, str]], where: str) -> None:
    """An optional system message, then user/assistant turns alternating, ending with the assistant."""
    if not messages:
        raise ConfigError(f"{where}: no messages")
    for message in messages:
        if not isinstance(message.get("content"), str):
            raise TypeError(f"{where}: message content is not a string")
    roles = [message["role"] for message in messages]
    turns = roles[1:] if roles[0] == "system" else roles
    expected = ["user", "assistant"] * (len(turns) // 2)
    if not turns or turns != expected:
        raise ConfigError(f"{where}: roles {roles} are not [system,] user, assistant, ... ending with assistant")


# --------------------------------------------------------------------------------------------- conversions
def _system_and_pairs(messages: list[dict[str, str]]) -> tuple[str, list[tuple[str, str]]]:
    system = messages[0]["content"] if messages[0]["role"] == "system" else ""
    turns = messages[1:] if messages[0]["role"] == "system" else messages
    return system, [(turns[i]["content"], turns[i + 1]["content"]) for i in range(0, len(turns), 2)]


def alpaca_row(messages: list[dict[str, str]]) -> dict[str, Any]:
    """One conversation as an Alpaca row (LLaMA-Factory): the last user/assistant pair as instruction and output,
    earlier pairs as ``history``, the system prompt (if any) as ``system``."""
    system, pairs = _system_and_pairs(messages)
    instruction, output = pairs[-1]
    return {"instruction": instruction, "input": "", "output": output, "system": system, "history": [list(p) for p in pairs[:-1]]}


def sharegpt_row(messages: list[dict[str, str]]) -> dict[str, Any]:
    """One conversation as a ShareGPT row: alternating ``human``/``gpt`` turns, the system prompt apart."""
    system, pairs = _system_and_pairs(messages)
    conversations = []
    for user, assistant in pairs:
        conversations += [{"from": "human", "value": user}, {"from": "gpt", "value": assistant}]
    return {"conversations": conversations, "system": system}


def messages_row(messages: list[dict[str, str]]) -> dict[str, Any]:
    """One conversation as an OpenAI-style ``messages`` row (role and content only)."""
    return {"messages": [{"role": m["role"], "content": m["content"]} for m in messages]}


# --------------------------------------------------------------------------------------------- writers
def write_lines(path: Path, head: str, lines: Iterable[str], separator: str, tail: str) -> int:
    """Stream ``head + line (separator line)* + tail`` into ``path`` atomically; returns the number of lines."""
    count = 0
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8", newline="\n") as handle:
        handle.write(head)
        for line in lines:
            handle.write((separator if count else "") + line)
            count += 1
        handle.write(tail if count else "")
    return count


def dump(row: dict[str, Any], sort_keys: bool = False) -> str:
    """One row as a JSON line of an export (UTF-8 text kept as is, not escaped)."""
    return json.dumps(row, ensure_ascii=False, sort_keys=sort_keys)


def split_path(config: str, split: str, extension: str) -> str:
    """Where a split goes, relative to OUT: training data at ``<config>/train``, everything else under ``eval/``."""
    name = f"{config}/{split}.{extension}"
    return name if split == TRAIN_SPLIT else f"{EVAL_FOLDER}/{name}"


def _export_rows(available: dict[str, Splits], configs: list[str], fmt: str, out: Path) -> dict[str, Any]:
    """alpaca / sharegpt / messages: one file per config and split; training files registered for the trainer
    (``dataset_info.json`` for LLaMA-Factory), eval files listed in ``eval/manifest.json`` only."""
    convert = {"alpaca": alpaca_row, "sharegpt": sharegpt_row, "messages": messages_row}[fmt]
    extension = "jsonl" if fmt == "messages" else "json"
    files: dict[str, int] = {}
    empty: list[str] = []
    dataset_info: dict[str, Any] = {}
    manifest: dict[str, Any] = {}
    if EVAL_FOLDER in configs:
        raise ConfigError(f"a config named {EVAL_FOLDER!r} would mix with the export's eval folder; export it under another name")
    for config in configs:
        for split, sources in available[config].items():
            rows = (dump(convert(row["messages"])) for _, row in iter_rows(sources))
            relative = split_path(config, split, extension)
            path = out / relative
            if fmt == "messages":
                count = write_lines(path, "", (line + "\n" for line in rows), "", "")
            else:
                count = write_lines(path, "[\n", rows, ",\n", "\n]\n")
            if not count:
                _remove_empty(path, out)
                empty.append(f"{config}/{split}")
                continue
            files[relative] = count
            entry = _trainer_entry(relative, fmt)
            if split == TRAIN_SPLIT:
                if entry is not None:
                    dataset_info[f"{config}_{split}"] = entry
            else:
                eval_name = str(Path(relative).relative_to(EVAL_FOLDER))
                manifest[f"{config}_{split}"] = (entry or {}) | {
                    "file_name": eval_name,
                    "config": config,
                    "split": split,
                    "rows": count,
                }
    if fmt != "messages":
        write_json(out / "dataset_info.json", dataset_info)
    else:
        write_text(out / TRAINING_CHAT_TEMPLATE_FILE, TRAINING_CHAT_TEMPLATE)
    if manifest:
        write_json(out / EVAL_FOLDER / EVAL_MANIFEST, manifest)
    summary = {"files": files, "empty": empty, "rows": sum(files.values()), "registered": sorted(dataset_info)}
    write_text(out / "README.md", rows_readme(fmt, summary, sorted(manifest)))
    return summary


def _remove_empty(path: Path, out: Path) -> None:
    """Remove an empty split's file and the folders it leaves empty (up to ``out``)."""
    path.unlink()
    folder = path.parent
    while folder != out and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


def _trainer_entry(file_name: str, fmt: str) -> dict[str, Any] | None:
    """The LLaMA-Factory ``dataset_info.json`` entry of one file (None for ``messages``)."""
    if fmt == "alpaca":
        return {"file_name": file_name, "formatting": "alpaca", "columns": dict(ALPACA_COLUMNS)}
    if fmt == "sharegpt":
        return {"file_name": file_name, "formatting": "sharegpt", "columns": dict(SHAREGPT_COLUMNS), "tags": dict(SHAREGPT_TAGS)}
    return None


# --------------------------------------------------------------------------------------------- notes
def rows_readme(fmt: str, summary: dict[str, Any], eval_names: list[str]) -> str:
    """``OUT/README.md`` of an alpaca / sharegpt / messages export: the files and how to use them."""
    lines = [f"# biohub export: {fmt}", "", "Training files (one per config):", ""]
    lines += [
        f"- `{name}`: {rows:,} rows" for name, rows in sorted(summary["files"].items()) if not name.startswith(EVAL_FOLDER + "/")
    ]
    eval_note = (
        f"Eval splits ({len(eval_names)}) are under `{EVAL_FOLDER}/`, listed in `{EVAL_FOLDER}/{EVAL_MANIFEST}`. They are "
        "deliberately not registered where a trainer looks them up by name: do not train on them."
    )
    lines += ["", eval_note, ""]
    if fmt == "messages":
        lines += _trl_notes()
    else:
        lines += _llamafactory_notes(summary["registered"])
    return "\n".join(lines) + "\n"


def _llamafactory_notes(registered: list[str]) -> list[str]:
    example = registered[-1] if registered else "<config>_train"
    return [
        "## LLaMA-Factory",
        "",
        "`dataset_info.json` registers the training files only (LLaMA-Factory's documented schema). In a training YAML:",
        "",
        "```yaml",
        "dataset_dir: /path/to/this/folder",
        f"dataset: {example}",
        "```",
        "",
        "Registered: " + (", ".join(f"`{name}`" for name in registered) or "none") + ".",
    ]


def _trl_notes() -> list[str]:
    return [
        "## TRL (assistant-only loss)",
        "",
        f"`{TRAINING_CHAT_TEMPLATE_FILE}` is the default model's (SmolLM2-135M-Instruct) chat template with `{{% generation %}}`",
        "markers around each assistant turn: it renders the same text as the model's own template, and the tokens it marks",
        "(the assistant content, `<|im_end|>` and the newline after it) are those biohub's own trainer supervises.",
        "For another model, give its own template the same markers.",
        "",
        "```python",
        "from datasets import load_dataset",
        "from trl import SFTConfig, SFTTrainer",
        "",
        'data = load_dataset("json", data_files="/path/to/this/folder/mix_stage2/train.jsonl", split="train")',
        'config = SFTConfig(output_dir="runs/trl", assistant_only_loss=True,',
        f'                   chat_template_path="/path/to/this/folder/{TRAINING_CHAT_TEMPLATE_FILE}")',
        'trainer = SFTTrainer(model="HuggingFaceTB/SmolLM2-135M-Instruct", args=config, train_dataset=data)',
        "```",
    ]


# --------------------------------------------------------------------------------------------- entry point
def export(hubdir: Path, fmt: str, out: Path, configs: list[str] | None = None, *, overwrite: bool = False) -> dict[str, Any]:
    """Export the instruction configs of ``hubdir`` in format ``fmt`` into the empty (or new) folder ``out``
    (an earlier export there is replaced only with ``overwrite``; any other non-empty folder is refused).

    The files are written into a temporary folder beside ``out`` that replaces it at the end, so a failed
    export leaves nothing behind and the previous one intact. Returns a summary: format, configs, and per format the
    files written with their row counts (``files``, ``empty`` splits, the ``registered`` training entries) or, for
    lm-eval, the tasks, the group and the rows left out per split and reason, and the same for the log-likelihood
    tasks under ``loglik``.
    """
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}; expected one of {', '.join(FORMATS)}")
    out = out.resolve()
    require_complete(hubdir, BUILD, "HUBDIR")  # a killed build or a hand-made folder is not exported
    claim(out, EXPORT, overwrite=overwrite)
    available = card_configs(hubdir)
    chosen = select_configs(available, configs)
    with replacing(out, EXPORT, overwrite=overwrite) as work:
        summary: dict[str, Any] = {"format": fmt, "configs": chosen}
        if fmt == "lm-eval":
            from biohub.hub.lm_eval_export import export_lm_eval  # it builds on this module's readers and writers

            summary.update(export_lm_eval(available, chosen, work, out))
        else:
            summary.update(_export_rows(available, chosen, fmt, work))
    return summary
