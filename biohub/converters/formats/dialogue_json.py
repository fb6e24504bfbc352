"""Dialogues in a JSON array (or JSON Lines) of objects, one dialogue per object.

Three shapes, chosen by the options:

* ``fields``: a mapping role -> field name, in turn order (e.g. ``{user: medical_case, assistant:
  doctor_diagnosis}``): each named field gives one turn of that role (``system``, ``user`` or ``assistant``).
* ``turns_field``: the name of a field holding a list of ``{role_key: ..., content_key: ...}`` turns; the
  source's role names are mapped by ``roles`` (e.g. ``{patient: user, doctor: assistant}``; a role already
  named ``system``/``user``/``assistant`` maps to itself).
* ``inline_field``: the name of a field holding the whole history as one string with role markers (BenTsao's
  ``" <user>: ... <bot>: ... <user>: ..."``); ``markers`` maps each marker to its role (e.g. ``{"<user>:": user,
  "<bot>:": assistant}``); ``reply_field``, when set, names a field holding one more ``assistant`` turn (the
  reference reply, e.g. ``output``). The string must start with a marker (blanks aside); each turn is the text up
  to the next marker, stripped. Text before the first marker is rejected (``bad conversation``).

The record key is the object's ``id_field`` (``<file stem>-<index>`` when ``id_field`` is empty); every
field not used for the id or the turns goes to ``meta.fields``. A dialogue that ends with an assistant turn
is labelled (the last turn is the reference reply). Rejected with its locator and reason: a missing field,
an empty turn, a role that cannot be mapped, a repeated id. ``role_key``, ``content_key`` and ``roles`` are
only read with ``turns_field``, ``markers`` and ``reply_field`` only with ``inline_field``; setting them in
another mode is an options error.

The raw source text of a record (``ReadContext.keep_raw``) is its object, ``json.dumps(obj, ensure_ascii=False)``
(keys in file order).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from biohub.converters.base import Item, ReadContext, Reader, expand_paths, iter_json_records
from biohub.converters.json_items import is_json_array
from biohub.converters.problems import Reason, RecordRejected
from biohub.converters.registry import register
from biohub.schema import ROLES, DialogueRecord, Turn

# the options only the turns_field shape reads, with their defaults
_TURNS_OPTIONS: dict[str, object] = {"role_key": "role", "content_key": "content", "roles": {}}
# the options only the inline_field shape reads, with their defaults
_INLINE_OPTIONS: dict[str, object] = {"markers": {}, "reply_field": ""}


@dataclass(slots=True)
class DialogueOptions:
    """``fields`` (role -> field, in turn order), ``turns_field`` (+ ``role_key``, ``content_key``, ``roles``:
    source role -> system/user/assistant) or ``inline_field`` (+ ``markers``: marker -> role, ``reply_field``): see
    the module doc. ``id_field``: the field holding the record key (empty: ``<file stem>-<index>``)."""

    fields: dict[str, str] = field(default_factory=dict)
    turns_field: str = ""
    role_key: str = "role"
    content_key: str = "content"
    roles: dict[str, str] = field(default_factory=dict)
    id_field: str = "id"
    inline_field: str = ""
    markers: dict[str, str] = field(default_factory=dict)
    reply_field: str = ""

    def __post_init__(self) -> None:
        if [bool(self.fields), bool(self.turns_field), bool(self.inline_field)].count(True) != 1:
            raise ValueError("give exactly one of fields (role -> field), turns_field or inline_field")
        chosen = "fields" if self.fields else "turns_field" if self.turns_field else "inline_field"
        for mode, options in (("turns_field", _TURNS_OPTIONS), ("inline_field", _INLINE_OPTIONS)):
            if mode != chosen:
                ignored = [name for name, default in options.items() if getattr(self, name) != default]
                if ignored:
                    raise ValueError(f"{', '.join(ignored)}: only read with {mode}; {chosen} mode would ignore them")
        if self.inline_field and (not self.markers or not all(self.markers)):
            raise ValueError("markers: inline_field needs a mapping of non-empty marker strings to roles")
        for role in [*self.fields, *self.roles.values(), *self.markers.values()]:
            if role not in ROLES:
                raise ValueError(f"role {role!r} is not one of {', '.join(ROLES)}")


@register
class DialogueJsonReader(Reader):
    """Reads dialogue objects (JSON array or JSON Lines) into ``dialogue`` records, turns from role fields or a turn list."""

    name = "dialogue-json"
    schema = "dialogue"
    description = "JSON array / JSON Lines of dialogues: role -> field mapping or a list of role/content turns"
    Options = DialogueOptions

    def read(self, paths: list[Path], ctx: ReadContext) -> Iterator[Item]:
        """One ``dialogue`` record or rejection per object of every file, in file order."""
        for path in expand_paths(paths, ".json"):
            array = is_json_array(path)
            for locator, obj in iter_json_records(path):
                where = f"[{locator}]" if array else f"line {locator}"
                convert = partial(self._dialogue, path, locator, where, obj, ctx)
                yield from self.rejecting(ctx, path, locator, convert, prefix=f"{where}: ")

    def _dialogue(self, path: Path, locator: int, where: str, obj: Any, ctx: ReadContext) -> DialogueRecord:
        """The record of the object at ``locator`` (``where``); a problem with its key is rejected at ``locator``, a
        repeated key (one read before and converted) or a problem with its turns at the key."""
        key = self._key(path, locator, obj)
        if (first := ctx.read_before(key)) is not None:
            raise RecordRejected(Reason.DUPLICATE_ID, f"id {key} already read at {first}", locator=key, document_id=key)
        try:
            record = self._convert(path, key, obj, ctx)
        except RecordRejected as problem:
            raise RecordRejected(problem.reason, problem.detail, locator=key, document_id=key) from None
        ctx.note_read(key, f"{path.name} {where}")
        return record

    def _key(self, path: Path, locator: int, obj: Any) -> str:
        if not isinstance(obj, dict):
            raise RecordRejected("not a JSON object", f"found a {type(obj).__name__}")
        if not self.options.id_field:
            return f"{path.stem}-{locator}"
        if obj.get(self.options.id_field) in (None, ""):
            raise RecordRejected("missing field", f"no {self.options.id_field}")
        return str(obj[self.options.id_field])

    def _convert(self, path: Path, key: str, obj: dict[str, Any], ctx: ReadContext) -> DialogueRecord:
        opts = self.options
        turns = self._turns(obj)
        used = {opts.id_field, opts.turns_field, opts.inline_field, opts.reply_field, *opts.fields.values()}
        meta = {"fields": {k: v for k, v in obj.items() if k not in used}, "source": {"path": path.name, "record": key}}
        labeled = turns[-1].role == "assistant"
        record = DialogueRecord(**ctx.common(key, labeled=labeled, meta=meta), turns=turns)
        ctx.keep_raw(record.id, lambda: json.dumps(obj, ensure_ascii=False))
        return record

    def _turns(self, obj: dict[str, Any]) -> list[Turn]:
        opts = self.options
        if opts.fields:
            missing = [name for name in opts.fields.values() if name not in obj]
            if missing:
                raise RecordRejected("missing field", f"no {', '.join(missing)}")
            pairs = [(role, obj[name], name) for role, name in opts.fields.items()]
        elif opts.inline_field:
            pairs = self._inline_turns(obj)
        else:
            raw = obj.get(opts.turns_field)
            if not isinstance(raw, list) or not raw:
                raise RecordRejected("missing field", f"no {opts.turns_field} list")
            pairs = []
            for n, turn in enumerate(raw):
                if not isinstance(turn, dict) or opts.role_key not in turn or opts.content_key not in turn:
                    raise RecordRejected("bad turn", f"{opts.turns_field}[{n}] needs {opts.role_key} and {opts.content_key}")
                source_role = str(turn[opts.role_key])
                role = opts.roles.get(source_role, source_role)
                if role not in ROLES:
                    raise RecordRejected("unknown role", f"{opts.turns_field}[{n}]: role {source_role!r} has no mapping")
                pairs.append((role, turn[opts.content_key], f"{opts.turns_field}[{n}]"))
        turns = []
        for role, content, name in pairs:
            if not isinstance(content, str) or not content.strip():
                raise RecordRejected("empty turn", f"{name} is {content!r}")
            turns.append(Turn(role, content.strip()))
        return turns

    def _inline_turns(self, obj: dict[str, Any]) -> list[tuple[str, Any, str]]:
        """(role, content, where) of each turn of the ``inline_field`` string, then of the ``reply_field``."""
        opts = self.options
        for name in (opts.inline_field, opts.reply_field):
            if name and name not in obj:
                raise RecordRejected("missing field", f"no {name}")
        history = obj[opts.inline_field]
        if not isinstance(history, str):
            raise RecordRejected("bad field type", f"{opts.inline_field} is a {type(history).__name__}, expected a string")
        pattern = "|".join(re.escape(marker) for marker in sorted(opts.markers, key=len, reverse=True))
        parts = re.split(f"({pattern})", history)
        if parts[0].strip():
            detail = f"{opts.inline_field} starts with {parts[0].strip()[:40]!r}, not with a marker ({', '.join(opts.markers)})"
            raise RecordRejected("bad conversation", detail)
        pairs: list[tuple[str, Any, str]] = [
            (opts.markers[marker], content, f"{opts.inline_field} turn {n}")
            for n, (marker, content) in enumerate(zip(parts[1::2], parts[2::2]))
        ]
        if opts.reply_field:
            pairs.append(("assistant", obj[opts.reply_field], opts.reply_field))
        if not pairs:
            raise RecordRejected("empty turn", f"{opts.inline_field} holds no turn")
        return pairs
