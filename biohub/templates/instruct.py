"""``biohub instruct``: unified parquet files -> instruction examples, with the length policy and a ledger.

Writes ``OUT/<dataset>/<split>.parquet`` (rows of :data:`~biohub.templates.example.EXAMPLE_FEATURES`),
``OUT/ledger.json`` (per dataset, split and task: records, examples, split documents, windows, and examples
dropped as too long, in total and by reason: :data:`DROP_REASONS`) and ``OUT/length_stats.json`` (token-length
statistics per dataset and task).
Same inputs + seed + options give byte-identical files.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from tqdm.auto import tqdm

from biohub.errors import ConfigError, UnknownNameError
from biohub.io import InputError, write_json, write_parquet
from biohub.outputs import CONVERT, INSTRUCT, replacing, require_complete
from biohub.schema import DialogueRecord, KBRecord, Record, from_row
from biohub.templates.answers_coref import KIND as CLUSTERS
from biohub.templates.answers_events import KIND as EVENTS
from biohub.templates.builder import build_example, longest_template, messages_for
from biohub.templates.example import EXAMPLE_FEATURES, Instance, InstructionExample, Message
from biohub.templates.length import TokenCounter, event_extents, split_dialogue, split_into_windows
from biohub.templates.library import families
from biohub.templates.tasks import DatasetInfo, answer_selection, instances, mention_text, record_units, unit_instances
from biohub.templates.tasks_coref import cluster_extents


@dataclass(frozen=True, slots=True)
class InstructOptions:
    """``seed`` picks templates (and formats); ``formats``: allowed answer formats; ``decompose``: also one NER
    example per entity type; ``max_length``: token limit of an example (0: no limit, no tokenizer needed)."""

    seed: int = 0
    formats: tuple[str, ...] = ("lines",)
    decompose: bool = False
    max_length: int = 1024


# Why an example is dropped (the ledger's ``dropped`` keys; the command line prints one line per reason and task)
DROP_REASONS: dict[str, str] = {
    "example_too_long": "longer than max_length (only the windowed families, NER, normalisation, coreference, events, "
    "dialogue symptoms and answer selection, split a document, dialogue or question into windows; other tasks are "
    "dropped)",
    "sentence_too_long": "document with a single sentence (coreference: the sentences of one chain; events: the "
    "sentences one event spans; dialogue: one turn) longer than max_length: no window of whole sentences fits",
    "window_too_long": "window that fit by the longest template's estimate but measured longer than max_length",
    "candidate_too_long": "answer-selection candidate longer than max_length even alone in a window (its question's "
    "other candidates are kept)",
}


@dataclass
class SplitStats:
    """The ledger counts of one split: records, unlabelled records, and per task the examples kept, the
    documents split into windows and the examples dropped as too long (in total, and by reason and task)."""

    records: int = 0
    unlabeled: int = 0
    examples: Counter[str] = field(default_factory=Counter)
    windowed_records: Counter[str] = field(default_factory=Counter)
    dropped_too_long: Counter[str] = field(default_factory=Counter)
    dropped: Counter[tuple[str, str]] = field(default_factory=Counter)  # (reason, task) -> examples
    partial: int = 0  # partially labelled records skipped (:func:`lost_annotations`)
    lost: Counter[str] = field(default_factory=Counter)  # their annotations dropped in conversion, by unit

    def skip_partial(self, lost: dict[str, int]) -> None:
        """Count one partially labelled record skipped, and the annotations (unit -> count) it lost in conversion."""
        self.partial += 1
        self.lost.update(lost)

    def drop(self, reason: str, task: str, count: int = 1) -> None:
        """Count ``count`` examples of ``task`` dropped for ``reason`` (a key of :data:`DROP_REASONS`)."""
        self.dropped_too_long[task] += count
        self.dropped[reason, task] += count

    def to_json(self) -> dict[str, Any]:
        """The counts as they appear in ``ledger.json`` (keys sorted, so the same counts give the same bytes)."""
        return {
            "records": self.records,
            "unlabeled_records": self.unlabeled,
            "examples": dict(sorted(self.examples.items())),
            "windowed_records": dict(sorted(self.windowed_records.items())),
            "dropped_too_long": dict(sorted(self.dropped_too_long.items())),
            "dropped": {
                reason: {task: n for (why, task), n in sorted(self.dropped.items()) if why == reason}
                for reason in sorted({reason for reason, _ in self.dropped})
            },
            **({"partially_labelled": {"records": self.partial, "dropped_annotations": dict(sorted(self.lost.items()))}}
               if self.partial else {}),  # only when there are some: the ledgers of complete corpora keep their bytes
        }


def read_records(path: Path, schema: str) -> list[Record]:
    """Every record of one unified parquet split, as records of the dataset's schema."""
    return [from_row(schema, row) for row in pq.read_table(path).to_pylist()]


Made = tuple[Record, Instance, InstructionExample]


GOLD_KB_FAMILIES = ("ner", "ner_single", "re")  # kb examples whose official metrics need more than the answer


def _concepts(normalized: Sequence[Any]) -> list[str]:
    return sorted({f"{n.db_name}:{n.db_id}" for n in normalized})


def gold_kb_meta(record: Record, instance: Instance) -> dict[str, Any]:
    """``meta.gold_kb`` of a NER or RE example: what scoring by the corpus' official definition needs beyond the
    answer (biohub.eval.metrics): ``entities`` = [type, mention text, occurrences, concept ids] per distinct (type,
    text) of the record (of the example's types for NER), and for RE ``relations`` = [type, arg1 concept ids, arg2
    concept ids] per gold relation (the relation's own two normalisations when it has them, else its arguments').
    Small and sorted, so the same record gives the same bytes."""
    if not isinstance(record, KBRecord) or instance.family not in GOLD_KB_FAMILIES:
        return {}
    types = set(instance.spec.labels) if instance.family != "re" else None
    occurrences: Counter[tuple[str, str]] = Counter()
    concepts: dict[tuple[str, str], set[str]] = defaultdict(set)
    for entity in record.entities:
        if types is None or entity.type in types:
            key = (entity.type, mention_text(entity.text))
            occurrences[key] += 1
            concepts[key].update(_concepts(entity.normalized))
    entities = [
        [kind, text, count, sorted(concepts[kind, text])] for (kind, text), count in sorted(occurrences.items())
    ]
    gold: dict[str, Any] = {"entities": entities}
    if instance.family == "re":
        by_id = {entity.id: entity for entity in record.entities}
        relations = []
        for relation in record.relations:
            if len(relation.normalized) == 2:
                pair = [_concepts(relation.normalized[:1]), _concepts(relation.normalized[1:])]
            else:
                pair = [_concepts(by_id[relation.arg1_id].normalized), _concepts(by_id[relation.arg2_id].normalized)]
            relations.append([relation.type, *pair])
        gold["relations"] = sorted(relations)
    return {"gold_kb": gold}


def lost_annotations(record: Record) -> dict[str, int]:
    """The annotations (unit -> count) ``record`` lost in conversion (``meta.dropped_annotations``, written by the
    converters' reject loop); empty for a fully labelled record."""
    if "dropped_annotations" not in record.meta:  # cheap test first: almost every record has none
        return {}
    lost = json.loads(record.meta).get("dropped_annotations") or {}
    return {str(unit): int(n) for unit, n in lost.items()}


def make_examples(
    records: Sequence[Record], info: DatasetInfo, options: InstructOptions, stats: SplitStats | None = None
) -> list[Made]:
    """Every example of every labelled record (no length policy yet), with the record and instance it came from.

    A partially labelled record (one that lost annotations in conversion) makes no example: its answer would present
    the annotations left as all there are, teaching (or scoring) a model to miss the dropped ones. It is counted in
    ``stats`` (:meth:`SplitStats.skip_partial`) and printed by :func:`drop_lines`."""
    made = []
    for unit in record_units(records, info):  # a record alone, or the candidate records of one question
        if stats is not None:
            stats.unlabeled += sum(not record.labeled for record in unit)
        lost = [lost_annotations(record) for record in unit if record.labeled]
        if any(lost):
            if stats is not None:
                for dropped in filter(None, lost):
                    stats.skip_partial(dropped)
            continue
        record = unit[0]
        for instance in unit_instances(unit, info, decompose=options.decompose):
            extra = gold_kb_meta(record, instance)
            example = build_example(record, instance, seed=options.seed, formats=options.formats, extra_meta=extra)
            made.append((record, instance, example))
    return made


def apply_length_policy(
    made: Sequence[Made], info: DatasetInfo, options: InstructOptions, counter: TokenCounter | None, stats: SplitStats
) -> list[tuple[InstructionExample, int | None]]:
    """Keep examples that fit ``max_length``; window long documents of the windowed families (NER, normalisation,
    coreference, events, dialogue symptoms; answer-selection questions by their candidates), drop other long examples
    (counted). Each window group (:func:`window_group`) of a document is windowed on its own, only when one of its
    examples is too long: its NER windows are sized for its NER prompts and answers, its event windows for its events.

    Returns (example, token length) pairs; the length is None when no counter is given (no policy)."""
    if counter is None or not options.max_length:
        kept: list[tuple[InstructionExample, int | None]] = [(example, None) for _, _, example in made]
        stats.examples.update(example.task for example, _ in kept)
        return kept
    lengths = counter([example.messages for _, _, example in made])
    too_long = {
        (record.id, window_group(instance.family))
        for (record, instance, _), n in zip(made, lengths)
        if n > options.max_length and _windowed(instance.family)
    }
    kept = []
    windowed: set[tuple[str, str]] = set()
    for (record, instance, example), length in zip(made, lengths):
        group = (record.id, window_group(instance.family))
        if group in too_long and _windowed(instance.family) and isinstance(record, (KBRecord, DialogueRecord)):
            if group not in windowed:
                windowed.add(group)
                kept.extend(_windows(record, info, options, counter, stats, group[1]))
        elif length > options.max_length and instance.candidates and _windowed(instance.family):
            kept.extend(_candidate_windows(record, instance, info, options, counter, stats))
        elif length > options.max_length:
            stats.drop("example_too_long", instance.family)
        else:
            kept.append((example, length))
    stats.examples.update(example.task for example, _ in kept)
    return kept


def _windowed(family: str) -> bool:
    """Whether a too-long document is split into windows for ``family`` (its ``instruct.windowed``; others are dropped)."""
    return families()[family].instruct.windowed


def window_group(family: str) -> str:
    """The family whose windows an example of ``family`` is made from: the family decomposed into it (``ner`` for
    ``ner_single``, ``events`` for ``events_single``), else the family itself."""
    return next((name for name, facts in families().items() if facts.instruct.decompose_into == family), family)


def _together(record: KBRecord, group: str) -> list[tuple[int, int]]:
    """The extents a window of the group's examples must hold whole beyond single mentions: the coreference chains
    of a family answering in clusters, the events (trigger, arguments, nested events) of one answering in events."""
    kind = families()[group].kind
    if kind == CLUSTERS:
        return cluster_extents(record)
    return list(event_extents(record).values()) if kind == EVENTS else []


def build_split(
    records: Sequence[Record], info: DatasetInfo, options: InstructOptions, counter: TokenCounter | None
) -> tuple[list[InstructionExample], SplitStats, list[tuple[str, int]]]:
    """Examples of one split, the split's stats, and (task, token length) of every kept example."""
    stats = SplitStats(records=len(records))
    kept = apply_length_policy(make_examples(records, info, options, stats), info, options, counter, stats)
    return [example for example, _ in kept], stats, [(example.task, n) for example, n in kept if n is not None]


def _windows(
    record: KBRecord | DialogueRecord,
    info: DatasetInfo,
    options: InstructOptions,
    counter: TokenCounter,
    stats: SplitStats,
    group: str,
) -> list[tuple[InstructionExample, int | None]]:
    """The examples of one window group (e.g. NER) of a too-long document, made from windows of whole sentences (of
    whole turns for a dialogue) that each fit ``max_length``."""

    def ner_instances(window: Record) -> list[Any]:
        return [
            i
            for i in instances(window, info, decompose=options.decompose)
            if _windowed(i.family) and window_group(i.family) == group
        ]

    def fits(window: Any) -> bool:
        # judged on the longest rendering (by characters) with each family's longest template; the finished
        # examples are measured exactly below
        conversations: list[list[Message]] = [
            messages_for(longest_template(i.family, window.language), i, answer_format)
            for i in ner_instances(window)
            for answer_format in options.formats
        ]
        longest = max(conversations, key=lambda messages: sum(len(m.content) for m in messages))
        return counter([longest])[0] <= options.max_length

    windows: Sequence[tuple[Record, tuple[int, int]]] | None
    if isinstance(record, DialogueRecord):
        windows = split_dialogue(record, fits)
    else:
        windows = split_into_windows(record, fits, _together(record, group))
    names = [i.family for i in ner_instances(record)]
    if windows is None:
        for family in names:
            stats.drop("sentence_too_long", family)
        return []
    stats.windowed_records.update(set(names))
    made = [
        build_example(
            window,
            instance,
            seed=options.seed,
            formats=options.formats,
            source_id=record.id,
            extra_meta={"window": [start, end], **gold_kb_meta(window, instance)},
        )
        for window, (start, end) in windows
        for instance in ner_instances(window)
    ]
    out: list[tuple[InstructionExample, int | None]] = []
    for example, length in zip(made, counter([example.messages for example in made])):
        if length > options.max_length:  # fit was judged on the longest rendering; re-check every example in tokens
            stats.drop("window_too_long", example.task)
        else:
            out.append((example, length))
    return out


def _candidate_windows(
    record: Record, instance: Instance, info: DatasetInfo, options: InstructOptions, counter: TokenCounter, stats: SplitStats
) -> list[tuple[InstructionExample, int | None]]:
    """Answer-selection examples of a question whose candidates do not fit ``max_length`` together: windows of
    consecutive whole candidates (in the question's candidate order), each as long as fits (every window example is
    built with its own template and format and measured exactly). A candidate that does not fit even alone is dropped
    (counted); its question's other candidates are kept. Each window is its own question: candidates renumbered from
    1, gold = the correct ones among them, ``meta.window`` = [first, end) of the question's candidates, id suffix
    ``.w<n>``."""
    candidates = instance.candidates

    def measured(start: int, end: int, index: int) -> tuple[InstructionExample, int]:
        window = answer_selection(candidates, info, (start, end), index)
        extra = {"window": [start, end]}
        example = build_example(record, window, seed=options.seed, formats=options.formats, extra_meta=extra)
        return example, counter([example.messages])[0]

    out: list[tuple[InstructionExample, int | None]] = []
    start = 0
    while start < len(candidates):
        best = measured(start, start + 1, len(out))
        if best[1] > options.max_length:
            stats.drop("candidate_too_long", instance.family)
            start += 1
            continue
        end = start + 1
        while end < len(candidates):
            longer = measured(start, end + 1, len(out))
            if longer[1] > options.max_length:
                break
            best, end = longer, end + 1
        out.append(best)
        start = end
    stats.windowed_records[instance.family] += 1
    return out


def drop_lines(ledger: dict[str, Any], max_length: int) -> list[str]:
    """One line per dataset, split, reason and task that lost examples, with the count and the reason (what
    ``biohub instruct`` prints; the same counts are in ``ledger.json``)."""
    lines = []
    for dataset, splits in ledger.items():
        for split, stats in splits.items():
            for reason, by_task in stats["dropped"].items():
                for task, count in by_task.items():
                    why = DROP_REASONS[reason].replace("max_length", f"max_length {max_length}")
                    lines.append(f"{dataset} {split}: dropped {count:,} {task} example(s): {why}")
            partial = stats.get("partially_labelled")
            if partial:
                lost = sum(partial["dropped_annotations"].values())
                lines.append(f"{dataset} {split}: skipped {partial['records']:,} record(s), partially labelled: {lost:,} "
                             "annotations dropped in conversion (meta.dropped_annotations; no example made from them)")
    return lines


def length_summary(lengths: list[tuple[str, int]]) -> dict[str, dict[str, float]]:
    """Token-length statistics per task: examples, mean, median (the mean of the middle two for even n), 95th
    percentile (nearest rank: the smallest value with at least 95% of the values at or below it), max."""
    by_task: dict[str, list[int]] = defaultdict(list)
    for task, length in lengths:
        by_task[task].append(length)
    summary = {}
    for task, values in sorted(by_task.items()):
        values.sort()
        summary[task] = {
            "examples": len(values),
            "mean": round(sum(values) / len(values), 1),
            "p50": statistics.median(values),
            "p95": values[math.ceil(0.95 * len(values)) - 1],  # nearest rank
            "max": values[-1],
        }
    return summary


def instruct(
    unified: Path,
    out: Path,
    options: InstructOptions,
    *,
    tokenizer: Any = None,
    tokenizer_name: str = "",
    datasets: Sequence[str] | None = None,
    progress: bool = True,
    on_dataset: Callable[[str], None] | None = None,
    overwrite: bool = False,
    allow_empty: bool = True,
) -> dict[str, Any]:
    """Build instruction examples for every dataset folder of ``unified`` (or the named ones) into ``out``.

    ``unified`` must be a complete ``biohub convert`` output (its ``ledger.json`` written last); ``out`` is written
    beside its place and renamed into it at the end (:func:`biohub.outputs.replacing`; an earlier ``instruct`` output
    is replaced only with ``overwrite``). Without ``allow_empty``, making no example at all is a :class:`NoExampleError`
    (carrying the ledger) raised before anything takes the place of ``out``."""
    if options.max_length < 0:  # a negative limit would drop every example
        raise ConfigError(f"max_length (--max-length): must be at least 1, or 0 for no limit (got {options.max_length})")
    require_complete(unified, CONVERT, "--unified")
    with replacing(out, INSTRUCT, overwrite=overwrite) as work:
        ledger = _instruct(unified, work, options, tokenizer, tokenizer_name, datasets, progress, on_dataset)
        if not allow_empty and not examples_made(ledger):
            raise NoExampleError(
                f"no instruction example made from {unified} (see the table; nothing was written to {out}); "
                "pass --allow-empty to accept an empty output",
                ledger,
            )
        return ledger


class NoExampleError(InputError):
    """``instruct`` made no example: nothing is written; ``ledger`` says what each split lost, for the table."""

    def __init__(self, message: str, ledger: dict[str, Any]) -> None:
        super().__init__(message)
        self.ledger = ledger


def examples_made(ledger: dict[str, Any]) -> int:
    """The number of examples an instruct ledger counts, over every dataset and split."""
    return sum(sum(stats["examples"].values()) for splits in ledger.values() for stats in splits.values())


def _instruct(
    unified: Path,
    out: Path,
    options: InstructOptions,
    tokenizer: Any,
    tokenizer_name: str,
    datasets: Sequence[str] | None,
    progress: bool,
    on_dataset: Callable[[str], None] | None,
) -> dict[str, Any]:
    """Build instruction examples for every dataset folder of ``unified`` (or the named ones) into ``out``."""
    folders = sorted(p.parent for p in unified.glob("*/info.json"))
    if datasets is not None:
        missing = sorted(set(datasets) - {folder.name for folder in folders})
        if missing:
            raise UnknownNameError(f"no converted dataset {', '.join(missing)} in {unified}")
        folders = [folder for folder in folders if folder.name in datasets]
    counter = TokenCounter(tokenizer) if tokenizer is not None and options.max_length else None
    ledger: dict[str, Any] = {}
    lengths: dict[str, Any] = {}
    for folder in tqdm(folders, desc="instruct", unit="dataset", disable=not progress or None):
        if on_dataset:
            on_dataset(folder.name)
        info = DatasetInfo.load(folder)
        ledger[info.name], all_lengths = {}, []
        for path in sorted(folder.glob("*.parquet")):
            examples, stats, split_lengths = build_split(read_records(path, info.schema), info, options, counter)
            write_parquet(out / info.name / path.name, [example.to_row() for example in examples], EXAMPLE_FEATURES)
            ledger[info.name][path.stem] = stats.to_json()
            all_lengths.extend(split_lengths)
        if counter is not None:
            lengths[info.name] = length_summary(all_lengths)
    settings = {
        "seed": options.seed,
        "formats": list(options.formats),
        "decompose": options.decompose,
        "max_length": options.max_length,
    }
    write_json(out / "ledger.json", {"settings": settings, "datasets": ledger})
    if counter is not None:
        write_json(out / "length_stats.json", {"tokenizer": tokenizer_name, "datasets": lengths})
    return ledger
