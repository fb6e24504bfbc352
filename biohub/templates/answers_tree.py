"""The ``tree`` answer kind: a medical decision tree (Text2DT) of condition and decision nodes.

Value (the gold structure, JSON): the tree's nodes in pre-order, as Text2DT ships them and
:meth:`biohub.schema.DecisionNode.to_nodes` writes them: ``{"role": "C"|"D", "triples": [[head, relation, tail],
...], "logical_rel": "and"|"or"|"null"}``; a condition (``C``) is followed by the subtree taken when it holds, then
the one taken when it does not; a decision (``D``) is a leaf, its triples may be empty. The canonical form is the
value itself (plain lists and dicts): order and repeats are the tree's.

Lines (English; Chinese uses ``：`` ``；`` ``，`` and 条件 / 决策 / 是 / 否 / （且） / （或） / 无), one node per line in
pre-order, indented two spaces per level, each branch named::

    condition (and): [patient, clinical feature, fever]; [patient, basic facts, child]
      yes → decision: [patient, drug, ibuprofen]
      no → condition: [patient, clinical feature, cough]
        yes → decision (or): [patient, drug, A]; [patient, drug, B]
        no → decision: None

``(and)`` / ``(or)`` show the node's logical relation (none is shown for ``null``); texts holding separators or
brackets are escaped, so every tree round-trips. JSON is Text2DT's own pre-order list. Lenient parsing reads the
structure from the pre-order alone (indentation and branch words may be missing or wrong), takes the keywords of
either language, ``C`` / ``D`` for the roles, other brackets and full-/half-width separators; a node list that is
not one tree (a condition without its two branches, nodes left over) is a failure.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from biohub.schema import LOGICAL_RELATIONS, TREE_ROLES, DecisionNode
from biohub.templates.answer_words import every, words_for
from biohub.templates.answers import (
    CODECS,
    AnswerSpec,
    KindCodec,
    ParseFailure,
    answer_lines,
    escape_value,
    is_none_answer,
    name_key,
    split_exact,
)
from biohub.templates.escape import is_reserved, split_unescaped, strip_unescaped, unescape
from biohub.templates.registry import PARSERS

KIND = "tree"
Node = dict[str, Any]  # {"role", "triples", "logical_rel"}

_TRIPLE = re.compile(r"[\[【(（<〈]((?:\\.|[^\]】)）>〉\\])*)[\]】)）>〉]")


def _alternatives(*names: str) -> str:
    """A regex alternation of the keywords ``names`` in every language (longest first)."""
    found = sorted({word for name in names for word in every(name)}, key=len, reverse=True)
    return "|".join(re.escape(word) for word in found)


def _line_pattern() -> re.Pattern[str]:
    """A node line, leniently: optional branch word and arrow, role word (or C/D), optional and/or, a colon, triples."""
    return re.compile(
        rf"^\s*(?:(?:if\s+)?(?P<branch>{_alternatives('yes', 'no')})\s*(?:→|->|=>|:|：|,|，)?\s*)?"
        rf"(?P<role>{_alternatives('condition', 'decision')}|C|D)\s*"
        rf"(?:[(（]\s*(?P<rel>{_alternatives('and_', 'or_')}|null)\s*[)）])?\s*[:：]\s*(?P<rest>.*)$",
        re.IGNORECASE | re.DOTALL,
    )


# --------------------------------------------------------------------------------------------- canonical form
def canonical_tree(spec: AnswerSpec, value: Any) -> list[Node]:
    """The pre-order node list as plain JSON data (triples as lists)."""
    return [
        {"role": str(node["role"]), "triples": [[str(x) for x in triple] for triple in node["triples"]],
         "logical_rel": str(node["logical_rel"])}
        for node in value
    ]


# --------------------------------------------------------------------------------------------- rendering
def tree_json(spec: AnswerSpec, value: list[Node]) -> list[Node]:
    """The JSON payload of the tree: Text2DT's own pre-order node list."""
    return value


def render_tree(spec: AnswerSpec, value: list[Node]) -> str:
    """The tree as lines: one node per line in pre-order, indented, branches named."""
    p, w = spec.punct, words_for(spec.punct)
    lines = []
    for node, depth, branch in _walk(_tree(value)):
        role = w.condition if node.role == "C" else w.decision
        marker = {"and": w.and_, "or": w.or_}.get(node.logical_rel, "")
        triples = [
            "[" + (p.pair_sep + p.gap).join(escape_value(p, text, pair=True) for text in triple) + "]" for triple in node.triples
        ]
        opening = "" if branch is None else (w.yes if branch else w.no) + w.arrow
        lines.append(f"{w.indent * depth}{opening}{role}{marker}{p.kv}{p.gap}{(p.list_sep + p.gap).join(triples) or p.none}")
    return "\n".join(lines)


def _tree(value: list[Node]) -> DecisionNode:
    try:
        return DecisionNode.from_nodes(value)
    except ValueError as exc:
        raise ValueError(f"not a decision tree: {exc}") from None


def _walk(root: DecisionNode) -> Iterator[tuple[DecisionNode, int, bool | None]]:
    """(node, depth, branch) in pre-order; branch: True for a ``yes`` child, False for a ``no`` child, None at the root."""
    stack: list[tuple[DecisionNode, int, bool | None]] = [(root, 0, None)]
    while stack:
        node, depth, branch = stack.pop()
        yield node, depth, branch
        if node.no is not None:
            stack.append((node.no, depth + 1, False))
        if node.yes is not None:
            stack.append((node.yes, depth + 1, True))


def example_tree(spec: AnswerSpec, language: str) -> list[Node]:
    """The layout shown in format hints: a condition with two decisions, placeholder words only. (the words
    follow ``spec.punct``, the language's punctuation; ``language`` adds nothing here)."""
    w = words_for(spec.punct)

    def triple(number: int) -> list[str]:
        return [f"{w.example_head}{number}", f"{w.example_relation}{number}", f"{w.example_tail}{number}"]

    return [
        {"role": "C", "triples": [triple(1)], "logical_rel": "null"},
        {"role": "D", "triples": [triple(2), triple(3)], "logical_rel": "and"},
        {"role": "D", "triples": [], "logical_rel": "null"},
    ]


# --------------------------------------------------------------------------------------------- parsing
def parse_tree_lines(spec: AnswerSpec, text: str, strict: bool, warnings: list[str], choices: list[str]) -> Any:
    """The tree of a ``lines`` answer (strict: then checked against the rendering; see the module doc)."""
    pattern = _line_pattern()
    nodes: list[Node] = []
    for line in answer_lines(text, strict):
        match = pattern.match(line)
        if match is None:
            if strict:
                raise ParseFailure(f"line {line[:60]!r} is not '<condition|decision>: [head, relation, tail]; ...'")
            warnings.append(f"ignored line {line[:60]!r}")
            continue
        role = "C" if name_key(match["role"]) in {name_key(w) for w in (*every("condition"), "C")} else "D"
        triples = _triples(spec, match["rest"], strict, warnings)
        nodes.append({"role": role, "triples": triples, "logical_rel": _relation(match["rel"])})
    if not nodes:
        raise ParseFailure("no node line ('condition: [head, relation, tail]' / 'decision: ...')")
    return _checked(nodes)


def _relation(written: str | None) -> str:
    if written is None:
        return "null"
    key = name_key(written)
    for relation in ("and", "or"):
        if key in {name_key(word) for word in every(f"{relation}_")} | {relation}:
            return relation
    return "null"


def _triples(spec: AnswerSpec, rest: str, strict: bool, warnings: list[str]) -> list[list[str]]:
    p = spec.punct
    if strict:
        if rest == p.none:
            return []
        triples = []
        for piece in split_exact(rest, p.list_sep, p.gap):
            if not (piece.startswith("[") and piece.endswith("]")):
                raise ParseFailure(f"{piece[:40]!r} is not [head{p.pair_sep}{p.gap}relation{p.pair_sep}{p.gap}tail]")
            parts = split_exact(piece[1:-1], p.pair_sep, p.gap)
            if len(parts) != 3 or any(not part or is_reserved(part, p.none_words) for part in parts):
                raise ParseFailure(f"{piece[:40]!r} does not hold three texts")
            triples.append([unescape(part) for part in parts])
        return triples
    if is_none_answer(spec, rest) or not rest.strip():
        return []
    triples = []
    for piece in split_unescaped(rest, ";；"):
        match = _TRIPLE.search(piece)
        parts = [unescape(strip_unescaped(part)) for part in split_unescaped(match.group(1), ",，")] if match else []
        if len(parts) == 3 and all(part.strip() for part in parts):
            triples.append(parts)
        elif strip_unescaped(piece):
            warnings.append(f"ignored triple {piece[:40]!r}")
    return triples


def _checked(nodes: list[Node]) -> list[Node]:
    """``nodes`` when they form one tree, else a ParseFailure saying why."""
    try:
        DecisionNode.from_nodes(nodes)
    except ValueError as exc:
        raise ParseFailure(f"not a decision tree: {exc}") from None
    return nodes


def parse_tree_json(spec: AnswerSpec, payload: Any, strict: bool, warnings: list[str]) -> Any:
    """The tree of a JSON answer (Text2DT's pre-order node list); lenient: role words, a missing ``logical_rel``
    (``null``) and triples that are not three texts (dropped, with a warning) are tolerated."""
    if not isinstance(payload, list):
        raise ParseFailure("expected a JSON list of nodes")
    if strict:
        return _checked(payload)
    nodes = []
    for item in payload:
        if not isinstance(item, dict):
            warnings.append(f"ignored node {str(item)[:40]!r}")
            continue
        role_name = str(item.get("role", ""))
        condition = name_key(role_name) in map(name_key, every("condition"))
        role = role_name if role_name in TREE_ROLES else ("C" if condition else "D")
        triples = []
        for triple in item.get("triples") or []:
            if isinstance(triple, list) and len(triple) == 3 and all(isinstance(x, str) and x.strip() for x in triple):
                triples.append(list(triple))
            else:
                warnings.append(f"ignored triple {str(triple)[:40]!r}")
        relation = str(item.get("logical_rel", "null"))
        relation = relation if relation in LOGICAL_RELATIONS else _relation(relation)
        nodes.append({"role": role, "triples": triples, "logical_rel": relation})
    return _checked(nodes)


PARSERS.register(KIND)(parse_tree_lines)
CODECS.register(KIND)(KindCodec(canonical_tree, render_tree, tree_json, parse_tree_json, example_tree, list))
