"""CoNLL / BIO TSV: one token per line (token, ..., tag), a blank line between sentences.

Each sentence becomes a ``kb`` record with one ``sentence`` passage (tokens joined by one space) and one
entity per B-/I- chunk. Typed tags (``B-protein``) keep their type; untyped tags (``B``/``I``) get
``default_type``. An ``I-`` tag that does not continue a chunk of the same type (e.g. after ``O``) is not
guessed at: the sentence is rejected with its line number unless ``repair_orphan_i`` is set, in which case
the tag opens a new chunk and a defect is counted. The tokens are kept in ``meta.tokens`` so evaluation can
project predictions back onto them (seqeval). The raw source text of a record (``ReadContext.keep_raw``) is
the sentence's lines as written (token lines and any marker line inside the sentence), joined by ``\n``.

Character-level BIO (ChineseBLUE's cMedQANER / cEHRNER ``.txt``: ``<char> <tag>`` lines with ``B_type`` tags) is
read with ``delimiter: " "``, ``tag_separator: "_"`` and ``token_joiner: ""`` (the characters make the text).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from biohub.converters.base import Item, ReadContext, Reader, expand_paths, file_stems, read_lines
from biohub.converters.problems import Reason, RecordRejected
from biohub.converters.registry import register
from biohub.schema import Entity, KBRecord, Passage


@dataclass(slots=True)
class ConllOptions:
    """``token_column`` / ``tag_column``: 0-based column indexes (negative counts from the end);
    ``columns``: the exact number of tab-separated columns every token line must have (0: any >= 2; the two
    column indexes must then name one of the first two or last two columns, which every line has);
    ``default_type``: entity type of untyped ``B``/``I`` tags; ``repair_orphan_i``: see the module doc;
    ``comment_prefixes``: lines starting with these are document markers, not tokens (e.g. ``-DOCSTART-``);
    ``delimiter``: the one character between columns (a tab; a space for ``<char> <tag>`` files);
    ``tag_separator``: the character between the B/I prefix and the type (``B-protein``; ``_`` for ``B_disease``);
    ``token_joiner``: what joins the tokens into the passage text (one space; empty for character-level BIO, where
    a token may then be a whitespace character such as U+3000, which the text holds too)."""

    token_column: int = 0
    tag_column: int = -1
    columns: int = 2
    default_type: str = "entity"
    repair_orphan_i: bool = False
    comment_prefixes: tuple[str, ...] = ("-DOCSTART-", "###")
    encoding: str = "utf-8"
    delimiter: str = "\t"
    tag_separator: str = "-"
    token_joiner: str = " "

    def __post_init__(self) -> None:
        for name in ("delimiter", "tag_separator"):
            if len(getattr(self, name)) != 1:
                raise ValueError(f"{name}: expected one character, got {getattr(self, name)!r}")
        if self.columns < 0 or self.columns == 1:
            raise ValueError(f"columns: expected 0 (any >= 2) or a count >= 2, got {self.columns}")
        width = self.columns or 2
        lines = f"{self.columns} columns" if self.columns else "2 columns every line has (columns: 0)"
        for name in ("token_column", "tag_column"):
            index = getattr(self, name)
            if not -width <= index < width:
                raise ValueError(f"{name}: {index} is outside the {lines}; valid: {-width}..{width - 1}")


@dataclass(slots=True)
class _Sentence:
    first_line: int
    tokens: list[str]
    tags: list[str]
    lines: list[int]
    raw: list[str]  # the sentence's source lines, verbatim
    broken: tuple[int, str] | None = None  # the first line with the wrong number of columns, and what is wrong


@register
class ConllReader(Reader):
    """Reads CoNLL/BIO token-per-line files into one-sentence ``kb`` records, one entity per B-/I- chunk."""

    name = "conll"
    schema = "kb"
    description = "CoNLL/BIO TSV (token<TAB>tag, blank line between sentences); typed or untyped tags"
    Options = ConllOptions

    def read(self, paths: list[Path], ctx: ReadContext) -> Iterator[Item]:
        """One ``kb`` record (plus its repair defects) or rejection per sentence of every ``*.tsv`` file."""
        files = expand_paths(paths, ".tsv")
        stems = file_stems(files)
        for path in files:
            for number, sentence in enumerate(self._sentences(path), start=1):
                convert = partial(self._convert, path, stems[path], number, sentence, ctx)
                yield from self.rejecting(ctx, path, number, convert)

    def _sentences(self, path: Path) -> Iterator[_Sentence]:
        opts = self.options
        current: _Sentence | None = None
        broken: tuple[int, str] | None = None
        for line_number, line in enumerate(read_lines(path, opts.encoding), start=1):
            if not line.strip():
                if current is not None:
                    current.broken = broken
                    yield current
                current, broken = None, None
                continue
            if line.startswith(opts.comment_prefixes):
                if current is not None:
                    current.raw.append(line)
                continue
            parts = line.split(opts.delimiter)
            if current is None:
                current = _Sentence(line_number, [], [], [], [])
            current.raw.append(line)
            if (opts.columns and len(parts) != opts.columns) or len(parts) < 2:
                if broken is None:
                    expected = opts.columns or ">= 2"
                    broken = (line_number, f"line {line_number}: {len(parts)} columns, expected {expected}")
                continue
            current.tokens.append(parts[opts.token_column])
            current.tags.append(parts[opts.tag_column].strip())
            current.lines.append(line_number)
        if current is not None:
            current.broken = broken
            yield current

    def _convert(self, path: Path, stem: str, number: int, sentence: _Sentence, ctx: ReadContext) -> Iterator[Item]:
        if sentence.broken is not None:
            raise RecordRejected(Reason.WRONG_COLUMN_COUNT, sentence.broken[1], locator=sentence.broken[0])
        key = f"{stem}-{number}"
        record_id = ctx.record_id(key)
        spaced = bool(self.options.token_joiner)  # whitespace inside a token is ambiguous only when tokens are joined by it
        for token, line in zip(sentence.tokens, sentence.lines):
            if not token or (spaced and any(ch.isspace() for ch in token)):
                raise RecordRejected("bad token", f"line {line}: empty token or token with whitespace {token!r}", locator=line)
        joiner = self.options.token_joiner
        starts, position = [], 0
        for token in sentence.tokens:
            starts.append(position)
            position += len(token) + len(joiner)
        text = joiner.join(sentence.tokens)
        chunks = []
        defects = []
        open_chunk: list[int] | None = None  # [first token, last token] of the chunk being extended
        open_type = ""
        for index, (tag, line) in enumerate(zip(sentence.tags, sentence.lines)):
            prefix, _, label = tag.partition(self.options.tag_separator)
            label = label or self.options.default_type
            if tag == "O":
                open_chunk = None
                continue
            if prefix not in ("B", "I"):
                sep = self.options.tag_separator
                detail = f"line {line}: tag {tag!r} is not O, B[{sep}type] or I[{sep}type]"
                raise RecordRejected("unknown tag", detail, locator=line)
            if prefix == "I" and (open_chunk is None or open_type != label):
                if not self.options.repair_orphan_i:
                    after = repr(sentence.tags[index - 1]) if index else "the sentence start"
                    raise RecordRejected(
                        "I- tag does not continue a chunk", f"line {line}: {tag!r} follows {after}", locator=line
                    )
                reason = "orphan I- tag opened a chunk"
                defects.append(ctx.defect(path, line, reason, f"line {line}: {tag!r}", dropped=False, annotation="entities"))
                prefix = "B"
            if prefix == "B":
                open_chunk = [index, index]
                open_type = label
                chunks.append((label, open_chunk))
            else:
                assert open_chunk is not None
                open_chunk[1] = index
        entities = []
        for n, (label, (first, last)) in enumerate(chunks):
            start, end = starts[first], starts[last] + len(sentence.tokens[last])
            entities.append(Entity(f"{record_id}.e{n}", label, [text[start:end]], [(start, end)]))
        yield from defects
        record = KBRecord(
            **ctx.common(key, meta={"tokens": sentence.tokens, "source": {"path": path.name, "line": sentence.first_line}}),
            passages=[Passage(f"{record_id}.p0", "sentence", [text], [(0, len(text))])],
            entities=entities,
        )
        ctx.keep_raw(record.id, lambda: "\n".join(sentence.raw))
        yield record
