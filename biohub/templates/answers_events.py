"""The ``events`` answer kind: events with a type, a trigger and role-labelled arguments; nested events by number.

Value (the gold structure, JSON): a list of events ``[type code, trigger text, [[role code, argument], ...]]``; an
argument is an entity's text (a string) or another event of the list by its 1-based number (an int). An event with
modifications (BioNLP's Negation / Speculation, CHIP-CDEE's tendency 否定 / 不确定: the spec's ``modifiers``) has
their codes as a fourth item, ``[type, trigger, arguments, [modification code, ...]]``. Canonical form
(:func:`canonical_events`): each event after the events it refers to (an event is moved only behind the events it
needs; otherwise the order given is kept, document order for gold answers), equal events merged (same type,
trigger, argument set and modifications, nested events compared the same way), an argument repeated within an
event dropped, modifications distinct and in the spec's order (no fourth item when there is none).

Lines (English; Chinese uses ``：`` ``；`` and ``触发词``), one event per line, numbered in order, ``None`` / ``无``
when there is none::

    E1: Gene_expression; trigger: expression; Theme: IL-2
    E2: Positive_regulation; trigger: induces; Theme: E1; Cause: TRAF2; modification: Negation

A modification is one ``modification: <name>`` piece after the arguments (Chinese ``状态：否定``).

An entity text that would read as an event number (``E2``) or as "nothing" (``None``) is escaped (``\\E2``), as
are ``;`` / ``；`` inside a text, so every answer round-trips. JSON::

    [{"id": "E1", "type": "Gene_expression", "trigger": "expression", "arguments": [{"role": "Theme", "entity": "IL-2"}]},
     {"id": "E2", "type": "Positive_regulation", "trigger": "induces",
      "arguments": [{"role": "Theme", "event": "E1"}, {"role": "Cause", "entity": "TRAF2"}]}]

with ``"modifications": [names]`` in every event (an empty list for none) when the spec has modifiers.

Types, roles and modifications are shown by their display names (the spec's ``display``; roles and modifications
have names there too when the dataset's label file gives ``event_roles`` / ``event_modifications``). Lenient parsing
also takes the keywords of the other language, full-/half-width separators, ``Event 2`` / ``事件2`` for ``E2``,
modification codes in any case, bullets and lines that are no event (ignored, with a warning); a reference to an
event the answer does not define, or one that closes a cycle, is dropped with a warning, as is a modification the
answer's dataset does not have.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from biohub.templates.answer_words import every, words_for
from biohub.templates.answers import (
    CODECS,
    AnswerSpec,
    KindCodec,
    ParseFailure,
    answer_lines,
    escape_value,
    is_none_answer,
    label_of,
    name_key,
    split_exact,
)
from biohub.templates.escape import is_reserved, split_unescaped, strip_unescaped, unescape
from biohub.templates.registry import PARSERS

KIND = "events"
Event = list[Any]  # [type code, trigger text, [[role code, entity text | event number], ...](, [modification, ...])]

_LENIENT_NUMBER = re.compile(r"(?:e|event|事件)([0-9]+)", re.IGNORECASE)  # after name_key: "E2", "Event 2", "事件2"
_KV = re.compile(r"^(?P<key>[^:：\n]{1,80}?)\s*[:：]\s*(?P<value>.*)$", re.DOTALL)


# --------------------------------------------------------------------------------------------- canonical form
def canonical_events(spec: AnswerSpec, value: Any) -> list[Event]:
    """The canonical event list of ``value`` (see the module doc): referred events first, equal events merged.
    ``ValueError`` for a reference outside the list or a cycle (parsers never return those)."""
    events = [
        (str(event[0]), str(event[1]), [(str(role), arg) for role, arg in event[2]], modification_codes(spec, event))
        for event in value
    ]
    placed: dict[int, int] = {}  # index given -> index in the canonical list
    keys: dict[tuple[Any, ...], int] = {}
    out: list[Event] = []
    for root in range(len(events)):
        if root in placed:
            continue
        stack, on_path = [(root, 0)], {root}
        while stack:
            index, next_ref = stack.pop()
            refs = [arg - 1 for _, arg in events[index][2] if _is_number(arg)]
            if next_ref < len(refs):
                stack.append((index, next_ref + 1))
                ref = refs[next_ref]
                if not 0 <= ref < len(events) or ref in on_path:
                    raise ValueError(f"event {index + 1}: reference to event {ref + 1} is out of range or a cycle")
                if ref not in placed:
                    on_path.add(ref)
                    stack.append((ref, 0))
                continue
            on_path.discard(index)
            kind, trigger, given, modifications = events[index]
            args = list(dict.fromkeys((role, placed[arg - 1] + 1 if _is_number(arg) else str(arg)) for role, arg in given))
            key = (kind, trigger, frozenset(args), modifications)
            if key not in keys:
                keys[key] = len(out)
                event: Event = [kind, trigger, [list(arg) for arg in args]]
                out.append([*event, list(modifications)] if modifications else event)
            placed[index] = keys[key]
    return out


def modification_codes(spec: AnswerSpec, event: Event) -> tuple[str, ...]:
    """The distinct modification codes of an event (its fourth item, if any), in the spec's ``modifiers`` order (then
    as given)."""
    given = list(dict.fromkeys(str(code) for code in (event[3] if len(event) > 3 else ())))
    order = {code: index for index, code in enumerate(spec.modifiers)}
    return tuple(sorted(given, key=lambda code: (order.get(code, len(order)), given.index(code))))


def _is_number(arg: Any) -> bool:
    return isinstance(arg, int) and not isinstance(arg, bool)


# --------------------------------------------------------------------------------------------- rendering
def events_json(spec: AnswerSpec, value: list[Event]) -> list[dict[str, Any]]:
    """The JSON payload of the events (``value`` canonical)."""
    w = words_for(spec.punct)
    out = []
    for number, event in enumerate(value, start=1):
        kind, trigger, args = event[:3]
        item: dict[str, Any] = {
            "id": f"{w.event}{number}",
            "type": spec.name(kind),
            "trigger": trigger,
            "arguments": [
                {"role": spec.name(role), **({"event": f"{w.event}{arg}"} if _is_number(arg) else {"entity": arg})}
                for role, arg in args
            ],
        }
        if spec.modifiers:
            item["modifications"] = [spec.name(code) for code in modification_codes(spec, event)]
        out.append(item)
    return out


def render_events(spec: AnswerSpec, value: list[Event]) -> str:
    """The events as lines (``value`` canonical)."""
    p, w = spec.punct, words_for(spec.punct)
    if not value:
        return p.none
    joiner, lines = p.list_sep + p.gap, []
    for number, event in enumerate(value, start=1):
        kind, trigger, args = event[:3]
        pieces = [_kv(spec, f"{w.event}{number}", spec.name(kind)), _kv(spec, w.trigger, _escape(spec, trigger))]
        pieces += [_kv(spec, spec.name(role), f"{w.event}{arg}" if _is_number(arg) else _escape(spec, arg)) for role, arg in args]
        pieces += [_kv(spec, w.modification, spec.name(code)) for code in modification_codes(spec, event)]
        lines.append(joiner.join(pieces))
    return "\n".join(lines)


def _kv(spec: AnswerSpec, key: str, value: str) -> str:
    return f"{key}{spec.punct.kv}{spec.punct.gap}{value}"


def _escape(spec: AnswerSpec, text: str) -> str:
    """A trigger or entity text as a value: separators escaped, and a text that reads as an event number escaped."""
    escaped = escape_value(spec.punct, text)
    if _LENIENT_NUMBER.fullmatch(name_key(escaped)):
        escaped = "\\" + escaped
    return escaped


def example_events(spec: AnswerSpec, language: str) -> list[Event]:
    """The layout shown in format hints: two events (the second refers to the first, and has the spec's first
    modification when it has modifiers), placeholder words only, types from the spec (the asked type second, so that
    a decomposed example shows the type asked for at the top level). The words follow ``spec.punct`` (the language's
    punctuation), so ``language`` adds nothing here."""
    w = words_for(spec.punct)
    if not spec.labels:
        return []
    inner, outer = spec.labels[min(1, len(spec.labels) - 1)], spec.labels[0]
    first = [inner, f"{w.example_trigger}1", [[f"{w.example_role}1", f"{w.example_argument}1"]]]
    second = [outer, f"{w.example_trigger}2", [[f"{w.example_role}1", 1], [f"{w.example_role}2", f"{w.example_argument}2"]]]
    return [first, [*second, [spec.modifiers[0]]] if spec.modifiers else second]


# --------------------------------------------------------------------------------------------- parsing
@dataclass(slots=True)
class _Raw:
    """One event as written: its number (None when unnumbered), type, trigger, (role, is_reference, value) and
    modification codes."""

    number: int | None
    kind: str
    trigger: str
    args: list[tuple[str, bool, str]]
    modifications: list[str]


def parse_event_lines(spec: AnswerSpec, text: str, strict: bool, warnings: list[str], choices: list[str]) -> Any:
    """The events of a ``lines`` answer (see the module doc for what lenient parsing tolerates)."""
    if (text.strip("\n") == spec.punct.none) if strict else is_none_answer(spec, text):
        return []
    raw: list[_Raw] = []
    for line in answer_lines(text, strict):
        event = _strict_line(spec, line) if strict else _lenient_line(spec, line, warnings)
        if event is not None:
            raw.append(event)
    if not raw:
        raise ParseFailure("no event line ('E1: <type>; trigger: <words>; <role>: <argument>; ...')")
    return _resolve(raw, strict, warnings)


def _strict_line(spec: AnswerSpec, line: str) -> _Raw:
    p, w = spec.punct, words_for(spec.punct)
    marker = p.kv + p.gap
    pieces = [piece.partition(marker) for piece in split_exact(line, p.list_sep, p.gap)]
    if len(pieces) < 2 or any(not sep for _, sep, _ in pieces):
        raise ParseFailure(f"line {line[:60]!r} is not 'E<n>{marker}<type>{p.list_sep}{p.gap}{w.trigger}{marker}...'")
    (head, _, kind_name), (trigger_key, _, trigger) = pieces[0], pieces[1]
    number = _number(spec, head)
    kind = label_of(spec, kind_name, True)
    if number is None or kind is None or trigger_key != w.trigger or not trigger:
        raise ParseFailure(f"line {line[:60]!r} does not open with 'E<n>{marker}<type>' and '{w.trigger}{marker}<words>'")
    args, modifications = [], []
    for role, _, value in pieces[2:]:
        if not value or is_reserved(value, p.none_words):
            raise ParseFailure(f"empty argument {role!r} in {line[:60]!r}")
        if role == w.modification and spec.modifiers:
            code = _modifier_of(spec, value, True)
            if code is None:
                raise ParseFailure(f"unknown modification {value!r} in {line[:60]!r}")
            modifications.append(code)
        elif modifications:
            raise ParseFailure(f"argument {role!r} after a modification in {line[:60]!r}")
        else:
            args.append((_role_of(spec, role, True), _number(spec, value) is not None, value))
    return _Raw(number, kind, unescape(trigger), args, modifications)


def _modifier_of(spec: AnswerSpec, name: str, strict: bool) -> str | None:
    """The modification code written as ``name`` (its display name, or leniently its code or name in any case), or
    None when the spec has no such modification."""
    for code in spec.modifiers:
        if name == spec.name(code) or (not strict and name_key(name) in (name_key(spec.name(code)), name_key(code))):
            return code
    return None


def _number(spec: AnswerSpec, text: str) -> int | None:
    """The event number ``text`` is exactly as the renderer writes it (``E2``), else None."""
    event = words_for(spec.punct).event
    match = re.fullmatch(re.escape(event) + "([1-9][0-9]*)", text)
    return int(match.group(1)) if match else None


def _lenient_line(spec: AnswerSpec, line: str, warnings: list[str]) -> _Raw | None:
    pieces = [strip_unescaped(piece) for piece in split_unescaped(line, ";；")]
    pieces = [piece for piece in pieces if piece]
    head = _KV.match(pieces[0]) if pieces else None
    number_match = _LENIENT_NUMBER.fullmatch(name_key(head["key"])) if head else None
    if head and number_match:
        number: int | None = int(number_match.group(1))
        kind = label_of(spec, head["value"], False)
    else:  # an unnumbered event: "<type>; trigger: ..."
        number, kind = None, label_of(spec, pieces[0], False) if pieces else None
    if kind is None:
        warnings.append(f"ignored line {line[:60]!r}")
        return None
    trigger, args, triggers = "", [], {name_key(word) for word in every("trigger")}  # trigger: as written (escaped)
    modifications, modification_keys = [], {name_key(word) for word in every("modification")}
    for piece in pieces[1:]:
        pair = _KV.match(piece)
        if pair is None:
            warnings.append(f"ignored piece {piece[:40]!r} (no '<role>: ')")
            continue
        value = strip_unescaped(pair["value"])
        if name_key(pair["key"]) in triggers:
            if trigger:
                warnings.append(f"ignored a second trigger {piece[:40]!r}")
            trigger = trigger or value
        elif name_key(pair["key"]) in modification_keys and spec.modifiers:
            code = _modifier_of(spec, unescape(value).rstrip("。."), False)
            if code is None:
                warnings.append(f"ignored modification {value[:40]!r} (not one of the answer's)")
            else:
                modifications.append(code)
        elif value and not is_reserved(value.rstrip("。.") or value, spec.punct.none_words):
            reference = "\\" not in value and _LENIENT_NUMBER.fullmatch(name_key(value)) is not None
            args.append((_role_of(spec, pair["key"], False), reference, value))
    if not trigger:
        warnings.append(f"ignored event without a trigger {line[:60]!r}")
        return None
    return _Raw(number, kind, unescape(trigger), args, modifications)


def _role_of(spec: AnswerSpec, name: str, strict: bool) -> str:
    """The role code of a role written as ``name`` (its display name, or leniently its code in any case); a role the
    spec does not name is taken as written."""
    name = unescape(strip_unescaped(name))
    key = None if strict else name_key(name)
    for code, shown, keys in _roles(spec):
        if name == shown or (key is not None and key in keys):
            return code
    return name


_ROLE_TABLES: dict[int, tuple[AnswerSpec, list[tuple[str, str, tuple[str, str]]]]] = {}


def _roles(spec: AnswerSpec) -> list[tuple[str, str, tuple[str, str]]]:
    """The spec's roles in display order: (code, display name, their lenient keys), computed once per spec (the cache
    holds the spec itself, so its id cannot be reused while it is cached)."""
    cached = _ROLE_TABLES.get(id(spec))
    if cached is not None and cached[0] is spec:
        return cached[1]
    roles = [
        (code, shown, (name_key(shown), name_key(code)))
        for code, shown in spec.display.items()
        if code not in spec.labels and code not in spec.modifiers
    ]
    if len(_ROLE_TABLES) >= 256:
        _ROLE_TABLES.clear()
    _ROLE_TABLES[id(spec)] = (spec, roles)
    return roles


def _resolve(raw: list[_Raw], strict: bool, warnings: list[str]) -> list[Event]:
    """Event numbers -> positions: the value of the events as written. Strict: every reference resolves, no cycle;
    lenient: a reference to a number no event has, and one closing a cycle, are dropped with a warning."""
    position: dict[int, int] = {}
    for index, event in enumerate(raw):
        if event.number is not None:
            if event.number in position:
                if strict:
                    raise ParseFailure(f"event number {event.number} given twice")
                warnings.append(f"event number {event.number} given twice: references mean the first")
                continue
            position[event.number] = index
    events: list[Event] = []
    for event in raw:
        args: list[list[Any]] = []
        for role, reference, value in event.args:
            if not reference:
                args.append([role, unescape(value)])
                continue
            match = _LENIENT_NUMBER.fullmatch(name_key(value))
            target = position.get(int(match.group(1))) if match else None
            if target is None:
                if strict:
                    raise ParseFailure(f"argument {value!r} refers to no event of the answer")
                warnings.append(f"dropped argument {role}: {value} (no such event)")
                continue
            args.append([role, target + 1])
        item: Event = [event.kind, event.trigger, args]
        events.append([*item, list(dict.fromkeys(event.modifications))] if event.modifications else item)
    _break_cycles(events, strict, warnings)
    return events


def _break_cycles(events: list[Event], strict: bool, warnings: list[str]) -> None:
    """Drop (lenient) or refuse (strict) every event reference that closes a cycle (an event nested in itself)."""
    done: set[int] = set()
    for root in range(len(events)):
        if root in done:
            continue
        stack, on_path = [(root, 0)], {root}
        while stack:
            index, next_arg = stack.pop()
            args = events[index][2]
            if next_arg >= len(args):
                on_path.discard(index)
                done.add(index)
                continue
            stack.append((index, next_arg + 1))
            role, arg = args[next_arg]
            if not _is_number(arg) or arg - 1 in done:
                continue
            if arg - 1 in on_path:
                if strict:
                    raise ParseFailure(f"event {index + 1} refers to event {arg}, which contains it")
                warnings.append(f"dropped argument {role} of event {index + 1}: event {arg} contains it")
                args[next_arg] = [role, None]
                continue
            on_path.add(arg - 1)
            stack.append((arg - 1, 0))
    for event in events:
        event[2] = [arg for arg in event[2] if arg[1] is not None]


def parse_event_json(spec: AnswerSpec, payload: Any, strict: bool, warnings: list[str]) -> Any:
    """The events of a JSON answer: a list of ``{"id", "type", "trigger", "arguments": [{"role", "entity"|"event"}]}``."""
    if not isinstance(payload, list):
        raise ParseFailure("expected a JSON list of events")
    raw: list[_Raw] = []
    for item in payload:
        event = _json_event(spec, item, strict)
        if isinstance(event, str):
            if strict:
                raise ParseFailure(event)
            warnings.append(event)
            continue
        raw.append(event)
    if payload and not raw:
        raise ParseFailure("no item of the list is an event of a declared type with a trigger")
    return _resolve(raw, strict, warnings)


def _json_event(spec: AnswerSpec, item: Any, strict: bool) -> _Raw | str:
    """One event of a JSON answer, or why it is not one."""
    shown = str(item)[:60]
    keys = {"id", "type", "trigger", "arguments"} | ({"modifications"} if spec.modifiers else set())
    if not isinstance(item, dict) or (strict and set(item) != keys):
        return f"bad event {shown}"
    name = item.get("type")
    kind = label_of(spec, name, strict) if isinstance(name, str) else None
    trigger, given = item.get("trigger"), item.get("arguments", [])
    if kind is None or not isinstance(trigger, str) or not trigger or not isinstance(given, list):
        return f"ignored event {shown} (type, trigger or arguments missing)"
    if strict:
        number = _number(spec, item["id"]) if isinstance(item["id"], str) else None
        if number is None:
            return f"bad event id in {shown}"
    else:
        found = _LENIENT_NUMBER.fullmatch(name_key(str(item.get("id", ""))))
        number = int(found.group(1)) if found else None
    args = []
    for arg in given:
        keys = {"role", "entity"} if isinstance(arg, dict) and "entity" in arg else {"role", "event"}
        value = arg.get("entity", arg.get("event")) if isinstance(arg, dict) else None
        if not isinstance(arg, dict) or not isinstance(arg.get("role"), str) or not isinstance(value, str) or not value:
            if strict:
                return f"bad argument {str(arg)[:40]} in {shown}"
            continue
        if strict and set(arg) != keys:
            return f"bad argument {str(arg)[:40]} in {shown}"
        reference = "event" in arg and "entity" not in arg
        # an event reference is kept as written; an entity text is escaped so that _resolve reads it back as it is
        args.append((_role_of(spec, arg["role"], strict), reference, value if reference else _plain(value)))
    modifications = _json_modifications(spec, item.get("modifications", []) if spec.modifiers else [], strict)
    if isinstance(modifications, str):
        return f"{modifications} in {shown}"
    return _Raw(number, kind, trigger, args, modifications)


def _json_modifications(spec: AnswerSpec, given: Any, strict: bool) -> list[str] | str:
    """The modification codes of a JSON event's ``modifications`` (a list of names; leniently also one name, and
    names not of the spec skipped), or why they are not (strict)."""
    if isinstance(given, str) and not strict:
        given = [given]
    if not isinstance(given, list):
        return "bad modifications" if strict else []
    codes = []
    for name in given:
        code = _modifier_of(spec, name, strict) if isinstance(name, str) else None
        if code is None and strict:
            return f"unknown modification {str(name)[:40]!r}"
        if code is not None:
            codes.append(code)
    return codes


def _plain(text: str) -> str:
    """``text`` escaped so that :func:`unescape` gives it back (backslashes and line breaks)."""
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")


PARSERS.register(KIND)(parse_event_lines)
CODECS.register(KIND)(KindCodec(canonical_events, render_events, events_json, parse_event_json, example_events, list))
