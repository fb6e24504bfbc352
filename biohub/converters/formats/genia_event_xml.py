"""GENIA event XML (GENIA_event_annotation 0.9): one PubMed abstract per file, terms inline, events after sentences.

A file is ``<Annotation>...<PMID/>...<ArticleTitle>`` and ``<AbstractText>`` holding ``<sentence id>`` elements
with inline, nestable ``<term sem id lex>`` mentions; each sentence is followed by its ``<event id>`` elements:
``<type class>``, argument elements (``<theme idref>``, ``<cause idref>``, ``<site>``, ``<product>``: option
``roles``) whose idrefs name terms or other events (nested events, anywhere in the abstract), and a ``<clue>``
copy of the sentence marking the trigger with ``<clueType>`` (several for a discontinuous trigger) and other clue
words (``<linkTheme>``, ``<clueLoc>``, ...). There are no character offsets: spans are recovered by walking the
mixed content (:func:`biohub.converters.sentence_xml.flatten`).

Each file becomes one ``kb`` record keyed by its PMID: the sentence texts joined by one space, one passage per
sentence; terms become entities typed by ``sem``; events become :class:`~biohub.schema.Event` s typed by their
class, with the trigger at the clue's ``clueType`` span(s) in their sentence and one argument per argument element
(role from ``roles``). An element with several idrefs (``idref``, ``idref1``, ...) names ONE mention made of parts
(terms, or the ``<frag>`` fragments of a ``<cons>`` coordination such as "monocytic ... cells"): it is built once
per abstract as a discontinuous entity typed as its parts are. An event's ``assertion`` / ``uncertainty`` become
:class:`~biohub.schema.Modification` s of it, as BioNLP ST's ``M`` lines (option ``modifications``: attribute ->
value -> type; by default ``non-exist`` -> ``Negation``, ``probable`` and ``doubtful`` -> ``Speculation``, the
BioNLP-ST 2009 reading of GENIA; a value mapped to "" is the attribute's default, ``exist`` / ``certain``, and makes
none), ids ``<record id>.m<n>`` in document order. What the schema has no field for is kept in meta, keyed by source
event id: ``event_attributes`` (any other attribute of an event), ``event_comments`` and ``event_clues`` (the other
clue words as ``[tag, start, end]`` document offsets, plus the element's attributes when it has any, e.g. the
``idref1`` of a ``corefTheme``). ``source_entity_ids`` / ``source_event_ids`` give the source ids.

Never a guess: a term without ``sem`` or with no text, an event without a class, without a trigger, whose clue text
is not its sentence's, whose argument names nothing kept (a missing id, or a term or event dropped itself), or that
is part of a cycle of nested events, is dropped as a defect, and the events that depend on a dropped event with it;
the modifications of a dropped event are dropped with it (``annotation refers to a missing annotation``), and a value
the ``modifications`` option does not list is dropped (``bad value``). The ledger counts what was read (entities:
terms and built mentions; events; modifications).
A file whose PMID was already read, or without sentences, is rejected. Files are parsed with
:func:`biohub.converters.base.parse_xml` (entity declarations refused; the DOCTYPE line is fine).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from biohub.converters.base import Item, ReadContext, Reader, expand_paths, parse_xml
from biohub.converters.problems import Reason, RecordRejected
from biohub.converters.registry import register
from biohub.converters.sentence_xml import flatten
from biohub.schema import Entity, Event, EventArgument, KBRecord, Modification, Passage, Span, Trigger

MAX_DEPTH = 32  # inline markup nested deeper than this is refused (the record is rejected)
IDREF = re.compile(r"idref\d*")  # an argument's referents: idref, idref1, idref2, ... (several make one composite)


@dataclass(slots=True)
class GeniaEventXmlOptions:
    """Args:
    passage_type: type of the sentence passages.
    roles: event child element -> argument role (children not listed, other than type/clue/comment, are ignored
        with a defect).
    trigger_tag: the clue element that marks the trigger words.
    modifications: event attribute -> its values -> the modification type each makes ("": the default value,
        no modification); a value not listed is dropped with a defect. Attributes not listed stay in meta.
    """

    passage_type: str = "sentence"
    roles: dict[str, str] = field(
        default_factory=lambda: {"theme": "Theme", "cause": "Cause", "site": "Site", "product": "Product"}
    )
    trigger_tag: str = "clueType"
    modifications: dict[str, dict[str, str]] = field(
        default_factory=lambda: {
            "assertion": {"exist": "", "non-exist": "Negation"},
            "uncertainty": {"certain": "", "probable": "Speculation", "doubtful": "Speculation"},
        }
    )


@dataclass(slots=True)
class _Event:
    """An event as read, before its arguments are resolved."""

    source_id: str
    type: str
    trigger: list[Span]
    trigger_text: list[str]
    arguments: list[tuple[str, tuple[str, ...]]]  # (role, source idrefs: one, or the parts of a composite)
    clues: list[list[object]]
    attributes: dict[str, str]
    comment: str
    modifications: list[str]  # the types of the modifications its attributes make


@dataclass(slots=True)
class _Doc:
    """What one abstract converts into."""

    key: str
    record_id: str
    path: Path
    text: list[str] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)
    entity_of: dict[str, str] = field(default_factory=dict)  # source term id -> entity id
    parts: dict[str, tuple[Span, str, str]] = field(default_factory=dict)  # term/cons/frag id -> (span, text, type)
    made: dict[tuple[str, ...], str] = field(default_factory=dict)  # referents built for arguments -> entity id
    source_entity_ids: list[str] = field(default_factory=list)
    events: dict[str, _Event] = field(default_factory=dict)  # source event id -> event, in document order
    items: list[Item] = field(default_factory=list)
    position: int = 0
    terms_read: int = 0
    events_read: int = 0
    modifications_read: int = 0

    def drop(self, ctx: ReadContext, where: str, reason: Reason, detail: str, unit: str) -> None:
        """Record one dropped annotation."""
        self.items.append(ctx.defect(self.path, where, reason, detail, self.key, annotation=unit))

    def drop_event(self, ctx: ReadContext, where: str, reason: Reason, detail: str, modifications: list[str]) -> None:
        """Record a dropped event, and the modifications its attributes made, dropped with it."""
        self.drop(ctx, where, reason, detail, "events")
        for kind in modifications:
            detail = f"{where}: {kind} of an event dropped itself ({reason.value})"
            self.drop(ctx, where, Reason.ANNOTATION_REFERS_TO_A_MISSING_ANNOTATION, detail, "modifications")


@register
class GeniaEventXmlReader(Reader):
    """Reads GENIA event XML abstracts into ``kb`` records of sentence passages, term entities and (nested) events."""

    name = "genia-event-xml"
    schema = "kb"
    description = "GENIA event XML (inline <term sem> mentions; <event> with type, theme/cause idrefs and a <clue> trigger)"
    Options = GeniaEventXmlOptions

    def read(self, paths: list[Path], ctx: ReadContext) -> Iterator[Item]:
        """One ``kb`` record (plus its defects) or rejection per ``*.xml`` file."""
        for path in expand_paths(paths, ".xml"):
            # a file names its abstract (PMID.xml): the stem places a rejection found before the PMID is read
            yield from self.rejecting(ctx, path, path.stem, partial(self._document, path, ctx), document_id=path.stem)

    def _document(self, path: Path, ctx: ReadContext) -> list[Item]:
        root = parse_xml(path)
        containers, pmid = _containers(root)
        key = pmid or path.stem
        earlier = ctx.read_before(key)
        if earlier is not None:
            raise RecordRejected(Reason.DUPLICATE_ID, f"PMID {key} already read in {earlier}", document_id=key)
        ctx.note_read(key, path.name)
        doc = _Doc(key, ctx.record_id(key), path)
        sentence_ids: list[str] = []
        for parent in containers:
            sentence: tuple[str, int] | None = None  # (text, offset) of the last sentence of this parent
            for child in parent:
                if child.tag == "sentence":
                    sentence = self._sentence(child, doc, ctx)
                    sentence_ids.append(child.get("id", ""))
                elif child.tag == "event":
                    self._event(child, sentence, doc, ctx)
        if not doc.passages:
            raise RecordRejected(Reason.NO_SENTENCES, f"{path.name} has no <sentence> elements", document_id=key)
        events = self._resolve(doc, ctx)
        ctx.count_read(
            key, entities=doc.terms_read + len(doc.made), events=doc.events_read, modifications=doc.modifications_read
        )
        kept = [doc.events[source_id] for source_id in events]
        modifications = [
            Modification(f"{doc.record_id}.m{n}", kind, event.id)
            for n, (kind, event) in enumerate(
                (kind, events[source.source_id]) for source in kept for kind in source.modifications
            )
        ]
        meta = {
            "source": {"path": path.name, "record": key},
            "sentence_ids": sentence_ids,
            "source_entity_ids": doc.source_entity_ids,
            "source_event_ids": [event.source_id for event in kept],
            "event_attributes": {e.source_id: e.attributes for e in kept if e.attributes},
            "event_comments": {e.source_id: e.comment for e in kept if e.comment},
            "event_clues": {e.source_id: e.clues for e in kept if e.clues},
        }
        record = KBRecord(
            **ctx.common(key, meta=meta),
            passages=doc.passages,
            entities=doc.entities,
            events=list(events.values()),
            modifications=modifications,
        )
        ctx.keep_raw(record.id, lambda: ET.tostring(root, encoding="unicode"))
        return [*doc.items, record]

    # ----------------------------------------------------------------------------------- sentences and terms
    def _sentence(self, sentence: ET.Element, doc: _Doc, ctx: ReadContext) -> tuple[str, int]:
        text, spans = flatten(sentence, MAX_DEPTH)
        base = doc.position
        passage_id = f"{doc.record_id}.p{len(doc.passages)}"
        doc.passages.append(Passage(passage_id, self.options.passage_type, [text], [(base, base + len(text))]))
        doc.position = base + len(text) + 1
        frag_types: dict[str, str] = {}
        for element, start, end in sorted(spans, key=lambda span: (span[1], -span[2])):
            where = element.get("id") or f"{sentence.get('id', '')} <{element.tag}> at {start}"
            if element.tag == "term":
                doc.terms_read += 1
                self._term(element, text[start:end], base + start, where, doc, ctx)
            elif element.tag in ("cons", "frag"):  # a coordination and its fragments: referents of composite arguments
                kind = _uniform(element.get("sem", "")) if element.tag == "cons" else frag_types.get(element.get("id", ""), "")
                frag_types.update({frag.get("id", ""): kind for frag in element.iter("frag")})
                span = _trimmed(text, start, end)
                if element.get("id") and span is not None:
                    doc.parts[element.get("id", "")] = ((base + span[0], base + span[1]), text[span[0] : span[1]], kind)
            else:
                detail = f"{where}: inline <{element.tag}> in a sentence is not a term (its text kept, its markup not)"
                doc.items.append(ctx.defect(doc.path, where, Reason.UNKNOWN_TAG, detail, doc.key))
        return text, base

    def _term(self, element: ET.Element, text: str, start: int, where: str, doc: _Doc, ctx: ReadContext) -> None:
        source_id, sem = element.get("id", ""), element.get("sem")
        if not source_id or not sem:
            return doc.drop(ctx, where, Reason.ENTITY_MISSING_ATTRIBUTE, f"{where}: term without id or sem", "entities")
        if source_id in doc.entity_of:
            return doc.drop(ctx, where, Reason.DUPLICATE_ANNOTATION_ID, f"term id {source_id} given twice", "entities")
        trimmed = text.strip()
        if not trimmed:
            return doc.drop(ctx, where, Reason.MALFORMED_MENTION, f"{source_id}: term without text", "entities")
        start += len(text) - len(text.lstrip())
        entity_id = f"{doc.record_id}.e{len(doc.entities)}"
        doc.entities.append(Entity(entity_id, sem, [trimmed], [(start, start + len(trimmed))]))
        doc.entity_of[source_id] = entity_id
        doc.parts[source_id] = ((start, start + len(trimmed)), trimmed, sem)
        doc.source_entity_ids.append(source_id)
        return None

    # ----------------------------------------------------------------------------------- events
    def _event(self, element: ET.Element, sentence: tuple[str, int] | None, doc: _Doc, ctx: ReadContext) -> None:
        doc.events_read += 1
        source_id = element.get("id", "")
        where = source_id or f"event {doc.events_read}"
        modifications, attributes = self._attributes(element, where, doc, ctx)
        drop = partial(doc.drop_event, ctx, where, modifications=modifications)
        if not source_id or source_id in doc.events or source_id in doc.entity_of:
            return drop(Reason.DUPLICATE_ANNOTATION_ID, f"{where}: event id missing or given twice")
        children = {child.tag: child for child in reversed(element)}  # the first child of each tag
        kind = children.get("type")
        event_type = "" if kind is None else kind.get("class", "")
        if not event_type:
            return drop(Reason.EVENT_WITHOUT_TYPE, f"{source_id}: <type> without a class")
        clue = children.get("clue")
        if sentence is None or clue is None:
            return drop(Reason.EVENT_WITHOUT_TRIGGER, f"{source_id}: no <clue>, or no <sentence> before the event")
        clue_text, spans = flatten(clue, MAX_DEPTH)
        text, base = sentence
        if clue_text != text:
            return drop(Reason.MENTION_TEXT_DISAGREES_WITH_ITS_OFFSETS, f"{source_id}: clue text is not its sentence's")
        marked = [_trimmed(text, s, e) for el, s, e in spans if el.tag == self.options.trigger_tag]
        trigger = sorted(span for span in marked if span is not None)
        if not trigger:
            return drop(Reason.EVENT_WITHOUT_TRIGGER, f"{source_id}: clue marks no <{self.options.trigger_tag}> words")
        clues: list[list[object]] = [
            [el.tag, base + s, base + e, *([dict(el.attrib)] if el.attrib else [])]
            for el, s, e in spans
            if el.tag != self.options.trigger_tag
        ]
        arguments = []
        for child in element:
            if child.tag in self.options.roles:
                refs = sorted((name for name in child.attrib if IDREF.fullmatch(name)), key=lambda name: (len(name), name))
                arguments.append((self.options.roles[child.tag], tuple(child.get(name, "") for name in refs)))
            elif child.tag not in ("type", "clue", "comment"):
                detail = f"{source_id}: <{child.tag}> is not an argument role (option roles)"
                doc.items.append(ctx.defect(doc.path, where, Reason.UNKNOWN_TAG, detail, doc.key))
        comment = " ".join(c.text or "" for c in element if c.tag == "comment").strip()
        offsets = [(base + s, base + e) for s, e in trigger]
        texts = [text[s:e] for s, e in trigger]
        doc.events[source_id] = _Event(
            source_id, event_type, offsets, texts, arguments, clues, attributes, comment, modifications
        )
        return None

    def _attributes(self, element: ET.Element, where: str, doc: _Doc, ctx: ReadContext) -> tuple[list[str], dict[str, str]]:
        """The modification types an event's attributes make (counted as read; a value the ``modifications`` option
        does not list is dropped) and its other attributes (for meta)."""
        modifications: list[str] = []
        others: dict[str, str] = {}
        for name, value in element.attrib.items():
            if name == "id":
                continue
            if name not in self.options.modifications:
                others[name] = value
                continue
            table = self.options.modifications[name]
            if table.get(value) == "":  # the attribute's default: no modification
                continue
            doc.modifications_read += 1
            if value not in table:
                detail = f"{where}: {name}={value!r} is none of {', '.join(map(repr, table))} (option modifications)"
                doc.drop(ctx, where, Reason.BAD_VALUE, detail, "modifications")
                continue
            modifications.append(table[value])
        return modifications, others

    def _resolve(self, doc: _Doc, ctx: ReadContext) -> dict[str, Event]:
        """The kept events by source id, their arguments resolved: an event naming something not kept is dropped,
        and so, in turn, every event naming it; events on a cycle of nested events are dropped too."""
        alive = dict(doc.events)
        for source_id in _on_cycles(alive):
            detail = f"{source_id} is part of a cycle of nested events"
            doc.drop_event(ctx, source_id, Reason.NESTED_EVENTS_FORM_A_CYCLE, detail, alive[source_id].modifications)
            del alive[source_id]
        changed = True
        while changed:
            changed = False
            for source_id, event in list(alive.items()):
                missing = [refs for _, refs in event.arguments if not _resolvable(refs, doc, alive)]
                if missing:
                    named = ", ".join("+".join(refs) or "(no idref)" for refs in missing)
                    detail = f"{source_id}: argument(s) {named} name no kept term or event (or parts of different types)"
                    doc.drop_event(ctx, source_id, Reason.EVENT_ARGUMENT_MISSING, detail, event.modifications)
                    del alive[source_id]
                    changed = True
        ids = {source_id: f"{doc.record_id}.v{n}" for n, source_id in enumerate(alive)}
        resolved: dict[str, Event] = {}
        for source_id, event in alive.items():
            arguments = [
                EventArgument(role, ids[refs[0]] if refs[0] in ids else _entity_for(refs, doc)) for role, refs in event.arguments
            ]
            resolved[source_id] = Event(ids[source_id], event.type, Trigger(event.trigger_text, event.trigger), arguments)
        return resolved


def _resolvable(refs: tuple[str, ...], doc: _Doc, alive: dict[str, _Event]) -> bool:
    """Whether an argument's idrefs name one kept event or term, or parts (terms, coordinations, fragments) of one
    type that together make one mention."""
    if len(refs) == 1 and (refs[0] in alive or refs[0] in doc.entity_of):
        return True
    kinds = {doc.parts[ref][2] if ref in doc.parts else "" for ref in refs}
    return bool(refs) and len(kinds) == 1 and "" not in kinds


def _entity_for(refs: tuple[str, ...], doc: _Doc) -> str:
    """The entity an argument names: a term's entity, or one built (once per document) from the parts it joins,
    one piece per part (overlapping parts merged), typed as the parts are."""
    if len(refs) == 1 and refs[0] in doc.entity_of:
        return doc.entity_of[refs[0]]
    key = tuple(sorted(set(refs)))
    if key not in doc.made:
        spans: list[tuple[Span, str]] = []
        for span, text in sorted(doc.parts[ref][:2] for ref in key):
            if spans and span[0] < spans[-1][0][1]:  # overlaps the piece before: extend that piece
                (start, end), previous = spans[-1]
                if span[1] > end:
                    spans[-1] = ((start, span[1]), previous + text[end - span[0] :])
                continue
            spans.append((span, text))
        entity_id = f"{doc.record_id}.e{len(doc.entities)}"
        doc.entities.append(Entity(entity_id, doc.parts[key[0]][2], [t for _, t in spans], [s for s, _ in spans]))
        doc.source_entity_ids.append("+".join(key))
        doc.made[key] = entity_id
    return doc.made[key]


def _uniform(sem: str) -> str:
    """The type of a coordination whose members are all of one type (``(AND Cell_natural Cell_natural)`` ->
    ``Cell_natural``), else ""."""
    words = sem.replace("(", " ").replace(")", " ").split()
    members = set(words[1:])
    return members.pop() if len(words) > 2 and len(members) == 1 else ""


def _containers(root: ET.Element) -> tuple[list[ET.Element], str]:
    """The elements holding sentences or events, in document order, and the text of the first ``<PMID>``; the walk
    does not enter sentences and events (their inline markup is read by :func:`flatten`)."""
    containers: list[ET.Element] = []
    pmid = ""
    stack = [root]
    while stack:
        element = stack.pop()
        if element.tag == "PMID" and not pmid:
            pmid = (element.text or "").strip()
        children = [child for child in element if child.tag not in ("sentence", "event")]
        if len(children) < len(element):
            containers.append(element)
        stack.extend(reversed(children))
    return containers, pmid


def _trimmed(text: str, start: int, end: int) -> Span | None:
    """The span ``[start, end)`` of ``text`` without blanks at its ends; None when nothing is left."""
    piece = text[start:end]
    if not piece.strip():
        return None
    start += len(piece) - len(piece.lstrip())
    return (start, start + len(piece.strip()))


def _on_cycles(events: dict[str, _Event]) -> list[str]:
    """The events (source ids, document order) that can reach themselves through event arguments."""
    edges = {key: [refs[0] for _, refs in event.arguments if refs and refs[0] in events] for key, event in events.items()}
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    cyclic: set[str] = set()
    for root in events:
        stack: list[tuple[str, int]] = [(root, 0)]
        path: list[str] = []
        while stack:
            node, index = stack.pop()
            if index == 0:
                if state.get(node) == 2:
                    continue
                state[node] = 1
                path.append(node)
            if index < len(edges[node]):
                stack.append((node, index + 1))
                target = edges[node][index]
                if state.get(target) == 1:
                    cyclic.update(path[path.index(target) :])
                elif state.get(target) is None:
                    stack.append((target, 0))
            else:
                state[node] = 2
                path.pop()
    return [source_id for source_id in events if source_id in cyclic]
