"""``biohub export --format lm-eval``: lm-evaluation-harness tasks of two protocols over the same eval rows.

For every selected ``*_instructions`` config, the rows of each eval split (every split but ``train``) become:

1. ``generate_until`` tasks, one per task family in the split — every family, as in ``biohub score --suite all`` —
   whose generations are parsed and scored by biohub's own parsers and metrics;
2. beside them, for the choice families (:func:`biohub.templates.choice_docs.choice_families`: ``qa_multiple_choice``
   with one gold option, ``qa_yesno``, ``re_binary``, ``classification``, ``pair_classification``, ``entailment``;
   ``lines`` answers), log-likelihood ``multiple_choice`` tasks: lm-eval scores every option by the summed
   log-likelihood of its continuation (``acc``, and ``acc_norm`` normalised by the option's length); nothing is
   generated or parsed.

Files:

- ``OUT/data/<task>.jsonl``: one generate doc per row: ``system`` (the system prompt, "" when there is none),
  ``prompt`` (the user message), ``target`` (the reference answer), ``id``, ``source_id``, ``dataset``, ``task``,
  ``language``, ``template_id``, and what biohub's scorer needs: ``meta`` (the answer spec, JSON) and ``gold`` (JSON).
- ``OUT/<task>.yaml``: data only — ``class: !function utils.BiohubTask``, the data file, ``output_type:
  generate_until``, ``doc_to_text: prompt``, ``description: system`` (lm-eval gives it as the system message under
  ``--apply_chat_template``), ``doc_to_target: target`` and the task's dataset and family in ``metadata``.
- ``OUT/data/<task>_loglik.jsonl``: one choice doc per row: ``system``, ``prompt``, ``keyword`` (the answer keyword the
  target starts with, such as ``Answer:`` / ``答案：``), ``choices`` (option letters or label display names exactly as
  the targets write them), ``gold_index`` (the index of the gold choice), ``target``, ``id``, ``source_id``,
  ``dataset``, ``task``, ``language``, ``template_id``; ``target == keyword + target_delimiter + choices[gold_index]``.
- ``OUT/<task>_loglik.yaml``: ``output_type: multiple_choice``, ``description: system``, ``doc_to_text: prompt``,
  ``gen_prefix: keyword``, ``doc_to_choice: choices``, ``doc_to_target: gold_index``, ``target_delimiter`` (the
  language's gap after the keyword: " " in English, "" in Chinese), metrics ``acc`` and ``acc_norm``. Under
  ``--apply_chat_template`` the context is the chat-templated system and user messages with the assistant turn
  opened by the keyword, and each option's continuation is ``target_delimiter + choice``: the option is scored where
  the model writes it in its trained answer (``Answer: C``). Without a chat template lm-eval joins prompt and keyword
  with the target delimiter. These tasks need no biohub where lm_eval runs.
- ``OUT/utils.py``: imports :class:`biohub.eval.lm_eval_hooks.BiohubTask`, which adds biohub eval's generation
  budget and stop rule, and metrics computed by biohub's own scorer: every output parsed with the template's parser
  (lenient, like ``biohub score``), the family's metrics, ``headline`` (the metric the ``all`` suite reports for that
  row) and ``parse_failure_rate``. biohub is imported, not copied: lm_eval then reports exactly what ``biohub score``
  reports for the same outputs, the export cannot drift from biohub's scorer, and biohub must be installed where
  lm_eval runs.
- ``OUT/_biohub.yaml``: the group ``biohub``, the unweighted mean of the ``headline`` of each dataset's main tasks;
  ``OUT/_biohub_loglik.yaml``: the group ``biohub_loglik``, the unweighted means of ``acc`` and ``acc_norm`` of each
  dataset's main log-likelihood tasks (not written when no main split has one).
- ``OUT/README.md``: how to run them and how to check the generate tasks against ``biohub score``.

Task names: ``biohub_<dataset>`` for the dataset's test split (else validation, else its first eval split),
``biohub_<dataset>_<split>`` for the others, with ``_<family>`` appended when a split holds several families and
``_<language>`` when a family's rows come in several languages (as the ``all`` suite's rows); the log-likelihood task
of the same rows is that name + ``_loglik``. Nothing is dropped silently: a row with earlier turns
(a conversation history) cannot be one lm-eval prompt and is left out of both (``multi_turn``); every row of an eval
split that has no log-likelihood doc is counted in the summary's ``loglik.skipped`` per split and reason
(``other_task``: not a choice family; ``json_answer_format``: a JSON target; ``several_gold_options``: a
multiple-answer question; ``multi_turn``). lm-eval opens ``data_files`` relative to its working directory, not to the
YAML, so the YAMLs hold absolute paths (``out`` resolved at export time): move the folder and export again.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from biohub.errors import ConfigError
from biohub.hub.export import INSTRUCTIONS_SUFFIX, TRAIN_SPLIT, Splits, dump, iter_rows, write_lines
from biohub.io import write_text
from biohub.templates.choice_docs import DOC_KEYS, choice_families, loglik_doc, system_and_turns

LM_EVAL_GROUP = "biohub"
HEADLINE = "headline"
LOGLIK_GROUP = "biohub_loglik"
LOGLIK_SUFFIX = "_loglik"
LOGLIK_METRICS = ("acc", "acc_norm")

UTILS_PY = '''"""lm-eval hooks of a biohub export: score generations with biohub's own parsers and metrics.

biohub is imported rather than copied, so lm_eval reports what `biohub score --suite all` reports for the same
outputs. Install biohub (pip install "biohub[export]") in the environment that runs lm_eval.
"""

try:
    from biohub.eval.lm_eval_hooks import BiohubTask
except ImportError as exc:  # pragma: no cover - depends on the user's environment
    raise ImportError("this lm-eval export scores with biohub's parsers: install biohub where lm_eval runs") from exc

__all__ = ["BiohubTask"]
'''


class Function(str):
    """A YAML scalar written with lm-eval's ``!function`` tag (a callable in the export's ``utils.py``)."""


class _Dumper(yaml.SafeDumper):  # type: ignore[misc]  # PyYAML ships no type stubs: SafeDumper is Any here
    """SafeDumper that writes :class:`Function` values as ``!function NAME``."""


_Dumper.add_representer(Function, lambda dumper, value: dumper.represent_scalar("!function", str(value)))


# --------------------------------------------------------------------------------------------- docs
def lm_eval_doc(row: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """(generate doc, "") for a row lm-eval can prompt with, or (None, the reason it is left out)."""
    system, turns = system_and_turns(row["messages"])
    if len(turns) != 2:
        return None, "multi_turn"
    doc = {name: row[name] for name in (*DOC_KEYS, "meta", "gold")}
    doc.update(system=system, prompt=turns[0]["content"], target=turns[1]["content"])
    return doc, ""



@dataclass
class SplitDocs:
    """The docs of one eval split per task family for both protocols, and the rows each protocol leaves out."""

    generate: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    generate_left_out: Counter[str] = field(default_factory=Counter)
    loglik: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    delimiters: dict[str, set[str]] = field(default_factory=dict)  # family -> target delimiters of its choice docs
    loglik_left_out: Counter[str] = field(default_factory=Counter)


def _split_docs(files: list[Path]) -> SplitDocs:
    """Both kinds of docs of one eval split, made in one pass over its rows."""
    split = SplitDocs()
    for where, row in iter_rows(files):
        doc, reason = lm_eval_doc(row)
        if doc is None:
            split.generate_left_out[reason] += 1
        else:
            split.generate.setdefault(row["task"], []).append(doc)
        choice, delimiter, reason = loglik_doc(row, where)
        if choice is None:
            split.loglik_left_out[reason] += 1
        else:
            split.loglik.setdefault(row["task"], []).append(choice)
            split.delimiters.setdefault(row["task"], set()).add(delimiter)
    return split


def _eval_split_order(split: str) -> tuple[int, str]:
    return ({"test": 0, "validation": 1}.get(split, 2), split)


# --------------------------------------------------------------------------------------------- tasks
def export_lm_eval(available: dict[str, Splits], configs: list[str], out: Path, final: Path) -> dict[str, Any]:
    """lm-eval: data files, task YAMLs of both protocols, utils.py, the groups and a README written into ``out``; the
    YAMLs name the data files under ``final`` (where ``out`` will be moved). The summary's ``tasks``, ``group``,
    ``skipped`` and ``rows`` are the generate tasks'; ``loglik`` holds the same four for the log-likelihood tasks."""
    tasks: dict[str, Any] = {}
    loglik: dict[str, Any] = {}
    skipped: dict[str, dict[str, int]] = {}
    loglik_skipped: dict[str, dict[str, int]] = {}
    for config in (name for name in configs if name.endswith(INSTRUCTIONS_SUFFIX)):
        dataset = config.removesuffix(INSTRUCTIONS_SUFFIX)
        for split in sorted((s for s in available[config] if s != TRAIN_SPLIT), key=_eval_split_order):
            docs = _split_docs(available[config][split])
            if docs.generate_left_out:
                skipped[f"{config}/{split}"] = dict(sorted(docs.generate_left_out.items()))
            if docs.loglik_left_out:
                loglik_skipped[f"{config}/{split}"] = dict(sorted(docs.loglik_left_out.items()))
            primary = not any(task["config"] == config and task["split"] != split for task in tasks.values())
            for family in sorted(docs.generate):
                several = len(docs.generate) > 1
                family_name = f"biohub_{dataset}" + ("" if primary else f"_{split}") + (f"_{family}" if several else "")
                for language, rows in _by_language(docs.generate[family]):  # as the `all` suite's rows
                    name = family_name + (f"_{language}" if language else "")
                    _check_free(name, config, split, tasks, loglik)
                    relative = f"data/{name}.jsonl"
                    write_lines(out / relative, "", (dump(doc, sort_keys=True) + "\n" for doc in rows), "", "")
                    task = {
                        "config": config,
                        "split": split,
                        "family": family,
                        **({"language": language} if language else {}),
                        "docs": len(rows),
                        "file": relative,
                        "in_group": primary,
                    }
                    write_yaml(out / f"{name}.yaml", task_yaml(name, final / relative, task))
                    tasks[name] = task
                    choices = [doc for doc in docs.loglik.get(family, []) if language in ("", doc["language"])]
                    if choices:
                        _check_free(name + LOGLIK_SUFFIX, config, split, tasks, loglik)
                        loglik[name + LOGLIK_SUFFIX] = _write_loglik_task(
                            out, final, name, task, choices, set(docs.delimiters[family])
                        )
    if not tasks:
        raise ConfigError(f"no eval rows lm-eval can prompt with in config(s) {', '.join(configs)}; nothing for lm-eval")
    group = sorted(name for name, task in tasks.items() if task["in_group"])
    write_yaml(out / f"_{LM_EVAL_GROUP}.yaml", group_yaml(group))
    loglik_group = sorted(name for name, task in loglik.items() if task["in_group"])
    if loglik_group:
        write_yaml(out / f"_{LOGLIK_GROUP}.yaml", loglik_group_yaml(loglik_group))
    write_text(out / "utils.py", UTILS_PY)
    write_text(out / "README.md", lm_eval_readme(final, tasks, group, skipped, loglik, loglik_group, loglik_skipped))
    return {
        "tasks": tasks,
        "group": {LM_EVAL_GROUP: group},
        "skipped": skipped,
        "rows": sum(t["docs"] for t in tasks.values()),
        "loglik": {
            "tasks": loglik,
            "group": {LOGLIK_GROUP: loglik_group} if loglik_group else {},
            "skipped": loglik_skipped,
            "rows": sum(t["docs"] for t in loglik.values()),
        },
    }


def _by_language(docs: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """A family's docs of one split: all of them under ``""`` when they share a language, else per language (the
    ``all`` suite's rows: ParaMed's two translation directions, each prompted in its source language)."""
    languages = sorted({doc["language"] for doc in docs})
    if len(languages) < 2:
        return [("", docs)]
    return [(language, [doc for doc in docs if doc["language"] == language]) for language in languages]


def _check_free(name: str, config: str, split: str, *taken: dict[str, Any]) -> None:
    """Refuse a task name that an earlier task of either protocol already has."""
    for tasks in taken:
        if name in tasks:
            raise ConfigError(
                f"{config}/{split}: lm-eval task name {name} is taken by {tasks[name]['config']}/{tasks[name]['split']}"
            )


def _write_loglik_task(
    out: Path, final: Path, generate_name: str, task: dict[str, Any], docs: list[dict[str, Any]], delimiters: set[str]
) -> dict[str, Any]:
    """Write the log-likelihood task beside the generate task ``generate_name`` (``task``) of the same rows; its entry."""
    name = generate_name + LOGLIK_SUFFIX
    if len(delimiters) != 1:
        raise ConfigError(
            f"{task['config']}/{task['split']}: {task['family']} answers mix keyword gaps {sorted(delimiters)}; "
            f"no single target_delimiter for lm-eval task {name}"
        )
    relative = f"data/{name}.jsonl"
    write_lines(out / relative, "", (dump(doc, sort_keys=True) + "\n" for doc in docs), "", "")
    entry = task | {"docs": len(docs), "file": relative, "generate_task": generate_name, "target_delimiter": delimiters.pop()}
    write_yaml(out / f"{name}.yaml", loglik_task_yaml(name, final / relative, entry))
    return entry


def task_yaml(name: str, data_file: Path, task: dict[str, Any]) -> dict[str, Any]:
    """One ``generate_until`` task: data only; ``utils.BiohubTask`` adds biohub's generation settings and metrics."""
    return {
        "task": name,
        "class": Function("utils.BiohubTask"),
        **_data(data_file, task),
        "output_type": "generate_until",
        "description": "system",
        "doc_to_text": "prompt",
        "doc_to_target": "target",
        "metadata": _metadata(task),
    }


def group_yaml(tasks: list[str]) -> dict[str, Any]:
    """The lm-eval group of the generation tasks: the mean of their headlines, every task weighted alike."""
    return {
        "group": LM_EVAL_GROUP,
        "task": tasks,
        "aggregate_metric_list": [{"metric": HEADLINE, "aggregation": "mean", "weight_by_size": False}],
        "metadata": {"version": 2.0},
    }


def loglik_task_yaml(name: str, data_file: Path, task: dict[str, Any]) -> dict[str, Any]:
    """One log-likelihood ``multiple_choice`` task: the prompt, the keyword opening the answer (``gen_prefix``), the
    options as continuations after ``target_delimiter``, the gold option's index; lm-eval's ``acc`` and ``acc_norm``."""
    return {
        "task": name,
        **_data(data_file, task),
        "output_type": "multiple_choice",
        "description": "system",
        "doc_to_text": "prompt",
        "gen_prefix": "keyword",
        "doc_to_choice": "choices",
        "doc_to_target": "gold_index",
        "target_delimiter": task["target_delimiter"],
        "metric_list": [{"metric": metric, "aggregation": "mean", "higher_is_better": True} for metric in LOGLIK_METRICS],
        "metadata": _metadata(task, biohub_generate_task=task["generate_task"]),
    }


def _data(data_file: Path, task: dict[str, Any]) -> dict[str, Any]:
    """Where an exported task's rows are: its JSON Lines file, read as the task's one (test) split."""
    split = task["split"]
    return {"dataset_path": "json", "dataset_kwargs": {"data_files": {split: str(data_file)}}, "test_split": split}


def _metadata(task: dict[str, Any], **extra: str) -> dict[str, Any]:
    """The metadata of an exported task: versions, the biohub config, split and family it comes from, ``extra``
    (a log-likelihood task names its generate task), and its number of docs."""
    return {
        "version": 2.0,
        "biohub_version": _biohub_version(),
        "biohub_dataset": task["config"].removesuffix(INSTRUCTIONS_SUFFIX),
        "biohub_config": task["config"],
        "biohub_split": task["split"],
        "biohub_family": task["family"],
        **({"biohub_language": task["language"]} if "language" in task else {}),
        **extra,
        "docs": task["docs"],
    }


def loglik_group_yaml(tasks: list[str]) -> dict[str, Any]:
    """The lm-eval group of the log-likelihood tasks: the mean of each of their metrics, every task weighted alike."""
    return {
        "group": LOGLIK_GROUP,
        "task": tasks,
        "aggregate_metric_list": [
            {"metric": metric, "aggregation": "mean", "weight_by_size": False} for metric in LOGLIK_METRICS
        ],
        "metadata": {"version": 2.0},
    }


def write_yaml(path: Path, data: dict[str, Any]) -> None:
    """Write an lm-eval YAML file (keys in the given order, ``!function`` tags for hook names, no line wrapping)."""
    write_text(path, yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1000))


def _biohub_version() -> str:
    try:
        return metadata.version("biohub")
    except metadata.PackageNotFoundError:
        return "unknown"


def lm_eval_readme(
    final: Path,
    tasks: dict[str, Any],
    group: list[str],
    skipped: dict[str, dict[str, int]],
    loglik: dict[str, Any],
    loglik_group: list[str],
    loglik_skipped: dict[str, dict[str, int]],
) -> str:
    """``OUT/README.md`` of an lm-eval export: the generate tasks, then the log-likelihood tasks."""
    lines = [
        "# biohub export: lm-eval",
        "",
        f"{len(tasks)} `generate_until` tasks; the group `{LM_EVAL_GROUP}` averages the `{HEADLINE}` of {', '.join(group)}.",
        "Every output is parsed by the parser of the template that made the example and scored with biohub's metrics",
        "(`utils.py` imports biohub: install biohub where lm_eval runs), so the numbers equal `biohub score --suite all`",
        "on the same outputs.",
        "",
        "```bash",
        f"lm_eval --model hf --model_args pretrained=MODEL --include_path {final} --tasks {LM_EVAL_GROUP} \\",
        "    --apply_chat_template --log_samples --output_path runs/lm_eval",
        "```",
        "",
        "`--apply_chat_template` gives the model what `biohub eval` gives it: the row's system prompt (`description`) and",
        "user message through the chat template. Do not add `--system_instruction`: it would be joined to the row's own.",
        "To score the same outputs with biohub, write each logged sample's `doc.id` and `filtered_resps[0]` as",
        '`{"id", "output"}` lines and run `biohub score --predictions FILE --suite all --data HUBDIR --out DIR`.',
        "",
        "| task | config | split | family | docs |",
        "| --- | --- | --- | --- | ---: |",
    ]
    lines += [f"| {name} | {t['config']} | {t['split']} | {t['family']} | {t['docs']} |" for name, t in sorted(tasks.items())]
    if skipped:
        lines += ["", "Rows left out (a conversation history cannot be one lm-eval prompt):", ""]
        lines += [
            f"- {split}: " + ", ".join(f"{reason} {n}" for reason, n in reasons.items())
            for split, reasons in sorted(skipped.items())
        ]
    return "\n".join(lines + _loglik_readme(final, loglik, loglik_group, loglik_skipped)) + "\n"


def _loglik_readme(final: Path, tasks: dict[str, Any], group: list[str], skipped: dict[str, dict[str, int]]) -> list[str]:
    """The README section of the log-likelihood multiple-choice tasks."""
    lines = ["", "## Log-likelihood multiple choice", ""]
    if not tasks:
        return lines + ["No eval row has a single-choice answer in `lines` format: no log-likelihood task."]
    lines += [
        f"{len(tasks)} `multiple_choice` tasks over the same rows of the choice families (`{'`, `'.join(choice_families())}`):",
        "each option's summed log-likelihood is computed and `acc` (`acc_norm`: normalised by the option's length) counts",
        "the docs whose gold option scores highest. Nothing is generated or parsed, and biohub is not needed to run them.",
        (
            f"The group `{LOGLIK_GROUP}` averages `acc` and `acc_norm` of {', '.join(group)}."
            if group
            else f"No dataset's main split has such a task: there is no group `{LOGLIK_GROUP}`."
        ),
        "",
        "```bash",
        f"lm_eval --model hf --model_args pretrained=MODEL --include_path {final} --tasks {LOGLIK_GROUP} \\",
        "    --apply_chat_template --log_samples --output_path runs/lm_eval_loglik",
        "```",
        "",
        "Under `--apply_chat_template` the context is the chat-templated system and user messages with the assistant turn",
        "opened by the answer keyword (`gen_prefix`, e.g. `Answer:`), and each option is scored as `target_delimiter +",
        "choice`: where the model writes it in its trained answer. Without it, lm-eval joins prompt and keyword with the",
        "target delimiter.",
        "",
        "| task | generate task | config | split | family | docs |",
        "| --- | --- | --- | --- | --- | ---: |",
    ]
    lines += [
        f"| {name} | {t['generate_task']} | {t['config']} | {t['split']} | {t['family']} | {t['docs']} |"
        for name, t in sorted(tasks.items())
    ]
    if skipped:
        lines += ["", "Eval rows without a log-likelihood doc, per split and reason:", ""]
        lines += [
            f"- {split}: " + ", ".join(f"{reason} {n}" for reason, n in reasons.items())
            for split, reasons in sorted(skipped.items())
        ]
    return lines
