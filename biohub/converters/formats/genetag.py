"""GENETAG (the BioCreative gene mention corpus): ``TAGGED_GENE_CORPUS`` sentences with ``Gold.format`` token spans.

A split is a folder (or its ``TAGGED_GENE_CORPUS`` file) holding:

* ``TAGGED_GENE_CORPUS``: one sentence per line, ``@@<sentence id>`` then space-separated ``token/TAG`` items
  (Penn POS tags; gene tokens tagged ``NEWGENE`` / ``NEWGENE1``). The tag is what follows the LAST ``/``, so
  ``//NEWGENE`` is the token ``/``;
* ``Gold.format``: one gene mention per line, ``@@<sentence id>|<first> <last>|<mention text>``, ``first`` and
  ``last`` 0-based INCLUSIVE indices of the sentence's tokens;
* ``Correct.Data`` (option ``alternatives_file``): the same layout, listing the alternative spans BioCreative's
  scorer also accepts for a gold mention.

Each sentence becomes one ``kb`` record keyed by its id (without ``@@``): its text is the tokens joined by one
space (one ``sentence`` passage), its entities the Gold mentions at the character offsets of their tokens, typed
``entity_type``; ``meta.alternatives`` keeps the alternative spans (``{"offsets": [start, end], "text": ...}``), so
the official scoring can be rebuilt. The POS tags are not kept (the raw source text of a record is its line).

The token span is authoritative: a mention whose stated text differs from its tokens only by surrounding blanks is
kept (a repair, counted), any other difference drops it; so do a malformed line, token indices outside the
sentence, a repeated line and a line for a sentence the corpus does not hold, each a defect with file:line and
reason (alternatives counted under ``alternatives``). A token with an empty tag (``./``) is kept with an empty tag
and counted. A sentence line with an item that is not ``token/TAG``, with no tokens, or repeating an earlier
sentence id is rejected.
"""

from __future__ import annotations

import stat
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from biohub.converters.base import ConvertError, Item, ReadContext, Reader, check_path, folder_files, is_present, read_lines
from biohub.converters.kb import MENTION_PADDED, mention_problem
from biohub.converters.problems import Reason, RecordRejected
from biohub.converters.registry import register
from biohub.schema import Entity, KBRecord, Passage, Span

CORPUS_FILE = "TAGGED_GENE_CORPUS"


@dataclass(slots=True)
class GenetagOptions:
    """Args:
    entity_type: type of every gold mention.
    gold_file: name of the gold mention file next to ``TAGGED_GENE_CORPUS``.
    alternatives_file: name of the alternative-span file next to it ("" reads none).
    """

    entity_type: str = "gene"
    gold_file: str = "Gold.format"
    alternatives_file: str = "Correct.Data"


@dataclass(frozen=True, slots=True)
class _Mention:
    """One line of a mention file."""

    path: Path
    line: int
    raw: str
    first: int
    last: int
    text: str


@register
class GenetagReader(Reader):
    """Reads GENETAG sentences and their gold gene mentions into ``kb`` records."""

    name = "genetag"
    schema = "kb"
    description = "GENETAG TAGGED_GENE_CORPUS word/TAG lines + Gold.format inclusive token spans (+ Correct.Data alternatives)"
    Options = GenetagOptions

    def read(self, paths: list[Path], ctx: ReadContext) -> Iterator[Item]:
        """One ``kb`` record (plus its defects) or rejection per sentence line of each split's corpus file."""
        for given in paths:
            corpus = given
            if stat.S_ISDIR(check_path(given).st_mode):
                found = folder_files(given, lambda path: path.name == CORPUS_FILE, recursive=False)
                if not found:
                    raise ConvertError(given, f"folder holds no {CORPUS_FILE}")
                corpus = found[0]
            yield from self._split(corpus, ctx)

    def _split(self, corpus: Path, ctx: ReadContext) -> Iterator[Item]:
        items: list[Item] = []
        gold = self._mentions(corpus.parent / self.options.gold_file, "entities", items, ctx)
        alternatives: dict[str, list[_Mention]] = {}
        if self.options.alternatives_file:
            alternatives = self._mentions(corpus.parent / self.options.alternatives_file, "alternatives", items, ctx)
        yield from items
        known: set[str] = set()
        for number, line in enumerate(read_lines(corpus), start=1):
            if not line.strip():
                continue
            key = line.split(" ", 1)[0].removeprefix("@@")
            convert = partial(self._sentence, corpus, number, line, gold.get(key, []), alternatives.get(key, []), ctx)
            yield from self.rejecting(ctx, corpus, number, convert, document_id=key)
            known.add(key)
        for unit, mentions in (("entities", gold), ("alternatives", alternatives)):
            for key in sorted(set(mentions) - known):
                for mention in mentions[key]:
                    detail = f"{mention.raw!r}: no sentence @@{key} in {corpus.name}"
                    self._count(ctx, key, unit)
                    reason = Reason.MENTION_OF_AN_UNKNOWN_SENTENCE
                    yield ctx.defect(mention.path, mention.line, reason, detail, key, annotation=unit)

    @staticmethod
    def _count(ctx: ReadContext, key: str | None, unit: str) -> None:
        """Count a gold mention dropped before its sentence is read as read (the ledger accounts for every one)."""
        if unit == "entities":
            ctx.count_read(key, entities=1)

    # ----------------------------------------------------------------------------------- mention files
    def _mentions(self, path: Path, unit: str, items: list[Item], ctx: ReadContext) -> dict[str, list[_Mention]]:
        """The lines of a mention file by sentence id; malformed and repeated lines become defects in ``items``."""
        if not is_present(path):
            hint = " (set alternatives_file to \"\" to read none)" if unit == "alternatives" else ""
            raise ConvertError(path, f"{unit} file missing beside {CORPUS_FILE}{hint}")
        found: dict[str, list[_Mention]] = {}
        seen: set[str] = set()
        for number, line in enumerate(read_lines(path), start=1):
            if not line.strip():
                continue
            key, _, rest = line.partition("|")
            indices, bar, text = rest.partition("|")
            parts = indices.split()
            key = key.strip().removeprefix("@@")
            if not bar or len(parts) != 2 or not all(p.isdigit() for p in parts) or int(parts[0]) > int(parts[1]) or not key:
                detail = f"{line!r}: expected @@<sentence id>|<first> <last>|<text>"
                items.append(ctx.defect(path, number, Reason.MALFORMED_MENTION, detail, key or None, annotation=unit))
                self._count(ctx, key or None, unit)
                continue
            if line in seen:
                items.append(ctx.defect(path, number, Reason.DUPLICATE_MENTION, f"{line!r} given before", key, annotation=unit))
                self._count(ctx, key, unit)
                continue
            seen.add(line)
            found.setdefault(key, []).append(_Mention(path, number, line, int(parts[0]), int(parts[1]), text))
        return found

    # ----------------------------------------------------------------------------------- sentences
    def _sentence(
        self, corpus: Path, number: int, line: str, gold: list[_Mention], alternatives: list[_Mention], ctx: ReadContext
    ) -> list[Item]:
        head, _, body = line.partition(" ")
        key = head.removeprefix("@@")
        if not head.startswith("@@") or not key:
            raise RecordRejected(Reason.MISSING_DOCUMENT_ID, f"line does not start with @@<sentence id>: {line[:60]!r}")
        earlier = ctx.read_before(key)
        if earlier is not None:
            raise RecordRejected(Reason.DUPLICATE_ID, f"sentence @@{key} already read at {earlier}")
        ctx.note_read(key, f"{corpus.name}:{number}")
        pieces = body.split()
        if not pieces:
            raise RecordRejected(Reason.EMPTY_SENTENCE, f"sentence @@{key} has no tokens")
        split = [piece.rpartition("/") for piece in pieces]
        bad = [piece for piece, (token, slash, _) in zip(pieces, split) if not slash or not token]
        if bad:
            raise RecordRejected(Reason.BAD_TOKEN, f"sentence @@{key}: token(s) without token/TAG form: {bad[:3]!r}")
        tokens = [token for token, _, _ in split]
        items: list[Item] = []
        for index in (i for i, (_, _, tag) in enumerate(split) if not tag):
            detail = f"sentence @@{key}: token {index} {pieces[index]!r} has an empty tag (token kept, tag empty)"
            items.append(ctx.defect(corpus, number, Reason.TOKEN_WITHOUT_TAG_KEPT, detail, key, dropped=False))
        starts = [0]
        for token in tokens[:-1]:
            starts.append(starts[-1] + len(token) + 1)
        text = " ".join(tokens)
        record_id = ctx.record_id(key)
        entities: list[Entity] = []
        for mention in gold:
            placed = self._placed(mention, key, "entities", tokens, starts, items, ctx)
            if placed is not None:
                entities.append(Entity(f"{record_id}.e{len(entities)}", self.options.entity_type, [placed[1]], [placed[0]]))
        kept_alternatives = []
        for mention in alternatives:
            placed = self._placed(mention, key, "alternatives", tokens, starts, items, ctx)
            if placed is not None:
                kept_alternatives.append({"offsets": list(placed[0]), "text": placed[1]})
        ctx.count_read(key, entities=len(gold))
        meta = {
            "source": {"path": corpus.name, "line": number},
            "alternatives": kept_alternatives,
        }
        passage = Passage(f"{record_id}.p0", "sentence", [text], [(0, len(text))])
        record = KBRecord(**ctx.common(key, meta=meta), passages=[passage], entities=entities)
        ctx.keep_raw(record.id, lambda: line)
        return [*items, record]

    def _placed(
        self, mention: _Mention, key: str, unit: str, tokens: list[str], starts: list[int], items: list[Item], ctx: ReadContext
    ) -> tuple[Span, str] | None:
        """The character span and text of ``mention``'s tokens, or None when it is dropped (its defect added to
        ``items``); a stated text padded with blanks is kept with the tokens' text and the repair counted."""
        if mention.last >= len(tokens):
            detail = f"{mention.raw!r}: token {mention.last} beyond the sentence's {len(tokens)} tokens"
            reason = Reason.MENTION_OFFSETS_OUT_OF_RANGE
            items.append(ctx.defect(mention.path, mention.line, reason, detail, key, annotation=unit))
            return None
        span = (starts[mention.first], starts[mention.last] + len(tokens[mention.last]))
        actual = " ".join(tokens[mention.first : mention.last + 1])
        problem = mention_problem(mention.text, actual)
        if problem is not None:
            detail = f"{mention.raw!r}: tokens {mention.first}-{mention.last} read {actual!r}"
            repaired = problem == MENTION_PADDED
            items.append(ctx.defect(mention.path, mention.line, problem, detail, key, dropped=not repaired, annotation=unit))
            if not repaired:
                return None
        return span, actual
