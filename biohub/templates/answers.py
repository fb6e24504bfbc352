"""Answer structures and their two text formats: Taiyi-style *lines* (default) and *json*.

An answer has a *kind* (what structure it is) and is rendered for one language with the task's label space
and display names. Every renderer has a parser that turns text back into the same structure:
``parse(render(x)) == x`` for every canonical ``x`` (tested over every labelled record of every corpus).

Kinds and their line rendering (English; Chinese uses ``：`` ``；`` ``，`` and ``结果`` / ``答案`` / ``无``)::

    spans_by_type   Disease: m1; m2          one line per declared type, "None" when empty (NER)
                    Chemical: None
    spans           m1; m2                   one line, optionally after a prefix (decomposed NER, list QA)
    triples         treats: [h1, t1]; [h2, t2]   one line per relation type present; "None" if none (RE)
    label           Result: positive         one label (classification, pairs, yes/no)
    labels          Result: l1; l2           several labels, "None" when empty (multi-label)
    choices         Answer: C                option letters, "A, C" ("A，C") for several (multiple choice)
    score           Score: 3.4               a number (BIOSSES-style similarity)
    text            free text                generation (open QA, dialogue, instructions)

Kinds defined in their own modules register a :class:`KindCodec` (canonical form, line rendering, JSON payload
both ways, a layout example) in :data:`CODECS` and their line parser in ``PARSERS``, under the kind's name: ``ranking``
(``Answer: 3, 1``, candidate numbers best first; :mod:`.answers_ranking`), ``concepts`` (entity normalisation,
:mod:`.answers_norm`), ``clusters`` (coreference, :mod:`.answers_coref`), ``events`` (numbered events with trigger,
type and role: argument pieces; :mod:`.answers_events`) and ``tree`` (Text2DT decision trees; :mod:`.answers_tree`).
:func:`answer_kinds` lists them all.

Mentions containing separator characters round-trip through backslash escapes (:mod:`.escape`); so do mentions
that lenient parsing would otherwise misread ("None." as the empty answer; on a keyword-less line a leading
bullet or number, a line of backticks, or "<type>: ..."), which get one escaping backslash.

Parsers return a :class:`ParseResult` (``value``, ``ok``, ``error``, ``warnings``) and never drop a failure
silently. ``strict`` accepts exactly what the renderer writes (it re-renders the value and compares: order,
duplicates and spacing must match; JSON must hold the same data); ``lenient`` tolerates what real models emit:
full-/half-width punctuation, extra spaces and blank lines, bullets and numbering, trailing explanations,
case differences in type names, duplicated mentions, "None"/"无"-style empties, option text instead of a
letter, a label or yes/no leading a sentence, and JSON inside fences or prose. Text naming nothing of the
task (no declared type, relation, label, option or number) is a failure, never an empty answer.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from biohub.errors import BiohubError
from biohub.templates.escape import escape, is_reserved, spells, split_unescaped, strip_unescaped, unescape
from biohub.templates.registry import PARSERS, Registry
from biohub.text import CJK_CHARACTERS, has_cjk

Kind = Literal["spans_by_type", "spans", "triples", "label", "labels", "choices", "score", "text"]
AnswerFormat = Literal["lines", "json"]
KINDS: tuple[str, ...] = ("spans_by_type", "spans", "triples", "label", "labels", "choices", "score", "text")
FORMATS: tuple[str, ...] = ("lines", "json")

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_BULLET = re.compile(r"^\s*(?:[-*•·●▪]+\s*|\d{1,2}\s*[.)、．]\s*|[(（]\d{1,2}[)）]\s*)")
_KV = re.compile(r"^(?P<key>[^:：\n]{1,80}?)\s*[:：]\s*(?P<value>.*)$", re.DOTALL)
_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?")  # lenient: "3", "3.5", ".5", "1e-05"
_STRICT_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:e[-+][0-9]{2,3})?")  # what f"{x:g}" writes for a finite x


@dataclass(frozen=True, slots=True)
class Punctuation:
    """The separators and keywords of one language (data: ``templates/data/languages.yaml``)."""

    kv: str  # ":" / "："
    list_sep: str  # ";" / "；"
    pair_sep: str  # "," / "，"
    gap: str  # " " after each separator in English, "" in Chinese
    none: str  # "None" / "无"
    result: str
    answer: str
    score: str
    none_words: tuple[str, ...]  # what lenient parsing also reads as "nothing" (None, N/A, 无, 没有, ...)


@dataclass(frozen=True, slots=True)
class AnswerSpec:
    """How one task's answers look: kind, label space (codes, in order), display names and keywords."""

    kind: str
    punct: Punctuation
    labels: tuple[str, ...] = ()
    display: dict[str, str] = field(default_factory=dict)
    prefix: str = ""  # keyword before the value on "label"/"labels"/"choices"/"score"/"spans" lines ("" = none)
    # codes of the modifications an answer may attach to its items (events: Negation, Speculation, CHIP-CDEE's
    # tendency), in order; their display names are in ``display`` too
    modifiers: tuple[str, ...] = ()

    def name(self, label: str) -> str:
        """The display name of a label code (the code itself when the spec names none)."""
        return self.display.get(label, label)


@dataclass(frozen=True, slots=True)
class ParseResult:
    """What a parser made of a text: ``value`` (the structure, or None), ``ok``, ``error`` and warnings."""

    value: Any
    ok: bool
    error: str = ""
    warnings: tuple[str, ...] = ()


class ParseFailure(BiohubError):
    """Raised inside a parser when a text is not an answer of its kind (``parse`` turns it into a failed result)."""


_Fail = ParseFailure


@dataclass(frozen=True, slots=True)
class KindCodec:
    """What an answer kind defined outside this module provides (its line parser goes to ``PARSERS``):

    ``canonical(spec, value)`` the canonical structure; ``lines(spec, value)`` the line rendering of a canonical
    value; ``to_json(spec, value)`` the JSON payload of a canonical value; ``from_json(spec, payload, strict,
    warnings)`` the structure of a JSON payload (already loaded from the answer text, a ``json_type``; raising
    :class:`ParseFailure`); ``layout(spec, language)`` a placeholder value shown in the format hint; ``json_type``:
    what the payload is (``dict`` or ``list``: lenient parsing looks for that in prose)."""

    canonical: Callable[[AnswerSpec, Any], Any]
    lines: Callable[[AnswerSpec, Any], str]
    to_json: Callable[[AnswerSpec, Any], Any]
    from_json: Callable[[AnswerSpec, Any, bool, list[str]], Any]
    layout: Callable[[AnswerSpec, str], Any]
    json_type: type = dict


# answer kind -> codec, for the kinds defined in their own modules (registered at the end of this module)
CODECS: Registry[KindCodec] = Registry("answer kind codec")


def answer_kinds() -> tuple[str, ...]:
    """Every answer kind a family may name: the kinds of this module, then those registered in :data:`CODECS`."""
    return (*KINDS, *CODECS.names())


# --------------------------------------------------------------------------------------------- canonical form
def canonical(spec: AnswerSpec, value: Any) -> Any:
    """The canonical structure of an answer: deduplicated, in label order, as the renderer lays it out."""
    if spec.kind in CODECS:
        return CODECS.get(spec.kind).canonical(spec, value)
    order = {label: index for index, label in enumerate(spec.labels)}
    if spec.kind == "spans_by_type":
        return {label: _dedupe(value.get(label, [])) for label in spec.labels}
    if spec.kind == "spans":
        return _dedupe(value)
    if spec.kind == "triples":
        triples = _dedupe([list(t) for t in value], key=tuple)
        return sorted(triples, key=lambda t: order.get(t[0], len(order)))
    if spec.kind == "labels":
        return sorted(_dedupe(value), key=lambda label: order.get(label, len(order)))
    if spec.kind == "choices":
        return sorted(_dedupe(value))
    if spec.kind == "score":
        return float(value)
    return value


def _dedupe(items: list[Any], key: Any = None) -> list[Any]:
    seen, out = set(), []
    for item in items:
        marker = key(item) if key else item
        if marker not in seen:
            seen.add(marker)
            out.append(item)
    return out


# --------------------------------------------------------------------------------------------- rendering
def render(spec: AnswerSpec, value: Any, answer_format: str = "lines") -> str:
    """The target text of an answer in ``lines`` or ``json`` format."""
    value = canonical(spec, value)
    if answer_format == "json":
        return _render_json(spec, value)
    if answer_format != "lines":
        raise ValueError(f"unknown answer format {answer_format!r}; expected one of {FORMATS}")
    if spec.kind in CODECS:
        return CODECS.get(spec.kind).lines(spec, value)
    p = spec.punct
    if spec.kind == "spans_by_type":
        return "\n".join(_kv(p, spec.name(label), _items(p, mentions)) for label, mentions in value.items())
    if spec.kind == "spans":
        return _with_prefix(spec, _items(p, value)) if spec.prefix else _guard_bare_line(spec, _items(p, value))
    if spec.kind == "triples":
        if not value:
            return p.none
        lines = []
        for label in _dedupe([t[0] for t in value]):
            pairs = [f"[{_esc(p, h, pair=True)}{p.pair_sep}{p.gap}{_esc(p, t, pair=True)}]" for r, h, t in value if r == label]
            lines.append(_kv(p, spec.name(label), (p.list_sep + p.gap).join(pairs)))
        return "\n".join(lines)
    if spec.kind == "label":
        return _with_prefix(spec, _esc(p, spec.name(value)))
    if spec.kind == "labels":
        return _with_prefix(spec, _items(p, [spec.name(label) for label in value]))
    if spec.kind == "choices":
        return _with_prefix(spec, (p.pair_sep + p.gap).join(value))
    if spec.kind == "score":
        return _with_prefix(spec, f"{value:g}")
    return str(value)


_ITEM_SPECIALS = ";；"
_PAIR_SPECIALS = ";；[]【】()（）<>〈〉,，"


def _esc(p: Punctuation, text: str, pair: bool = False) -> str:
    """Escape every character lenient parsing could read as a separator, in either script."""
    reserved = p.none_words
    stem = text.rstrip("。.")
    if stem != text and spells(stem, p.none_words):
        reserved = (*reserved, text)  # lenient parsing reads "None." / "无。" as the empty answer too
    return escape(text, _PAIR_SPECIALS if pair else _ITEM_SPECIALS, reserved=reserved)


def _bare_keywords(spec: AnswerSpec) -> set[str]:
    """Keys that lenient parsing of a keyword-less mention line drops before a colon (``Disease: ...``)."""
    p = spec.punct
    return {_norm(spec.name(label)) for label in spec.labels} | {_norm(p.answer), _norm(p.result)}


def _guard_bare_line(spec: AnswerSpec, line: str) -> str:
    """Escape the start of a keyword-less mention line that lenient parsing would otherwise misread: a leading
    bullet or number (``- x``, ``1. x``, ``(1) x``), a line of backticks, or ``<type or keyword>: ...``."""
    if _BULLET.match(line) or (line and set(line) <= set("`")):
        line = "\\" + line
    match = _KV.match(line)
    if match and _norm(match["key"]) in _bare_keywords(spec):
        colon = min(index for index in (line.find(":"), line.find("：")) if index >= 0)
        line = line[:colon] + "\\" + line[colon:]
    return line


def _items(p: Punctuation, items: list[str]) -> str:
    return (p.list_sep + p.gap).join(_esc(p, item) for item in items) if items else p.none


def _kv(p: Punctuation, key: str, value: str) -> str:
    return f"{key}{p.kv}{p.gap}{value}"


def _with_prefix(spec: AnswerSpec, value: str) -> str:
    return _kv(spec.punct, spec.prefix, value) if spec.prefix else value


def _render_json(spec: AnswerSpec, value: Any) -> str:
    if spec.kind in CODECS:
        payload: Any = CODECS.get(spec.kind).to_json(spec, value)
    elif spec.kind == "spans_by_type":
        payload = {spec.name(label): mentions for label, mentions in value.items()}
    elif spec.kind == "triples":
        payload = [{"relation": spec.name(r), "head": h, "tail": t} for r, h, t in value]
    elif spec.kind == "label":
        payload = {"answer": spec.name(value)}
    elif spec.kind == "labels":
        payload = {"answer": [spec.name(label) for label in value]}
    elif spec.kind in ("spans", "choices", "score", "text"):
        payload = {"answer": value}
    else:
        raise ValueError(f"unknown answer kind {spec.kind!r}")
    return json.dumps(payload, ensure_ascii=False)


# --------------------------------------------------------------------------------------------- parsing
def parse(
    spec: AnswerSpec, text: str, answer_format: str = "lines", *, strict: bool = False, choices: list[str] | None = None
) -> ParseResult:
    """Parse a model's answer text into the structure of ``spec`` (see the module doc for the modes).

    ``choices`` are the option texts of a multiple-choice question (lenient mode maps option text to its letter).
    """
    warnings: list[str] = []
    try:
        if answer_format == "json":
            value = _parse_json(spec, text, strict, warnings, choices or [])
        elif answer_format == "lines":
            value = PARSERS.get(spec.kind)(spec, text, strict, warnings, choices or [])
        else:
            raise _Fail(f"unknown answer format {answer_format!r}")
        value = canonical(spec, value)
        if strict:
            _check_layout(spec, value, text, answer_format)
        return ParseResult(value, True, "", tuple(warnings))
    except _Fail as failure:
        return ParseResult(None, False, str(failure), tuple(warnings))


def _check_layout(spec: AnswerSpec, value: Any, text: str, answer_format: str) -> None:
    """Strict mode: the text must be what the renderer writes for the value it parsed to (same order, no
    duplicates, same spacing; a JSON answer must hold the same data, whatever its whitespace)."""
    expected = render(spec, value, answer_format)
    if answer_format == "json":
        same = json.loads(expected) == json.loads(text)
    else:
        same = expected == (text if spec.kind == "text" else text.strip("\n"))
    if not same:
        raise _Fail(f"not the canonical layout {expected[:80]!r} (order, duplicates or spacing differ)")


def _lines(text: str, strict: bool) -> list[str]:
    if strict:
        return text.strip("\n").split("\n")
    lines = [strip_unescaped(_BULLET.sub("", line)) for line in text.replace("\r\n", "\n").split("\n")]
    return [line for line in lines if line and not set(line) <= set("`")]


@functools.lru_cache(maxsize=65536)  # label names, normalised again for every answer parsed
def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name).casefold()


def _label_of(spec: AnswerSpec, name: str, strict: bool) -> str | None:
    name = unescape(strip_unescaped(name))
    for label in spec.labels:
        if name == spec.name(label) or (not strict and _norm(name) in (_norm(spec.name(label)), _norm(label))):
            return label
    return None


def _split_strict(value: str, separator: str, gap: str) -> list[str]:
    """Split exactly as the renderer joined: ``separator + gap`` between escaped pieces."""
    pieces = split_unescaped(value, separator)
    for index, piece in enumerate(pieces[1:], start=1):
        if not piece.startswith(gap):
            raise _Fail(f"expected {separator + gap!r} between items in {value!r}")
        pieces[index] = piece[len(gap) :]
    return pieces


def _split_items(p: Punctuation, value: str, strict: bool) -> list[str]:
    """Items of a list value; the empty answer (``None`` / ``无``) is an empty list."""
    if strict:
        if value == p.none:
            return []
        pieces = _split_strict(value, p.list_sep, p.gap)
        if any(not piece or is_reserved(piece, p.none_words) for piece in pieces):
            raise _Fail(f"empty or reserved item in {value!r}")
        return [unescape(piece) for piece in pieces]
    items = []
    for piece in split_unescaped(value, ";；"):
        raw = strip_unescaped(piece)
        if raw and not is_reserved(raw.rstrip("。.") or raw, p.none_words):
            items.append(unescape(raw))
    return items


def _key_value(line: str, spec: AnswerSpec, strict: bool) -> tuple[str, str] | None:
    p = spec.punct
    if strict:
        marker = f"{p.kv}{p.gap}"
        key, sep, value = line.partition(marker)
        return (key, value) if sep else None
    match = _KV.match(line)
    return (match["key"], strip_unescaped(match["value"])) if match else None


def _labelled_lines(spec: AnswerSpec, text: str, strict: bool, warnings: list[str], shape: str) -> Iterator[tuple[str, str]]:
    """The (declared label, value) of every line of ``text`` written ``<label><kv> <value>``; any other line fails a
    strict parse (saying it is not ``shape``) and is ignored, with a warning, by a lenient one."""
    for line in _lines(text, strict):
        pair = _key_value(line, spec, strict)
        label = _label_of(spec, pair[0], strict) if pair else None
        if pair is None or label is None:
            if strict:
                raise _Fail(f"line {line!r} is not {shape}")
            warnings.append(f"ignored line {line[:60]!r}")
            continue
        yield label, pair[1]


def _parse_spans_by_type(spec: AnswerSpec, text: str, strict: bool, warnings: list[str], choices: list[str]) -> Any:
    found: dict[str, list[str]] = {label: [] for label in spec.labels}
    seen: set[str] = set()
    for label, value in _labelled_lines(spec, text, strict, warnings, f"'<type>{spec.punct.kv} <mentions>' for a declared type"):
        if label in seen and strict:
            raise _Fail(f"type {spec.name(label)!r} given twice")
        seen.add(label)
        found[label].extend(_split_items(spec.punct, value, strict))
    missing = [spec.name(label) for label in spec.labels if label not in seen]
    if missing and strict:
        raise _Fail(f"missing type line(s): {', '.join(missing)}")
    if not seen and not strict and not _is_none_answer(spec, text):
        raise _Fail("no '<type>: <mentions>' line for any declared type")
    return found


def _is_none_answer(spec: AnswerSpec, text: str) -> bool:
    stripped = text.strip().strip("。.!！")
    return any(stripped.casefold() == word.casefold() for word in spec.punct.none_words)


# --------------------------------------------------------------------------------------------- shared with KIND_CODECS kinds
def answer_lines(text: str, strict: bool) -> list[str]:
    """The lines of an answer: exactly as written (``strict``), or without bullets, numbering, blank lines, fences and
    unescaped blanks at either end (lenient)."""
    return _lines(text, strict)


def name_key(name: str) -> str:
    """The lenient comparison key of a name: no blanks, ``_`` or ``-``, case-folded."""
    return _norm(name)


def label_of(spec: AnswerSpec, name: str, strict: bool) -> str | None:
    """The label code ``name`` (escaped) stands for: its display name exactly (``strict``), or leniently its display
    name or code compared by :func:`name_key`; None when it names no label of ``spec``."""
    return _label_of(spec, name, strict)


def split_exact(value: str, separator: str, gap: str) -> list[str]:
    """``value`` split exactly as the renderer joins items (``separator + gap``, escapes kept); AnswerFailure otherwise."""
    return _split_strict(value, separator, gap)


def escape_value(p: Punctuation, text: str, pair: bool = False) -> str:
    """``text`` escaped as an item of a list (``pair``: of a bracketed pair or triple), as the renderers escape it."""
    return _esc(p, text, pair)


def is_none_answer(spec: AnswerSpec, text: str) -> bool:
    """Whether ``text`` is only a word for "nothing" (``None``, ``无``, ..., a final full stop allowed)."""
    return _is_none_answer(spec, text)


def _strip_prefix(spec: AnswerSpec, text: str, strict: bool) -> str:
    """The value after the answer keyword (``Answer: ...``); lenient mode finds it on any line."""
    if not spec.prefix:
        return text.strip("\n") if strict else text.strip()
    lines = _lines(text, strict)
    if strict:
        if len(lines) != 1:
            raise _Fail(f"expected one line '{spec.prefix}{spec.punct.kv} ...', got {len(lines)}")
        pair = _key_value(lines[0], spec, True)
        if pair is None or pair[0] != spec.prefix:
            raise _Fail(f"expected '{spec.prefix}{spec.punct.kv} ...', got {lines[0]!r}")
        return pair[1]
    keywords = {_norm(spec.prefix), _norm(spec.punct.answer), _norm(spec.punct.result), _norm(spec.punct.score)}
    for index, line in enumerate(lines):
        pair = _key_value(line, spec, False)
        if pair and _norm(pair[0]) in keywords:
            return pair[1] if pair[1] else (lines[index + 1] if index + 1 < len(lines) else "")
    return lines[0] if lines else ""


def _parse_spans(spec: AnswerSpec, text: str, strict: bool, warnings: list[str], choices: list[str]) -> Any:
    if strict:
        value = _strip_prefix(spec, text, True)
        if "\n" in value:
            raise _Fail("expected one line of mentions")
        return _split_items(spec.punct, value, True)
    if spec.prefix:
        return _split_items(spec.punct, _strip_prefix(spec, text, False), False)
    # No keyword (decomposed NER): one mention list per line, or one mention per (bulleted) line; a line
    # repeating the asked type or an answer keyword before a colon keeps only its value.
    keywords = _bare_keywords(spec)
    items = []
    for line in _lines(text, False):
        pair = _key_value(line, spec, False)
        items.extend(_split_items(spec.punct, pair[1] if pair and _norm(pair[0]) in keywords else line, False))
    return items


_PAIR = re.compile(r"[\[【(（<〈]((?:\\.|[^\]】)）>〉\\])*)[\]】)）>〉]")


def _parse_triples(spec: AnswerSpec, text: str, strict: bool, warnings: list[str], choices: list[str]) -> Any:
    if _is_none_answer(spec, text) and (not strict or text.strip("\n") == spec.punct.none):
        return []
    triples, recognized = [], False
    for label, value in _labelled_lines(spec, text, strict, warnings, f"'<relation>{spec.punct.kv} [head, tail]; ...'"):
        recognized = True
        raws = _split_strict(value, spec.punct.list_sep, spec.punct.gap) if strict else split_unescaped(value, ";；")
        for raw in raws:
            triple = _parse_pair(spec, raw, strict)
            if triple is None:
                stripped = strip_unescaped(raw)
                if stripped and not is_reserved(stripped.rstrip("。.") or stripped, spec.punct.none_words):
                    warnings.append(f"ignored pair {raw[:60]!r}")
                continue
            triples.append([label, *triple])
    if strict and not triples:
        raise _Fail("no triples and not the empty answer")
    if not recognized:
        raise _Fail("no '<relation>: [head, tail]' line for any declared relation")
    return triples


def _parse_pair(spec: AnswerSpec, raw: str, strict: bool) -> list[str] | None:
    """``[head, tail]`` -> [head, tail]; strict raises on anything else, lenient returns None."""
    p = spec.punct
    if strict:
        if not (raw.startswith("[") and raw.endswith("]")):
            raise _Fail(f"{raw!r} is not [head{p.pair_sep}{p.gap}tail]")
        parts = _split_strict(raw[1:-1], p.pair_sep, p.gap)
        if len(parts) != 2:
            raise _Fail(f"{raw!r} does not hold exactly two arguments")
        return [unescape(part) for part in parts]
    match = _PAIR.search(raw)
    parts = split_unescaped(match.group(1), ",，") if match else []
    if len(parts) != 2:
        return None
    return [unescape(strip_unescaped(part)) for part in parts]


def _match_label(spec: AnswerSpec, value: str, strict: bool) -> str | None:
    label = _label_of(spec, value, strict)
    if label is not None or strict:
        return label
    cleaned = value.strip().strip("。.!！\"'“”")
    label = _label_of(spec, cleaned, False)
    if label is not None:
        return label
    # a sentence that starts with a label name ("Yes, because ..."): the longest such name
    leading = sorted(
        ((len(name), lab) for lab in spec.labels for name in {spec.name(lab), lab} if _starts_with(cleaned, name)),
        reverse=True,
    )
    if leading:
        return leading[0][1]
    # a label name inside a longer sentence: the longest match wins (a name inside a longer label's match, e.g.
    # 疾病 inside 疾病分期, is not a second match); accepted only if exactly one label is left
    names = [(lab, name) for lab in spec.labels for name in {spec.name(lab), lab}]
    found = [(start, end, lab) for lab, name in names for start, end in _mention_spans(value, name)]
    hits = {lab for start, end, lab in found if not any(s <= start and end <= e and e - s > end - start for s, e, _ in found)}
    return hits.pop() if len(hits) == 1 else None


def _starts_with(text: str, name: str) -> bool:
    if not name:
        return False
    if has_cjk(name):
        return text.startswith(name)
    return _start_pattern(name).match(text) is not None


@functools.lru_cache(maxsize=65536)  # one per label name, not one per answer parsed
def _start_pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"{re.escape(name)}(?![\w])", re.IGNORECASE)


def _mention_spans(text: str, name: str) -> list[tuple[int, int]]:
    """Where ``text`` names ``name``, not negated ("不是", "非阳性", "not positive" do not name 是 / 阳性 / positive)."""
    if not name:
        return []
    return [match.span() for match in _mention_pattern(name).finditer(text)]


@functools.lru_cache(maxsize=65536)  # one per label name, not one per answer parsed
def _mention_pattern(name: str) -> re.Pattern[str]:
    if has_cjk(name):
        return re.compile(rf"(?<![不非没未无]){re.escape(name)}", re.IGNORECASE)
    return re.compile(rf"(?<![\w])(?<!\bnot )(?<!\bnon-)(?<!\bnon ){re.escape(name)}(?![\w])", re.IGNORECASE)


def _parse_label(spec: AnswerSpec, text: str, strict: bool, warnings: list[str], choices: list[str]) -> Any:
    value = _strip_prefix(spec, text, strict)
    label = _match_label(spec, value, strict)
    if label is None and not strict:
        label = _match_label(spec, text, False)
    if label is None:
        raise _Fail(f"{value[:80]!r} is not one of the labels")
    return label


def _parse_labels(spec: AnswerSpec, text: str, strict: bool, warnings: list[str], choices: list[str]) -> Any:
    value = _strip_prefix(spec, text, strict)
    labels = []
    items = _split_items(spec.punct, value if strict else value.replace("、", ";").replace(",", ";").replace("，", ";"), strict)
    for item in items:
        label = _match_label(spec, item, strict)
        if label is None:
            if strict:
                raise _Fail(f"{item!r} is not one of the labels")
            warnings.append(f"ignored label {item[:60]!r}")
            continue
        labels.append(label)
    if items and not labels:
        raise _Fail(f"{value[:80]!r} names none of the labels")
    return labels


_LETTER_TOKEN = re.compile(r"(?<![A-Za-z])[(（\[]?([A-Z])[)）\]]?(?![A-Za-z])")
_LETTER_JOIN = re.compile(r"\s*(?:[,，、/&+]|and|和|及|与)?\s*", re.IGNORECASE)  # between the letters of one answer
# "AB", "(ACE)", "AB. ...", "AB是...", "AC is right" — a block of letters followed by the end, sentence punctuation, a
# CJK character or a space; never by "-", a digit or a letter, and after a space never by a lower-case word other than
# a copula or "and"/"both", so acronyms ("ACE-inhibitors", "CD4 count", "ACE inhibitors") are not answer letters
_LETTER_BLOCK = re.compile(
    r"[(（\[]?([A-Z]{2,})[)）\]]?+"
    r"(?=$|\s++(?![a-z])|\s+(?:is|are|was|were|and|both)\b|[.。,，;；:：)）、]|[" + CJK_CHARACTERS + "])"
)
_FULL_WIDTH_LETTERS = str.maketrans({chr(0xFF21 + i): letter for i, letter in enumerate(LETTERS)})


def _parse_choices(spec: AnswerSpec, text: str, strict: bool, warnings: list[str], choices: list[str]) -> Any:
    value = _strip_prefix(spec, text, strict)
    letters = _letters(spec, choices)
    if strict:
        parts = _split_strict(value, spec.punct.pair_sep, spec.punct.gap)
        if not value or any(part not in letters for part in parts):
            raise _Fail(f"{value!r} is not option letters")
        return parts
    value = value.translate(_FULL_WIDTH_LETTERS)
    compact = value.strip().strip("。.!！")
    if compact and all(ch in letters for ch in compact) and len(compact) <= len(letters):
        return list(compact)
    normalized = _norm(compact)
    for letter, option in zip(letters, choices):
        if normalized and _norm(option.strip("。.")) == normalized:
            warnings.append("answer given as option text")
            return [letter]
    found = _answer_letters(value.split("\n")[0].strip(), letters)
    if found:
        return found
    raise _Fail(f"{value[:80]!r} names no option letter or option text")


def _answer_letters(line: str, letters: list[str]) -> list[str]:
    """The letters that stand as the answer in ``line``: a block of letters opening it ("AB. ..."), else the first
    option letter and the letters joined to it by list separators ("A, C", "A and C", "A、C"), never letters of
    the option text that follows ("C. Both A and B" is C)."""
    block = _LETTER_BLOCK.match(line)
    if block and len(set(block.group(1))) == len(block.group(1)) and all(ch in letters for ch in block.group(1)):
        return list(block.group(1))
    found: list[str] = []
    end = -1
    for match in _LETTER_TOKEN.finditer(line):
        if match.group(1) not in letters:
            continue
        if found and not _LETTER_JOIN.fullmatch(line[end : match.start()]):
            break
        found.append(match.group(1))
        end = match.end()
    return found


def _letters(spec: AnswerSpec, choices: list[str]) -> list[str]:
    """The option letters: the declared ones, else one per option text, else any letter."""
    return list(spec.labels) or list(LETTERS[: len(choices)] if choices else LETTERS)


def _parse_score(spec: AnswerSpec, text: str, strict: bool, warnings: list[str], choices: list[str]) -> Any:
    value = _strip_prefix(spec, text, strict)
    if strict:
        if not _STRICT_NUMBER.fullmatch(value):
            raise _Fail(f"{value!r} is not a number")
        return float(value)
    match = _NUMBER.search(value) or _NUMBER.search(text)
    if not match:
        raise _Fail(f"{value[:80]!r} holds no number")
    return float(match.group(0))


def _parse_text(spec: AnswerSpec, text: str, strict: bool, warnings: list[str], choices: list[str]) -> Any:
    return text if strict else text.strip()


for _kind, _parser in {
    "spans_by_type": _parse_spans_by_type,
    "spans": _parse_spans,
    "triples": _parse_triples,
    "label": _parse_label,
    "labels": _parse_labels,
    "choices": _parse_choices,
    "score": _parse_score,
    "text": _parse_text,
}.items():
    PARSERS.register(_kind)(_parser)


# --------------------------------------------------------------------------------------------- json
_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


def _parse_json(spec: AnswerSpec, text: str, strict: bool, warnings: list[str], choices: list[str]) -> Any:
    if spec.kind in CODECS:
        codec = CODECS.get(spec.kind)
        return codec.from_json(spec, _load_json(text, strict, codec.json_type), strict, warnings)
    payload = _load_json(text, strict, list if spec.kind == "triples" else dict)
    by_name = {spec.name(label): label for label in spec.labels}

    def lookup(name: Any) -> str | None:
        if strict:
            return by_name.get(name) if isinstance(name, str) else None
        return _label_of(spec, str(name), False)

    if spec.kind == "spans_by_type":
        if not isinstance(payload, dict):
            raise _Fail("expected a JSON object of type -> mentions")
        found: dict[str, list[str]] = {label: [] for label in spec.labels}
        ignored = 0
        for name, mentions in payload.items():
            label = lookup(name)
            if label is None or not isinstance(mentions, list) or not all(isinstance(m, str) for m in mentions):
                if strict:
                    raise _Fail(f"bad entry {name!r}")
                warnings.append(f"ignored entry {str(name)[:40]!r}")
                ignored += 1
                continue
            found[label].extend(mentions)
        if strict and set(payload) != set(by_name):
            raise _Fail("the object must list every declared type")
        if payload and ignored == len(payload):
            raise _Fail("no entry of the object names a declared type")
        return found
    if spec.kind == "triples":
        if not isinstance(payload, list):
            raise _Fail("expected a JSON list of {relation, head, tail}")
        triples = []
        for item in payload:
            label = lookup(item.get("relation")) if isinstance(item, dict) else None
            if label is None or not isinstance(item.get("head"), str) or not isinstance(item.get("tail"), str):
                if strict:
                    raise _Fail(f"bad triple {item!r}")
                warnings.append(f"ignored triple {str(item)[:60]!r}")
                continue
            triples.append([label, item["head"], item["tail"]])
        if payload and not triples:
            raise _Fail("no entry of the list is a {relation, head, tail} triple of a declared relation")
        return triples
    if not isinstance(payload, dict) or "answer" not in payload:
        raise _Fail('expected {"answer": ...}')
    answer = payload["answer"]
    if spec.kind == "label":
        label = lookup(answer) if strict or not isinstance(answer, str) else _match_label(spec, answer, False)
        if label is None:
            raise _Fail(f"{answer!r} is not one of the labels")
        return label
    if spec.kind == "labels":
        if not isinstance(answer, list):
            raise _Fail("expected a list of labels")
        labels = [lookup(name) for name in answer]
        if None in labels:
            raise _Fail(f"unknown label in {answer!r}")
        return labels
    if spec.kind == "score":
        if not strict and isinstance(answer, str):
            return _parse_score(spec, answer, False, warnings, choices)
        if not isinstance(answer, (int, float)) or isinstance(answer, bool):
            raise _Fail(f"{answer!r} is not a number")
        return float(answer)
    if spec.kind == "choices" and not strict:
        if isinstance(answer, list) and all(isinstance(a, str) for a in answer) and answer:
            answer = ", ".join(answer)
        if not isinstance(answer, str):
            raise _Fail("expected a list of option letters")
        return _parse_choices(spec, answer, False, warnings, choices)
    if spec.kind in ("spans", "choices"):
        if not isinstance(answer, list) or not all(isinstance(a, str) for a in answer):
            raise _Fail("expected a list of strings")
        if spec.kind == "choices" and (not answer or any(a not in _letters(spec, choices) for a in answer)):
            raise _Fail(f"{answer!r} are not option letters")
        return answer
    if not isinstance(answer, str):
        raise _Fail("expected a string answer")
    return answer


def _load_json(text: str, strict: bool, expected: type) -> Any:
    """The JSON payload; lenient mode takes the whole text if it is JSON, else the first ``expected`` value
    (object or list) found inside ```json fences, else anywhere in the text (else the first JSON value found)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        if strict:
            raise _Fail(f"not JSON: {exc.msg}") from None
    except RecursionError:
        raise _Fail("JSON nested too deeply") from None
    decoder = json.JSONDecoder()
    first: list[Any] = []
    for candidate in [match.group(1) for match in _FENCE.finditer(text)] + [text]:
        for index, char in enumerate(candidate):
            if char in "{[":
                try:
                    value = decoder.raw_decode(candidate, index)[0]
                except (json.JSONDecodeError, RecursionError):
                    continue
                if isinstance(value, expected):
                    return value
                first = first or [value]
    if first:
        return first[0]
    raise _Fail("no JSON object or list found")


# The kinds of their own modules register themselves (imported last: they build on this module).
from biohub.templates import answers_coref, answers_events, answers_norm, answers_ranking, answers_tree  # noqa: E402,F401,I001
