"""``biohub templates check``: every labelled record, every template, every answer format, parsed back.

For each task instance of each labelled record (decomposed NER included; an answer-selection instance is made of the
labelled candidate records of one question), every template of its family in the
record's language is filled (a template that cannot be filled is a failure), and the target is rendered in every
answer format and parsed back in strict and lenient mode: both must give the canonical target. The target text
does not depend on the template (templates only change the prompt), so it is rendered once per format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from biohub.outputs import CONVERT, require_complete
from biohub.schema import Record
from biohub.templates.answers import FORMATS, canonical, parse, render
from biohub.templates.builder import messages_for
from biohub.templates.example import Instance
from biohub.templates.instruct import read_records
from biohub.templates.library import families
from biohub.templates.tasks import DatasetInfo, record_units, unit_instances


@dataclass
class CheckResult:
    """The round-trip tally of one unified dataset: labelled records and task instances seen, instances that
    round-tripped, and the first 20 failures (each a one-line description)."""

    dataset: str
    records: int = 0
    instances: int = 0
    round_trips: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """The share of instances that round-tripped (1.0 when there were none)."""
        return self.round_trips / self.instances if self.instances else 1.0


def check_instance(record: Record, instance: Instance) -> str | None:
    """None when every template fills and every format round-trips; else what failed."""
    family = families()[instance.family]
    templates = family.templates[instance.language or record.language]
    try:
        messages_for(templates[0], instance, "lines")  # fields agree with the family's placeholders; hints fill
        for template in templates[1:]:
            template.fill(**instance.fields)
    except (KeyError, ValueError, IndexError) as exc:
        return f"{record.id} {instance.family}: a template does not fill: {exc}"
    expected = canonical(instance.spec, instance.target)
    for answer_format in FORMATS if instance.spec.kind != "text" else ("lines",):
        text = render(instance.spec, instance.target, answer_format)
        for strict in (True, False):
            result = parse(instance.spec, text, answer_format, strict=strict, choices=instance.choices)
            value = result.value if strict or instance.spec.kind != "text" else text
            if not result.ok or value != expected:
                mode = "strict" if strict else "lenient"
                got = result.error or result.value
                return f"{record.id} {instance.family} {answer_format}/{mode}: {got!r} != {expected!r}"
    return None


def check_dataset(folder: Path, progress: bool = False) -> CheckResult:
    """Check every task instance of every labelled record of one unified dataset folder (its parquet splits)."""
    info = DatasetInfo.load(folder)
    result = CheckResult(info.name)
    for path in sorted(folder.glob("*.parquet")):
        records = read_records(path, info.schema)
        units = record_units([record for record in records if record.labeled], info)
        for unit in tqdm(units, desc=f"{info.name}/{path.stem}", disable=not progress or None, leave=False):
            result.records += len(unit)
            for instance in unit_instances(unit, info, decompose=True):
                result.instances += 1
                failure = check_instance(unit[0], instance)
                if failure is None:
                    result.round_trips += 1
                elif len(result.failures) < 20:
                    result.failures.append(failure)
    return result


def check_unified(unified: Path, progress: bool = True) -> list[CheckResult]:
    """Check every dataset folder (one with an ``info.json``) under a unified tree, in name order. The tree must be a
    complete conversion (its ``ledger.json`` present): an interrupted one is refused, as ``instruct`` refuses it.
    ``progress``: a bar over the datasets (naming the one being checked) and one per split, on a terminal only."""
    require_complete(unified, CONVERT, "--unified")
    folders = [p.parent for p in sorted(unified.glob("*/info.json"))]
    results = []
    with tqdm(folders, desc="templates check", unit="dataset", disable=not progress or None) as bar:
        for folder in bar:
            bar.set_postfix_str(folder.name, refresh=True)
            results.append(check_dataset(folder, progress))
    return results
