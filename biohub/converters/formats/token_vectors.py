"""Token-vector span annotations (the PICO extraction sentences of Zlabinger et al. 2020): a JSON file of sentences
and, per entity class, a JSON file of 0/1 vectors over each sentence's whitespace tokens, one vector per annotator.

Inputs: the sentences file (named by ``sentences``: ``{"<id>": "<sentence text>"}``) and one annotation file per
class (every other ``*.json``): ``{"<id>": {"annotations": [[0/1 per token], ...one per annotator], "wids":
[annotator ids]}}``; the class's entity type is ``types[<file stem>]`` (the file stem when ``types`` does not name
it). Each sentence becomes one ``kb`` record with one ``sentence`` passage. Its tokens are the whitespace-separated
words of the text (offsets found in the text itself); a token is in a class when the annotators' votes pass
``vote``: ``majority`` (more than half of them), ``any`` (at least one) or ``all`` (every one); each maximal run of
such tokens is one entity, its text the sentence from the run's first to its last character. The record key is the
sentence id; its document id is the part before ``id_separator`` (the PMID of ``<PMID>:<index>``), so a derived
split keeps an abstract's sentences together. Every annotator's vector and id stay in ``meta.annotators``
(``{<file stem>: {"type": ..., "wids": [...], "vectors": [[...], ...]}}``), so another vote rule can be applied later.

A sentence whose text is empty, that a class file does not annotate, whose vector length differs from its token
count, or whose vector holds a value other than 0/1 is rejected naming the file and sentence id. An annotation for
a sentence id the sentences file does not hold is a dropped defect (``annotation for an unknown sentence``). A file
that is not a JSON object is a :class:`ConvertError`.

The raw source text of a record (``ReadContext.keep_raw``) is ``json.dumps({"sentence": text, "annotations": {stem:
entry}})`` with the sentence's entry of every annotation file, in file order.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal

from biohub.converters.base import ConvertError, Item, ReadContext, Reader, expand_paths, load_json
from biohub.converters.problems import Reason, RecordRejected
from biohub.converters.registry import register
from biohub.schema import Entity, KBRecord, Passage

_TOKEN = re.compile(r"\S+")


@dataclass(slots=True)
class TokenVectorOptions:
    """``sentences``: file name of the sentences file among the inputs; ``types``: annotation file stem -> entity
    type (a stem it does not name is its own type); ``vote``: which tokens a class keeps, ``majority`` (more than
    half of the annotators), ``any`` or ``all``; ``id_separator``: the document id is the sentence id up to its first
    separator ("" = the sentence id itself); ``passage_type``: type of the sentence passage."""

    sentences: str = "sentences.json"
    types: dict[str, str] = field(default_factory=dict)
    vote: Literal["majority", "any", "all"] = "majority"
    id_separator: str = ":"
    passage_type: str = "sentence"


@register
class TokenVectorReader(Reader):
    """Reads a sentences JSON plus per-class 0/1 token-vector JSONs (several annotators) into ``kb`` NER records,
    entities made by a vote over the annotators."""

    name = "token-vectors"
    schema = "kb"
    description = "sentences.json + per-class {id: {annotations: [[0/1 per token] per annotator], wids}} JSON: voted NER spans"
    Options = TokenVectorOptions

    def read(self, paths: list[Path], ctx: ReadContext) -> Iterator[Item]:
        """One ``kb`` record or rejection per sentence, then a defect for each annotation of an unknown sentence."""
        files = {path: _object(path) for path in expand_paths(paths, ".json")}
        sentence_files = [p for p in files if p.name == self.options.sentences]
        if len(sentence_files) != 1:
            where = next(iter(files), Path("."))
            found = f"expected one sentences file {self.options.sentences!r} among the inputs, found {len(sentence_files)}"
            raise ConvertError(where, found)
        sentences_path = sentence_files[0]
        sentences = files[sentences_path]
        classes = [(p, self.options.types.get(p.stem, p.stem), data) for p, data in files.items() if p != sentences_path]
        for key, text in sentences.items():
            document_id = key.split(self.options.id_separator, 1)[0] if self.options.id_separator else key
            convert = partial(self._sentence, sentences_path, key, text, classes, ctx, document_id)
            yield from self.rejecting(ctx, sentences_path, key, convert, document_id=document_id)
        for path, _, entries in classes:
            for key in entries:
                if key not in sentences:
                    detail = f"sentence {key} is not in {sentences_path.name}"
                    yield ctx.defect(path, key, Reason.ANNOTATION_FOR_AN_UNKNOWN_SENTENCE, detail, annotation="entities")

    def _sentence(
        self,
        path: Path,
        key: str,
        text: Any,
        classes: list[tuple[Path, str, dict[str, Any]]],
        ctx: ReadContext,
        document_id: str,
    ) -> KBRecord:
        if not isinstance(text, str) or not text.strip():
            raise RecordRejected(Reason.EMPTY_TEXT, f"sentence {key}: text {text!r}")
        tokens = [(m.start(), m.end()) for m in _TOKEN.finditer(text)]
        record_id = ctx.record_id(key, document_id)
        spans: list[tuple[int, int, str]] = []
        annotators: dict[str, dict[str, Any]] = {}
        for class_path, etype, entries in classes:
            vectors, wids = _vectors(class_path, key, entries.get(key), len(tokens))
            annotators[class_path.stem] = {"type": etype, "wids": wids, "vectors": vectors}
            spans.extend((tokens[first][0], tokens[last][1], etype) for first, last in _runs(self._chosen(vectors)))
        entities = [
            Entity(f"{record_id}.e{i}", etype, [text[start:end]], [(start, end)])
            for i, (start, end, etype) in enumerate(sorted(spans))
        ]
        meta = {"annotators": annotators, "vote": self.options.vote, "source": {"path": path.name, "record": key}}
        passage = Passage(f"{record_id}.p0", self.options.passage_type, [text], [(0, len(text))])
        record = KBRecord(**ctx.common(key, document_id, meta=meta), passages=[passage], entities=entities)
        raw = {"sentence": text, "annotations": {p.stem: entries.get(key) for p, _, entries in classes}}
        ctx.keep_raw(record.id, lambda: json.dumps(raw, ensure_ascii=False))
        return record

    def _chosen(self, vectors: list[list[int]]) -> list[bool]:
        """Per token, whether the annotators' votes keep it under the ``vote`` rule."""
        votes = [sum(column) for column in zip(*vectors)]
        if self.options.vote == "any":
            return [v >= 1 for v in votes]
        if self.options.vote == "all":
            return [v == len(vectors) for v in votes]
        return [2 * v > len(vectors) for v in votes]


def _object(path: Path) -> dict[str, Any]:
    data = load_json(path)
    if not isinstance(data, dict):
        raise ConvertError(path, f"expected a JSON object keyed by sentence id, found a {type(data).__name__}")
    return data


def _vectors(path: Path, key: str, entry: Any, length: int) -> tuple[list[list[int]], list[Any]]:
    """The annotators' vectors and ids of one sentence in one class file, checked (else the sentence is rejected)."""
    if entry is None:
        raise RecordRejected(Reason.MISSING_LABELS, f"sentence {key} is not annotated in {path.name}", path=path)
    vectors = entry.get("annotations") if isinstance(entry, dict) else None
    if not isinstance(vectors, list) or not vectors or not all(isinstance(v, list) for v in vectors):
        raise RecordRejected(Reason.MALFORMED_LABELS, f"sentence {key}: 'annotations' is not a list of vectors", path=path)
    for number, vector in enumerate(vectors):
        if len(vector) != length:
            detail = f"sentence {key}: annotator {number}'s vector has {len(vector)} values for {length} tokens"
            raise RecordRejected(Reason.TOKEN_VECTOR_LENGTH_MISMATCH, detail, path=path)
        bad = [value for value in vector if value not in (0, 1) or isinstance(value, bool)]
        if bad:
            raise RecordRejected(Reason.BAD_LABEL, f"sentence {key}: annotator {number}'s vector holds {bad[0]!r}", path=path)
    wids = entry.get("wids", [])
    return vectors, wids if isinstance(wids, list) else [wids]


def _runs(chosen: list[bool]) -> Iterator[tuple[int, int]]:
    """The (first, last) token indices of each maximal run of chosen tokens."""
    start: int | None = None
    for index, keep in enumerate([*chosen, False]):
        if keep and start is None:
            start = index
        elif not keep and start is not None:
            yield start, index - 1
            start = None
