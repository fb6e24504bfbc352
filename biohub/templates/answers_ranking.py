"""The ``ranking`` answer kind: the numbers of the candidates that answer a question, best first (answer selection).

A task shows numbered candidates ``[1] ... [n]``; the spec's labels are the candidate numbers ``"1"`` .. ``"n"``.
The answer lists the candidates judged correct, best first, and leaves out the others (MEDIQA 2019 QA asks for
exactly this: filter the candidates, then rank the ones kept)::

    lines  Answer: 3, 1, 5        答案：3，1，5        (none correct: Answer: None / 答案：无)
    json   {"answer": [3, 1, 5]}                      (none correct: {"answer": []})

The canonical value is a list of candidate numbers (``int``), each once, in the order given. ``strict`` parsing
accepts exactly the rendered text (numbers within 1..n, the language's separator). ``lenient`` parsing reads the
value after an ``Answer:`` / ``答案：`` keyword (else the first line naming a candidate): candidate references such as
``3``, ``[3]``, ``#3``, ``candidate 3``, ``第3条``, full-width digits, joined by commas, semicolons, ``>``, ``、``,
"and" / ``和``; it stops at the first word that is none of these (a trailing explanation), drops numbers outside
1..n with a warning, and reads ``None`` / ``无``-style words as the empty answer. Text naming no candidate is a failure.
"""

from __future__ import annotations

import re
from typing import Any

from biohub.templates.answers import KIND_CODECS, AnswerFailure, AnswerSpec, KindCodec
from biohub.templates.registry import PARSERS

__all__ = ["KIND", "candidate_count"]

KIND = "ranking"
_FULL_WIDTH = str.maketrans({chr(0xFF10 + digit): str(digit) for digit in range(10)})
_PREFIX = r"(?:(?:candidate|answer|option|no\.|number|#)\s*|候选答案|候选|答案|选项|第)?"
_ITEM = re.compile(
    _PREFIX + r"(?:[\[【(（]\s*(\d{1,4})\s*[\]】)）]|(?<!\d)(\d{1,4})(?!\d))(?:\s*(?:条|个|号))?", re.IGNORECASE
)
_JOIN = re.compile(r"\s*(?:[,，、;；/>＞]\s*)?(?:(?:and|then|和|与|及|以及)\s*)?", re.IGNORECASE)
_STRICT_NUMBER = re.compile(r"[1-9][0-9]*")
_NONE_ANSWERS = ("none", "无", "none of them", "none of the candidates", "都不是", "均不正确", "没有正确答案")


def candidate_count(spec: AnswerSpec) -> int:
    """The number of candidates of a task (its labels are the candidate numbers)."""
    return len(spec.labels)


def _canonical(spec: AnswerSpec, value: Any) -> list[int]:
    seen: list[int] = []
    for item in value:
        number = int(item)
        if number not in seen:
            seen.append(number)
    return seen


def _joined(spec: AnswerSpec, value: list[int]) -> str:
    p = spec.punct
    return (p.pair_sep + p.gap).join(str(number) for number in value) if value else p.none


def _render(spec: AnswerSpec, value: list[int]) -> str:
    p = spec.punct
    text = _joined(spec, value)
    return f"{spec.prefix}{p.kv}{p.gap}{text}" if spec.prefix else text


def _to_json(spec: AnswerSpec, value: list[int]) -> Any:
    return {"answer": list(value)}


def _check_range(spec: AnswerSpec, numbers: list[int], strict: bool, warnings: list[str]) -> list[int]:
    """The numbers naming a candidate (1..n); strict fails on any other, lenient drops it with a warning."""
    count = candidate_count(spec)
    kept = []
    for number in numbers:
        if 1 <= number <= count:
            kept.append(number)
        elif strict:
            raise AnswerFailure(f"{number} is not a candidate number (1..{count})")
        else:
            warnings.append(f"ignored {number}: not a candidate number (1..{count})")
    return kept


def _is_none(spec: AnswerSpec, value: str) -> bool:
    stem = value.strip().rstrip("。.!！").strip()
    words = {word.casefold() for word in (*spec.punct.none_words, *_NONE_ANSWERS)}
    return stem.casefold() in words


def _references(value: str) -> list[int] | None:
    """The candidate numbers of a run of references starting at the first one in ``value`` (None: no reference)."""
    value = value.translate(_FULL_WIDTH)
    match = _ITEM.search(value)
    if match is None:
        return None
    numbers = [_number(match)]
    position = match.end()
    while True:
        join = _JOIN.match(value, position)
        following = _ITEM.match(value, join.end()) if join else None
        if following is None:
            return numbers
        numbers.append(_number(following))
        position = following.end()


def _number(match: re.Match[str]) -> int:
    return int(match.group(1) or match.group(2))


def _after_keyword(spec: AnswerSpec, line: str) -> str | None:
    """The text after an answer keyword opening ``line`` (``Answer:`` / ``答案：``, any case), else None."""
    keywords = {spec.prefix, spec.punct.answer, "answer", "答案"} - {""}
    stripped = line.strip().lstrip("*#->•·").strip()
    for keyword in keywords:
        if stripped[: len(keyword)].casefold() == keyword.casefold():
            rest = stripped[len(keyword) :].lstrip(" *")
            if rest[:1] in (":", "："):
                return rest[1:].strip()
    return None


def _parse_lines(spec: AnswerSpec, text: str, strict: bool, warnings: list[str], choices: list[str]) -> list[int]:
    p = spec.punct
    if strict:
        line = text.strip("\n")
        marker = f"{spec.prefix}{p.kv}{p.gap}" if spec.prefix else ""
        if not line.startswith(marker) or "\n" in line:
            raise AnswerFailure(f"{line[:80]!r} is not one '{marker}n{p.pair_sep}{p.gap}m' line")
        value = line[len(marker) :]
        if value == p.none:
            return []
        parts = value.split(p.pair_sep + p.gap)
        if not all(_STRICT_NUMBER.fullmatch(part) for part in parts):
            raise AnswerFailure(f"{value[:80]!r} is not candidate numbers joined by {p.pair_sep + p.gap!r}")
        return _check_range(spec, [int(part) for part in parts], True, warnings)
    lines = [line.strip() for line in text.replace("\r\n", "\n").split("\n") if line.strip().strip("`")]
    keyed = [value for value in (_after_keyword(spec, line) for line in lines) if value is not None]
    for value in keyed[:1] or lines:
        if _is_none(spec, value):
            return []
        numbers = _references(value)
        if numbers is not None:
            kept = _check_range(spec, numbers, False, warnings)
            if kept:
                return kept
    raise AnswerFailure(f"{text[:80]!r} names no candidate number (1..{candidate_count(spec)}) and is not 'none'")


def _from_json(spec: AnswerSpec, payload: Any, strict: bool, warnings: list[str]) -> list[int]:
    if not isinstance(payload, dict) or "answer" not in payload:
        raise AnswerFailure('expected {"answer": [candidate numbers]}')
    answer = payload["answer"]
    if strict:
        if not isinstance(answer, list) or not all(isinstance(n, int) and not isinstance(n, bool) for n in answer):
            raise AnswerFailure(f"{answer!r} is not a list of candidate numbers")
        return _check_range(spec, list(answer), True, warnings)
    if answer is None:
        return []
    if isinstance(answer, str):
        return _parse_lines(spec, answer, False, warnings, [])
    if not isinstance(answer, list):
        raise AnswerFailure(f"{answer!r} is not a list of candidate numbers")
    numbers: list[int] = []
    for item in answer:
        if isinstance(item, int) and not isinstance(item, bool):
            numbers.append(item)
            continue
        found = _references(str(item)) if isinstance(item, str) else None
        if not found:
            raise AnswerFailure(f"{item!r} is not a candidate number")
        numbers.extend(found)
    kept = _check_range(spec, numbers, False, warnings)
    if numbers and not kept:
        raise AnswerFailure(f"{answer!r} names no candidate number (1..{candidate_count(spec)})")
    return kept


def _layout(spec: AnswerSpec) -> list[int]:
    return [2, 1] if candidate_count(spec) >= 2 else [1]


KIND_CODECS.register(KIND)(KindCodec(_canonical, _render, _to_json, _from_json, _layout))
PARSERS.register(KIND)(_parse_lines)
