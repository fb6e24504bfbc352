"""Seed/generated tasks, the request prompt, parsing generations back into tasks, the filters and the categories.

Prompts, filter settings and category rules are data (``selfinstruct/data/*.yaml``). Every filter returns the
reason a task is dropped (counted in the ledger with examples) or None.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from biohub.errors import BiohubError
from biohub.selfinstruct.similarity import SimilarityIndex, tokens
from biohub.text import has_cjk
from biohub.typed import load_yaml

DATA = Path(__file__).parent / "data"
CATEGORIES = ("qa", "ie", "generation", "other")
LANGUAGES = ("en", "zh")


@dataclass(slots=True)
class Task:
    """One instruction task, seed or generated: instruction, optional input, output, language, category, id and
    where it came from."""

    instruction: str
    input: str
    output: str
    language: str
    category: str = ""
    id: str = ""
    origin: str = "seed"  # seed | generated

    def to_alpaca(self) -> dict[str, str]:
        """The task as a row of ``instructions.json`` (Alpaca fields plus id, category and language)."""
        return {
            "id": self.id,
            "instruction": self.instruction,
            "input": self.input,
            "output": self.output,
            "category": self.category,
            "language": self.language,
        }


class SeedError(BiohubError, ValueError):
    """The seed file is malformed; the message names the file, line and reason."""


@cache
def _yaml(name: str) -> Any:
    return load_yaml((DATA / name).read_text(encoding="utf-8"), str(DATA / name))


def language_of(text: str) -> str:
    """``zh`` when at least a fifth of the letters are CJK characters (:mod:`biohub.text`), else ``en``."""
    letters = [ch for ch in text if ch.isalpha()]
    cjk = sum(1 for ch in letters if has_cjk(ch))
    return "zh" if letters and cjk / len(letters) >= 0.2 else "en"


def load_seeds(path: Path) -> list[Task]:
    """Alpaca-shaped JSONL (``instruction``, ``input``, ``output``; optional ``category``, ``language``, ``id``)."""
    seeds = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SeedError(f"{path}:{number}: not JSON ({exc.msg})") from None
        if not isinstance(row, dict) or not all(isinstance(row.get(key), str) for key in ("instruction", "output")):
            raise SeedError(f"{path}:{number}: needs string fields 'instruction' and 'output'")
        category = row.get("category", "")
        if category and category not in CATEGORIES:
            raise SeedError(f"{path}:{number}: category {category!r} is not one of {', '.join(CATEGORIES)}")
        language = row.get("language") or language_of(row["instruction"])
        seeds.append(
            Task(
                row["instruction"].strip(),
                str(row.get("input", "")).strip(),
                row["output"].strip(),
                language,
                category,
                str(row.get("id", f"seed-{number}")),
            )
        )
    if not seeds:
        raise SeedError(f"{path}: no seed tasks")
    return seeds


def build_prompt(examples: Sequence[Task], language: str) -> str:
    """The request: header, the k example tasks numbered 1..k, and the opening of task k + 1."""
    prompts = _yaml("prompts.yaml")[language]
    no_input = _yaml("filters.yaml")["no_input"][language][0]
    blocks = [
        prompts["task"].format(number=i, instruction=t.instruction, input=t.input or no_input, output=t.output)
        for i, t in enumerate(examples, start=1)
    ]
    return "\n\n".join([prompts["header"], *blocks, prompts["next"].format(number=len(examples) + 1)])


def draw_examples(rng: random.Random, seeds: Sequence[Task], pool: Sequence[Task], k: int, language: str) -> list[Task]:
    """k examples in ``language``: seeds, plus (as in Self-Instruct) up to a third from accepted generations."""
    own_seeds = [s for s in seeds if s.language == language] or list(seeds)
    own_pool = [t for t in pool if t.language == language]
    from_pool = min(len(own_pool), k // 3) if own_pool else 0
    chosen = rng.sample(own_seeds, min(k - from_pool, len(own_seeds))) + rng.sample(own_pool, from_pool)
    rng.shuffle(chosen)
    return chosen


_FIELD = {
    "en": (r"Instruction\s*[:：]", r"Input\s*[:：]", r"Output\s*[:：]", r"Task\s*\d+"),
    "zh": (r"指令\s*[:：]", r"输入\s*[:：]", r"输出\s*[:：]", r"任务\s*\d+"),
}


def parse_generation(text: str, language: str) -> Task | None:
    """The first task in a generation (which continues after "Instruction:"); None when it is malformed."""
    instruction_re, input_re, output_re, task_re = _FIELD[language]
    text = re.sub(rf"^\s*{task_re}\s*[:：.]?", "", text)  # a chat model may repeat the "Task k+1" header
    text = re.split(task_re, text, maxsplit=1)[0]  # only the task the model was asked to write
    parts = re.split(f"({input_re}|{output_re})", text)
    instruction = parts[0].strip()
    fields: dict[str, str] = {}
    for marker, value in zip(parts[1::2], parts[2::2]):
        key = "input" if re.fullmatch(input_re, marker) else "output"
        fields.setdefault(key, value.strip())
    instruction = re.sub(f"^{instruction_re}", "", instruction).strip()
    if not instruction or "output" not in fields or not fields["output"]:
        return None
    task_input = fields.get("input", "")
    if task_input.strip().lower() in {v.lower() for v in _yaml("filters.yaml")["no_input"][language]}:
        task_input = ""
    return Task(instruction, task_input, fields["output"], language, origin="generated")


def length_of(text: str, language: str) -> int:
    """Words (English) or characters without spaces (Chinese)."""
    return len(re.sub(r"\s", "", text)) if language == "zh" else len(text.split())


def check(task: Task, index: SimilarityIndex) -> tuple[str | None, dict[str, Any]]:
    """The reason ``task`` is dropped (None if kept) and details for the ledger (similarity score, nearest)."""
    settings = _yaml("filters.yaml")
    size = length_of(task.instruction, task.language)
    if not settings["length"]["min"] <= size <= settings["length"]["max"]:
        return "length", {"length": size}
    lowered = task.instruction.lower()
    for keyword in settings["keywords"][task.language]:
        pattern = rf"\b{re.escape(keyword)}\b" if task.language == "en" else re.escape(keyword)
        if re.search(pattern, lowered):
            return "keyword", {"keyword": keyword}
    if task.input and task.output.strip() == task.input.strip():
        return "output_equals_input", {}
    similar, score, nearest = index.too_similar(tokens(task.instruction, task.language))
    if similar:
        return "similar", {"rouge_l": round(score, 4), "nearest": nearest}
    return None, {"rouge_l": round(score, 4)}


def categorize(task: Task) -> str:
    """The first category rule whose cue occurs in the instruction; ``other`` when none does."""
    lowered = task.instruction.lower()
    for rule in _yaml("categories.yaml")["rules"]:
        for cue in rule[task.language]:
            if (re.search(rf"\b{re.escape(cue)}\b", lowered) if task.language == "en" else cue in lowered):
                return str(rule["category"])
    return "other"


def reference_shares() -> dict[str, float]:
    """The share of each category in BioInstruct (``categories.yaml``), the reference the ledger compares with."""
    return {str(k): float(v) for k, v in _yaml("categories.yaml")["reference_shares"].items()}

