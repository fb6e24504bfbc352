"""Event extraction metrics (also defined in the README's metric table).

An events answer (``biohub.templates.answers_events``) is a list of ``[type, trigger text, [[role, argument], ...]]``
whose arguments are entity texts or numbers of other events of the list, and whose fourth item, when present, lists
the event's modifications (Negation, Speculation; CHIP-CDEE's tendency). Per example, five sets of items are
compared (texts trimmed, otherwise exact):

- **trigger** items: (trigger text, event type);
- **argument** items: (trigger text, event type, role, argument), the argument being ``("entity", text)`` or, for a
  nested event, ``("event", its type, its trigger text)``;
- **event** items: an event's whole structure: its type, its trigger text and the set of its (role, argument) pairs,
  a nested event standing for its own whole structure, recursively. Two events are the same item exactly when the
  BioNLP shared tasks' *strict* matching (Kim et al. 2009: the same trigger, every argument the same, nested events
  matched recursively in the same way) would match them, with texts in place of character spans: an answer names
  texts, not offsets, so the same words at two places of a document are one item. Modifications play no part in
  it, as in the shared tasks' event scoring;
- **modification** items: (modification type, the modified event's whole structure): right when the type is right
  and the modified event matches strictly, as the BioNLP shared tasks score negation and speculation (task 3);
- **event_mod** items: an event's whole structure together with the set of its modifications: the event is right
  only with every argument and exactly its modifications. For CHIP-CDEE this is PromptCBLUE's definition (an
  event counts when its core_name, tendency, character and anatomy lists all match), except that argument lists
  are compared as sets (PromptCBLUE compares the lists in the order written).

Micro P/R/F1 sum TP, FP and FN over the examples (:func:`biohub.eval.metrics.set_prf`); an answer that did not parse
predicts nothing. ``types`` keeps the items of events of those types (a decomposed example's asked type; events of
other types still count inside the structure of an event that contains them).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any

from biohub.eval.metrics import Item, Items, set_prf

Events = Sequence[Sequence[Any]]  # [[type, trigger, [[role, entity text | event number], ...]], ...]
UNITS = ("event", "trigger", "argument", "modification", "event_mod")


def _is_number(arg: Any) -> bool:
    return isinstance(arg, int) and not isinstance(arg, bool)


def signatures(events: Events) -> list[tuple[Any, ...]]:
    """The whole structure of every event (type, trigger text, frozenset of (role, argument)), a nested event standing
    for its own structure; ``ValueError`` for a reference outside the list or a cycle."""
    done: dict[int, tuple[Any, ...]] = {}
    for root in range(len(events)):
        stack = [root]
        while stack:
            index = stack[-1]
            if index in done:
                stack.pop()
                continue
            kind, trigger, args = events[index][:3]
            pending = [arg - 1 for _, arg in args if _is_number(arg) and arg - 1 not in done]
            if any(not 0 <= ref < len(events) or ref in stack for ref in pending):
                raise ValueError(f"event {index + 1}: a nested event is out of range or contains it")
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            parts = frozenset(
                (str(role), done[arg - 1] if _is_number(arg) else ("entity", str(arg).strip())) for role, arg in args
            )
            done[index] = (str(kind), str(trigger).strip(), parts)
    return [done[index] for index in range(len(events))]


def event_items(events: Events | None, types: Collection[str] | None = None) -> dict[str, Items]:
    """The items of every unit of one answer (None: nothing), of the events of ``types`` (all: None)."""
    items: dict[str, Items] = {unit: set() for unit in UNITS}
    if not events:
        return items
    structures = signatures(events)
    for event, structure in zip(events, structures):
        kind, trigger, args = event[:3]
        if types is not None and kind not in types:
            continue
        trigger_text = str(trigger).strip()
        modifications = frozenset(str(code) for code in (event[3] if len(event) > 3 else ()))
        items["event"].add(structure)
        with_modifications: tuple[Any, ...] = (*structure, modifications)  # (type, trigger, arguments, modifications)
        items["event_mod"].add(with_modifications)
        items["modification"].update((code, *structure) for code in modifications)
        items["trigger"].add((trigger_text, str(kind)))
        for role, arg in args:
            if _is_number(arg):
                nested = structures[arg - 1]
                argument: Item = ("event", nested[0], nested[1])
            else:
                argument = ("entity", str(arg).strip())
            items["argument"].add((trigger_text, str(kind), str(role), *argument))
    return items


def event_scores(examples: Iterable[tuple[Events, Events | None, Collection[str] | None]]) -> dict[str, float]:
    """Micro P/R/F1 and TP/FP/FN of events, triggers and arguments over (gold, predicted, types) per example, named
    ``<value>_<unit>`` (``f1_event``, ``precision_trigger``, ``tp_argument``, ...)."""
    pairs: dict[str, list[tuple[Items, Items]]] = {unit: [] for unit in UNITS}
    for gold, predicted, types in examples:
        gold_items, predicted_items = event_items(gold, types), event_items(predicted, types)
        for unit in UNITS:
            pairs[unit].append((gold_items[unit], predicted_items[unit]))
    return {f"{name}_{unit}": value for unit in UNITS for name, value in set_prf(pairs[unit]).items()}
