"""``biohub export``: a Hub folder's instruction configs -> files that fine-tuning and evaluation tools read as is.

Input is a folder written by ``biohub build`` (HUBDIR): its ``README.md`` front matter lists the configs and the
parquet files of each split. By default the export takes ``mix_stage1``, ``mix_stage2`` and every
``*_instructions`` config that the card lists, with all their splits; ``configs`` picks others (any config whose
rows are instruction examples). Rows keep the order of the parquet files. Every conversation is checked first:
an optional system message, then user and assistant turns alternating, ending with the assistant target; a row
that breaks this is an error naming its file, row and id. Splits with no rows are not written (the summary lists
them under ``empty``). ``out`` must be missing or empty, so that no stale file of an earlier export is read with
the new ones. Same inputs give byte-identical files.

Formats
-------
``alpaca`` (LLaMA-Factory)
    ``OUT/<config>/<split>.json``: a JSON array of ``{"instruction", "input", "output", "system", "history"}``;
    ``instruction`` is the last user turn, ``input`` is empty, ``output`` the assistant target, ``system`` the system
    prompt ("" when there is none) and ``history`` the earlier turns as ``[[user, assistant], ...]``.
    ``OUT/dataset_info.json`` has one entry per file, named ``<config>_<split>``:
    ``{"file_name", "formatting": "alpaca", "columns": {"prompt": "instruction", "query": "input", "response":
    "output", "system": "system", "history": "history"}}``. Use it with ``dataset_dir: OUT``.
``sharegpt`` (LLaMA-Factory)
    ``OUT/<config>/<split>.json``: a JSON array of ``{"conversations": [{"from": "human"|"gpt", "value"}, ...],
    "system"}``, and ``OUT/dataset_info.json`` entries with ``"formatting": "sharegpt"``, ``"columns":
    {"messages": "conversations", "system": "system"}`` and the role tags (``from``/``value``/``human``/``gpt``).
``messages`` (OpenAI fine-tuning files, TRL ``SFTTrainer`` conversational datasets)
    ``OUT/<config>/<split>.jsonl``: one ``{"messages": [{"role", "content"}, ...]}`` per line.
``lm-eval`` (lm-evaluation-harness, log-likelihood multiple choice)
    For every selected ``*_instructions`` config, the rows of each eval split (every split but ``train``) whose
    task is ``qa_multiple_choice``, ``qa_yesno`` or ``re_binary``: ``OUT/data/<dataset>/<split>.jsonl`` (one doc
    per row: ``prompt`` = the user message, ``keyword`` = the answer keyword such as ``Answer:`` / ``答案：``,
    ``choices`` = option letters or label display names exactly as the rendered targets write them, ``gold`` =
    the index of the gold choice, plus ``id``, ``source_id``, ``task``, ``language``, ``template_id`` and ``target``)
    and ``OUT/<task>.yaml`` (``output_type: multiple_choice``, ``doc_to_text: "{{prompt}}\\n{{keyword}}"``,
    ``doc_to_choice: choices``, ``doc_to_target: gold``, metrics ``acc`` and ``acc_norm``; ``target_delimiter`` is
    the language's gap after the keyword). The task of a dataset's ``test`` split (else ``validation``, else its
    only eval split) is ``biohub_<dataset>``; any other eval split is ``biohub_<dataset>_<split>``. The group
    ``OUT/_biohub.yaml`` (``biohub``) lists the ``biohub_<dataset>`` tasks and averages them over datasets. lm-eval
    opens ``data_files`` relative to its working directory, not to the YAML, so the YAMLs hold absolute paths
    (``out`` resolved at export time): move the folder and export again. Eligible rows that cannot be scored by
    one choice are left out and counted per reason (``several_gold_options``: multiple-answer questions;
    ``json_answer_format``: targets rendered as JSON). Run with
    ``lm_eval --include_path OUT --tasks biohub ...``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal, get_args

import pyarrow.parquet as pq
import yaml

from biohub.io import atomic_path, write_json, write_text
from biohub.templates.answers import render
from biohub.templates.example import EXAMPLE_FEATURES, spec_from_meta

Format = Literal["alpaca", "sharegpt", "messages", "lm-eval"]
FORMATS: tuple[str, ...] = get_args(Format)
MIX_CONFIGS = ("mix_stage1", "mix_stage2")
INSTRUCTIONS_SUFFIX = "_instructions"
CHOICE_TASKS = ("qa_multiple_choice", "qa_yesno", "re_binary")
ALPACA_COLUMNS = {"prompt": "instruction", "query": "input", "response": "output", "system": "system", "history": "history"}
SHAREGPT_COLUMNS = {"messages": "conversations", "system": "system"}
SHAREGPT_TAGS = {"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt"}
LM_EVAL_GROUP = "biohub"
LM_EVAL_METRICS = [
    {"metric": "acc", "aggregation": "mean", "higher_is_better": True},
    {"metric": "acc_norm", "aggregation": "mean", "higher_is_better": True},
]

Splits = dict[str, list[Path]]  # split -> parquet files, in order


# --------------------------------------------------------------------------------------------- reading the hub
def card_configs(hubdir: Path) -> dict[str, Splits]:
    """The configs of a Hub folder as its ``README.md`` front matter declares them: config -> split -> files."""
    card = hubdir / "README.md"
    if not card.is_file():
        raise FileNotFoundError(f"{card}: no dataset card (is {hubdir} a folder written by `biohub build`?)")
    text = card.read_text(encoding="utf-8").replace("\r\n", "\n")
    parts = text.split("---\n", 2)
    if not text.startswith("---\n") or len(parts) < 3:
        raise ValueError(f"{card}: no YAML front matter between '---' lines")
    try:
        front = yaml.safe_load(parts[1]) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"{card}: front matter is not valid YAML ({exc})") from None
    entries = front.get("configs") if isinstance(front, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{card}: front matter has no `configs:` list")
    configs: dict[str, Splits] = {}
    for entry in entries:
        name = entry.get("config_name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or name in configs:
            raise ValueError(f"{card}: config entry {entry!r} has no config_name or repeats one")
        configs[name] = _splits(hubdir, card, name, entry.get("data_files"))
    return configs


def _splits(hubdir: Path, card: Path, config: str, data_files: Any) -> Splits:
    """split -> files of one config's ``data_files`` (a list of {split, path}, or paths of a lone train split)."""
    if not data_files or not isinstance(data_files, (str, list)):
        raise ValueError(f"{card}: config {config!r} has no data_files")
    if all(isinstance(item, str) for item in _as_list(data_files)):
        data_files = [{"split": "train", "path": data_files}]
    splits: Splits = {}
    for item in data_files:
        if not isinstance(item, dict) or not isinstance(item.get("split"), str) or "path" not in item:
            raise ValueError(f"{card}: config {config!r}: data_files entry {item!r} needs `split` and `path`")
        files: list[Path] = []
        for pattern in _as_list(item["path"]):
            if not isinstance(pattern, str) or Path(pattern).is_absolute() or ".." in Path(pattern).parts:
                raise ValueError(f"{card}: config {config!r}: path {pattern!r} leaves the Hub folder")
            matched = sorted(hubdir.glob(pattern))
            if not matched:
                raise FileNotFoundError(f"{card}: config {config!r} split {item['split']!r}: no file matches {pattern!r}")
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
            raise ValueError(f"no mix_stage* or *_instructions config in the card; it has {', '.join(sorted(available))}")
        return chosen
    unknown = [name for name in configs if name not in available]
    if unknown:
        raise KeyError(f"unknown config(s) {', '.join(unknown)}; the card lists {', '.join(sorted(available))}")
    if len(set(configs)) != len(configs):
        raise ValueError(f"configs repeat a name: {configs}")
    return list(configs)


def iter_rows(files: list[Path]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(``file:row`` locator, row) of every instruction row of the files, checked to have a valid conversation."""
    for path in files:
        parquet = pq.ParquetFile(path)
        missing = sorted(set(EXAMPLE_FEATURES) - set(parquet.schema_arrow.names))
        if missing:
            raise ValueError(f"{path}: not instruction examples (missing column(s) {', '.join(missing)})")
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
        raise ValueError(f"{where}: no messages")
    for message in messages:
        if not isinstance(message.get("content"), str):
            raise TypeError(f"{where}: message content is not a string")
    roles = [message["role"] for message in messages]
    turns = roles[1:] if roles[0] == "system" else roles
    expected = ["user", "assistant"] * (len(turns) // 2)
    if not turns or turns != expected:
        raise ValueError(f"{where}: roles {roles} are not [system,] user, assistant, ... ending with assistant")


# --------------------------------------------------------------------------------------------- conversions
def _system_and_pairs(messages: list[dict[str, str]]) -> tuple[str, list[tuple[str, str]]]:
    system = messages[0]["content"] if messages[0]["role"] == "system" else ""
    turns = messages[1:] if messages[0]["role"] == "system" else messages
    return system, [(turns[i]["content"], turns[i + 1]["content"]) for i in range(0, len(turns), 2)]


def alpaca_row(messages: list[dict[str, str]]) -> dict[str, Any]:
    system, pairs = _system_and_pairs(messages)
    instruction, output = pairs[-1]
    return {"instruction": instruction, "input": "", "output": output, "system": system, "history": [list(p) for p in pairs[:-1]]}


def sharegpt_row(messages: list[dict[str, str]]) -> dict[str, Any]:
    system, pairs = _system_and_pairs(messages)
    conversations = []
    for user, assistant in pairs:
        conversations += [{"from": "human", "value": user}, {"from": "gpt", "value": assistant}]
    return {"conversations": conversations, "system": system}


def messages_row(messages: list[dict[str, str]]) -> dict[str, Any]:
    return {"messages": [{"role": m["role"], "content": m["content"]} for m in messages]}


# --------------------------------------------------------------------------------------------- writers
def _write_lines(path: Path, head: str, lines: Iterable[str], separator: str, tail: str) -> int:
    """Stream ``head + line (separator line)* + tail`` into ``path`` atomically; returns the number of lines."""
    count = 0
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8", newline="\n") as handle:
        handle.write(head)
        for line in lines:
            handle.write((separator if count else "") + line)
            count += 1
        handle.write(tail if count else "")
    return count


def _dump(row: dict[str, Any], sort_keys: bool = False) -> str:
    return json.dumps(row, ensure_ascii=False, sort_keys=sort_keys)


def _export_rows(available: dict[str, Splits], configs: list[str], fmt: str, out: Path) -> dict[str, Any]:
    """alpaca / sharegpt / messages: one file per config and split (+ dataset_info.json for LLaMA-Factory)."""
    convert = {"alpaca": alpaca_row, "sharegpt": sharegpt_row, "messages": messages_row}[fmt]
    files: dict[str, int] = {}
    empty: list[str] = []
    dataset_info: dict[str, Any] = {}
    for config in configs:
        for split, sources in available[config].items():
            rows = (_dump(convert(row["messages"])) for _, row in iter_rows(sources))
            relative = f"{config}/{split}.jsonl" if fmt == "messages" else f"{config}/{split}.json"
            path = out / relative
            if fmt == "messages":
                count = _write_lines(path, "", (line + "\n" for line in rows), "", "")
            else:
                count = _write_lines(path, "[\n", rows, ",\n", "\n]\n")
            if not count:
                path.unlink()
                if not any(path.parent.iterdir()):
                    path.parent.rmdir()
                empty.append(f"{config}/{split}")
                continue
            files[relative] = count
            if fmt != "messages":
                dataset_info[f"{config}_{split}"] = _dataset_info_entry(relative, fmt)
    if fmt != "messages":
        write_json(out / "dataset_info.json", dataset_info)
    return {"files": files, "empty": empty, "rows": sum(files.values())}


def _dataset_info_entry(file_name: str, fmt: str) -> dict[str, Any]:
    if fmt == "alpaca":
        return {"file_name": file_name, "formatting": "alpaca", "columns": dict(ALPACA_COLUMNS)}
    return {"file_name": file_name, "formatting": "sharegpt", "columns": dict(SHAREGPT_COLUMNS), "tags": dict(SHAREGPT_TAGS)}


# --------------------------------------------------------------------------------------------- lm-eval
def lm_eval_doc(row: dict[str, Any], where: str) -> tuple[dict[str, Any] | None, str, str]:
    """(doc, target delimiter, "") for a scorable choice row, or (None, "", reason it is left out)."""
    if row["task"] not in CHOICE_TASKS:
        return None, "", "other_task"
    spec, answer_format, _ = spec_from_meta(json.loads(row["meta"]))
    if answer_format != "lines":
        return None, "", "json_answer_format"
    if [m["role"] for m in row["messages"]] != ["user", "assistant"]:
        raise ValueError(f"{where}: a {row['task']} row must be one user and one assistant message")
    gold = json.loads(row["gold"])["value"]
    if spec.kind == "choices":
        if len(gold) != 1:
            return None, "", "several_gold_options"
        values: list[Any] = [[letter] for letter in spec.labels]
        gold = [gold[0]]
    elif spec.kind != "label":
        raise ValueError(f"{where}: task {row['task']} has answer kind {spec.kind!r}; expected 'choices' or 'label'")
    else:
        values = list(spec.labels)
    keyword = f"{spec.prefix}{spec.punct.kv}" if spec.prefix else ""
    delimiter = spec.punct.gap if spec.prefix else ""
    choices = []
    for value in values:
        rendered = render(spec, value, "lines")
        if not rendered.startswith(keyword + delimiter):
            raise ValueError(f"{where}: rendered answer {rendered!r} does not start with {keyword + delimiter!r}")
        choices.append(rendered[len(keyword + delimiter) :])
    target = row["messages"][-1]["content"]
    if gold not in values or render(spec, gold, "lines") != target:
        raise ValueError(f"{where}: target {target!r} is not the rendering of gold {gold!r} among {values!r}")
    doc = {name: row[name] for name in ("id", "source_id", "task", "language", "template_id")}
    doc.update(prompt=row["messages"][0]["content"], keyword=keyword, choices=choices, gold=values.index(gold), target=target)
    return doc, delimiter, ""


def _eval_split_order(split: str) -> tuple[int, str]:
    return ({"test": 0, "validation": 1}.get(split, 2), split)


def _split_docs(files: list[Path]) -> tuple[list[dict[str, Any]], set[str], Counter[str]]:
    """The lm-eval docs of one split, their target delimiters, and the rows left out per reason."""
    docs, delimiters, reasons = [], set(), Counter()
    for where, row in iter_rows(files):
        doc, delimiter, reason = lm_eval_doc(row, where)
        if doc is None:
            reasons[reason] += 1
        else:
            docs.append(doc)
            delimiters.add(delimiter)
    return docs, delimiters, reasons


def _export_lm_eval(available: dict[str, Splits], configs: list[str], out: Path, final: Path) -> dict[str, Any]:
    """lm-eval: data files and task YAMLs written into ``out``; the YAMLs name the data files under ``final``."""
    tasks: dict[str, Any] = {}
    skipped: dict[str, dict[str, int]] = {}
    for config in (name for name in configs if name.endswith(INSTRUCTIONS_SUFFIX)):
        dataset = config.removesuffix(INSTRUCTIONS_SUFFIX)
        for split in sorted((s for s in available[config] if s != "train"), key=_eval_split_order):
            docs, delimiters, reasons = _split_docs(available[config][split])
            if reasons:
                skipped[f"{config}/{split}"] = dict(sorted(reasons.items()))
            if not docs:
                continue
            if len(delimiters) != 1:
                raise ValueError(f"{config}/{split}: answers mix keyword gaps {sorted(delimiters)}; no single target_delimiter")
            primary = not any(task["config"] == config for task in tasks.values())
            task = f"biohub_{dataset}" if primary else f"biohub_{dataset}_{split}"
            relative = f"data/{dataset}/{split}.jsonl"
            _write_lines(out / relative, "", (_dump(doc, sort_keys=True) + "\n" for doc in docs), "", "")
            _write_yaml(out / f"{task}.yaml", _task_yaml(task, final / relative, split, delimiters.pop(), config, len(docs)))
            tasks[task] = {"config": config, "split": split, "docs": len(docs), "file": relative, "in_group": primary}
    if not tasks:
        raise ValueError(f"no multiple-choice or yes/no eval rows in config(s) {', '.join(configs)}; nothing for lm-eval")
    group = sorted(name for name, task in tasks.items() if task["in_group"])
    aggregate = [{"metric": m["metric"], "aggregation": "mean", "weight_by_size": False} for m in LM_EVAL_METRICS]
    _write_yaml(
        out / f"_{LM_EVAL_GROUP}.yaml",
        {"group": LM_EVAL_GROUP, "task": group, "aggregate_metric_list": aggregate, "metadata": {"version": 1.0}},
    )
    return {"tasks": tasks, "group": {LM_EVAL_GROUP: group}, "skipped": skipped, "rows": sum(t["docs"] for t in tasks.values())}


def _task_yaml(task: str, data_file: Path, split: str, delimiter: str, config: str, docs: int) -> dict[str, Any]:
    return {
        "task": task,
        "dataset_path": "json",
        "dataset_kwargs": {"data_files": {split: str(data_file)}},
        "test_split": split,
        "output_type": "multiple_choice",
        "doc_to_text": "{{prompt}}\n{{keyword}}",
        "doc_to_choice": "choices",
        "doc_to_target": "gold",
        "target_delimiter": delimiter,
        "metric_list": [dict(metric) for metric in LM_EVAL_METRICS],
        "metadata": {"version": 1.0, "biohub_config": config, "biohub_split": split, "docs": docs},
    }


def _write_yaml(path: Path, data: dict[str, Any]) -> None:
    write_text(path, yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000))


# --------------------------------------------------------------------------------------------- entry point
def export(hubdir: Path, fmt: str, out: Path, configs: list[str] | None = None) -> dict[str, Any]:
    """Export the instruction configs of ``hubdir`` in format ``fmt`` into the empty (or new) folder ``out``.

    The files are written into a temporary folder beside ``out`` that replaces it at the end, so a failed
    export leaves nothing behind. Returns a summary: format, configs, and per format the files written with
    their row counts (``files``, ``empty`` splits) or, for lm-eval, the tasks, the group and the rows left out
    per split and reason.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {', '.join(FORMATS)}")
    out = out.resolve()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out}: export folder exists and is not empty; name a new or empty folder")
    available = card_configs(hubdir)
    chosen = select_configs(available, configs)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        summary: dict[str, Any] = {"format": fmt, "configs": chosen}
        if fmt == "lm-eval":
            summary.update(_export_lm_eval(available, chosen, work, out))
        else:
            summary.update(_export_rows(available, chosen, fmt, work))
        work.chmod(0o755)  # mkdtemp makes it private; the export is an ordinary folder
        os.replace(work, out)
    finally:
        if work.exists():
            shutil.rmtree(work)
    return summary
