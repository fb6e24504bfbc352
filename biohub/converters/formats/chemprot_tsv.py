"""Original BioCreative VI ChemProt TSVs: abstracts, entities and relations of one split.

* ``*abstracts*.tsv``: ``PMID<TAB>title<TAB>abstract``, one abstract per line;
* ``*entities*.tsv``: ``PMID<TAB>Tn<TAB>type<TAB>start<TAB>end<TAB>text`` (CHEMICAL / GENE-Y / GENE-N), end-exclusive
  offsets into title + one separator character + abstract;
* ``*relations*.tsv``: ``PMID<TAB>CPR:n<TAB>Y|N<TAB>label<TAB>Arg1:Tn<TAB>Arg2:Tm`` (optional file).

The files are told apart by these words in their names; a ``.tsv`` file whose name holds none of them (or
more than one) is a :class:`ConvertError` naming it, never silently skipped.

Each abstract becomes a ``kb`` record: passages ``title`` at 0 and ``abstract`` at len(title) + 1, one entity
per entity line, and one relation per evaluated (``Y``) relation, typed by its fine label (``relation_type:
label``) or its CPR group (``group``). Relations of non-evaluated groups (``N``) are kept in
``meta.unevaluated_relations`` unless ``evaluated_only`` is off.

``truncated_files`` is for a distribution whose entity/relation files were cut off (the last PMID group of
each file may be incomplete, and an abstract absent from a file may have lost its lines): then an abstract is
rejected, with the reason, when its entities or relations are absent or possibly cut, or when its entity list
is visibly incomplete (ids not T1..Tn, or a relation naming an entity that is not listed). Without it, an
abstract absent from the annotation files simply has no annotations, and a relation naming an unknown entity is
a dropped annotation (defect). An entity line repeating an entity id of its PMID is dropped (defect ``duplicate
annotation id``); the first line with that id is kept.

The raw source text of a record (``ReadContext.keep_raw``) is the abstract's line, then its entity lines, then its
relation lines, each as written, joined by ``\n``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal, overload

from biohub.converters.base import ConvertError, Item, ReadContext, Reader, expand_paths, read_lines
from biohub.converters.problems import RecordRejected
from biohub.converters.registry import register
from biohub.schema import Entity, KBRecord, Passage, Relation

_ARG = re.compile(r"^Arg[12]:(T\d+)$")
_ROLES = ("abstracts", "entities", "relations")


@dataclass(slots=True)
class ChemprotTsvOptions:
    """``truncated_files``: see the module doc; ``evaluated_only``: only ``Y`` relations become relations;
    ``relation_type``: ``label`` (fine label, e.g. INHIBITOR) or ``group`` (e.g. CPR:4); ``encoding``."""

    truncated_files: bool = False
    evaluated_only: bool = True
    relation_type: str = "label"
    encoding: str = "utf-8"

    def __post_init__(self) -> None:
        if self.relation_type not in ("label", "group"):
            raise ValueError(f"relation_type: expected label or group, got {self.relation_type!r}")


@dataclass(slots=True)
class _Group:
    """The lines of one PMID in an annotation file."""

    rows: list[tuple[int, list[str]]] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)  # the rows' lines, verbatim
    last: bool = False


@dataclass(slots=True)
class _Annotations:
    path: Path | None
    groups: dict[str, _Group] = field(default_factory=dict)
    bad: dict[str, str] = field(default_factory=dict)


@register
class ChemprotTsvReader(Reader):
    """Reads one split's ChemProt abstracts, entities and relations TSVs into two-passage ``kb`` records, one per PMID."""

    name = "chemprot-tsv"
    schema = "kb"
    description = "BioCreative VI ChemProt abstracts/entities/relations TSVs (one set per split)"
    Options = ChemprotTsvOptions

    def read(self, paths: list[Path], ctx: ReadContext) -> Iterator[Item]:
        """One ``kb`` record (plus its annotation defects) or rejection per abstract line, in file order."""
        files = expand_paths(paths, ".tsv")
        _check_roles(files)
        abstracts = _role(files, "abstracts", required=True)
        entities = self._annotations(_role(files, "entities", required=True), 6)
        relations = self._annotations(_role(files, "relations", required=False), 6)
        for line, raw in enumerate(read_lines(abstracts, self.options.encoding), start=1):
            if not raw.strip():
                continue
            fields = raw.split("\t")
            pmid = fields[0].strip()
            if len(fields) != 3:
                detail = f"line {line}: {len(fields)} columns, expected 3"
                yield ctx.reject(abstracts, line, "wrong column count", detail, document_id=pmid or None)
                continue
            if ctx.read_before(pmid) is not None:
                yield ctx.reject(abstracts, line, "duplicate PMID", f"line {line}: PMID {pmid} already read", document_id=pmid)
                continue
            ctx.note_read(pmid)
            convert = partial(self._abstract, abstracts, line, raw, pmid, fields[1], fields[2], entities, relations, ctx)
            yield from self.rejecting(ctx, abstracts, line, convert, document_id=pmid, prefix=f"PMID {pmid}: ")
        for table in (entities, relations):
            for pmid, group in table.groups.items():
                if ctx.read_before(pmid) is None:
                    first = group.rows[0][0]
                    detail = f"line {first}: {len(group.rows)} line(s) for PMID {pmid}, which has no abstract"
                    yield ctx.reject(table.path or "", first, "annotations without abstract", detail, document_id=pmid)

    def _annotations(self, path: Path | None, columns: int) -> _Annotations:
        result = _Annotations(path)
        if path is None:
            return result
        previous = None
        for line, text in enumerate(read_lines(path, self.options.encoding), start=1):
            if not text.strip():
                continue
            parts = [p.strip() for p in text.split("\t")]
            pmid = parts[0]
            if len(parts) != columns:
                result.bad.setdefault(pmid, f"{path.name} line {line}: {len(parts)} columns, expected {columns}")
                continue
            group = result.groups.setdefault(pmid, _Group())
            group.rows.append((line, parts))
            group.texts.append(text)
            previous = pmid
        if previous is not None:
            result.groups[previous].last = True
        return result

    # ----------------------------------------------------------------------------------- abstracts
    def _abstract(
        self,
        path: Path,
        line: int,
        raw: str,
        pmid: str,
        title: str,
        abstract: str,
        entities: _Annotations,
        relations: _Annotations,
        ctx: ReadContext,
    ) -> Iterator[Item]:
        """The record of the abstract line ``raw`` (line ``line`` of ``path``) and its defects; raises
        :class:`RecordRejected` when its annotations are broken or not known to be whole."""
        self._check_complete(pmid, entities, relations)
        record_id = ctx.record_id(pmid)
        text = f"{title} {abstract}"
        defects: list[Item] = []
        kept: dict[str, str] = {}
        entity_list: list[Entity] = []
        read_ids: set[str] = set()
        for eline, (_, tid, etype, start, end, mention) in self._rows(entities, pmid):
            where = f"{entities.path.name if entities.path else ''}:{eline}"
            if tid in read_ids:
                detail = f"{where}: entity id {tid} of PMID {pmid} given again"
                defects.append(ctx.defect(entities.path or path, eline, "duplicate annotation id", detail, document_id=pmid))
                continue
            read_ids.add(tid)
            if not (start.isdigit() and end.isdigit()) or not 0 <= int(start) < int(end) <= len(text):
                detail = f"{where}: {tid} {start}-{end}"
                defects.append(ctx.defect(entities.path or path, eline, "offsets out of range", detail, document_id=pmid))
                continue
            if text[int(start) : int(end)] != mention:
                detail = f"{where}: {tid} {mention!r} != {text[int(start):int(end)]!r}"
                reason = "mention text disagrees with its offsets"
                defects.append(ctx.defect(entities.path or path, eline, reason, detail, document_id=pmid))
                continue
            kept[tid] = f"{record_id}.e{len(entity_list)}"
            entity_list.append(Entity(kept[tid], etype, [mention], [(int(start), int(end))]))
        relation_list: list[Relation] = []
        unevaluated: list[dict[str, str]] = []
        for rline, (_, group, evaluated, label, arg1, arg2) in self._rows(relations, pmid):
            a1, a2 = _ARG.match(arg1), _ARG.match(arg2)
            ids = (kept.get(a1.group(1)) if a1 else None, kept.get(a2.group(1)) if a2 else None)
            if ids[0] is None or ids[1] is None:
                detail = f"line {rline}: {arg1} / {arg2} is not a kept entity of PMID {pmid}"
                defects.append(ctx.defect(relations.path or path, rline, "relation argument missing", detail, document_id=pmid))
                continue
            rtype = label if self.options.relation_type == "label" else group
            if self.options.evaluated_only and evaluated != "Y":
                unevaluated.append({"group": group, "label": label, "arg1_id": ids[0], "arg2_id": ids[1]})
                continue
            relation_list.append(Relation(f"{record_id}.r{len(relation_list)}", rtype, ids[0], ids[1]))
        yield from defects
        meta: dict[str, Any] = {"source": {"path": path.name, "line": line}}
        if unevaluated:
            meta["unevaluated_relations"] = unevaluated
        record = KBRecord(
            **ctx.common(pmid, meta=meta),
            passages=[
                Passage(f"{record_id}.p0", "title", [title], [(0, len(title))]),
                Passage(f"{record_id}.p1", "abstract", [abstract], [(len(title) + 1, len(text))]),
            ],
            entities=entity_list,
            relations=relation_list,
        )
        ctx.keep_raw(record.id, lambda: "\n".join([raw, *self._texts(entities, pmid), *self._texts(relations, pmid)]))
        yield record

    @staticmethod
    def _rows(annotations: _Annotations, pmid: str) -> list[tuple[int, list[str]]]:
        group = annotations.groups.get(pmid)
        return group.rows if group else []

    @staticmethod
    def _texts(annotations: _Annotations, pmid: str) -> list[str]:
        group = annotations.groups.get(pmid)
        return group.texts if group else []

    def _check_complete(self, pmid: str, entities: _Annotations, relations: _Annotations) -> None:
        """Raise :class:`RecordRejected` when the abstract's annotations are broken or (for truncated files) not known
        to be whole."""
        for table in (entities, relations):
            if pmid in table.bad:
                raise RecordRejected("wrong column count", table.bad[pmid])
        if not self.options.truncated_files:
            return
        group = entities.groups.get(pmid)
        if group is None:
            raise RecordRejected("entities missing (file truncated)", "no lines in the entity file")
        if group.last:
            raise RecordRejected("entities possibly truncated", "last PMID of the cut-off entity file")
        numbers = sorted(int(parts[1][1:]) for _, parts in group.rows if re.fullmatch(r"T\d+", parts[1]))
        if numbers != list(range(1, len(group.rows) + 1)):
            got = f"entity ids are not T1..T{len(group.rows)} (got T{numbers[0]}..T{numbers[-1]})" if numbers else "no Tn ids"
            raise RecordRejected("entity list incomplete", got)
        if relations.path is not None:
            rgroup = relations.groups.get(pmid)
            if rgroup is None:
                raise RecordRejected("relations missing (file truncated)", "no lines in the relation file")
            if rgroup.last:
                raise RecordRejected("relations possibly truncated", "last PMID of the cut-off relation file")
            listed = {parts[1] for _, parts in group.rows}
            named = {m.group(1) for _, parts in rgroup.rows for arg in parts[4:6] if (m := _ARG.match(arg))}
            absent = sorted(named - listed)
            if absent:
                more = " ..." if len(absent) > 5 else ""
                raise RecordRejected(
                    "entity list incomplete",
                    f"relations name entities absent from the entity list: {', '.join(absent[:5])}{more}"
                )


def _check_roles(files: list[Path]) -> None:
    """Every file must be exactly one of the abstracts / entities / relations files (told apart by name)."""
    for path in files:
        roles = [role for role in _ROLES if role in path.name.lower()]
        if len(roles) != 1:
            found = f"it names {' and '.join(roles)}" if roles else "its name contains none of them"
            raise ConvertError(path, f"not recognised as one of the {', '.join(_ROLES)} files: {found}")


@overload
def _role(files: list[Path], role: str, required: Literal[True]) -> Path: ...


@overload
def _role(files: list[Path], role: str, required: bool) -> Path | None: ...


def _role(files: list[Path], role: str, required: bool) -> Path | None:
    found = [f for f in files if role in f.name.lower()]
    if len(found) > 1:
        raise ConvertError(found[1], f"more than one {role} file given for one split")
    if not found:
        if required:
            where = files[0].parent if files else Path(".")
            raise ConvertError(where, f"no *{role}*.tsv file among {', '.join(f.name for f in files)}")
        return None
    return found[0]
