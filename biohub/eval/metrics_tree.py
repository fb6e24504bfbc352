"""Text2DT decision-tree metrics, as the Text2DT benchmark defines them (also in the README's metric table).

A tree is its pre-order node list (``biohub.schema.DecisionNode``); a node is compared by its role (C condition, D
decision), its logical relation (and / or / null) and the *set* of its (head, relation, tail) triples, texts trimmed
and lower-cased as the benchmark's script lower-cases them. Per example:

- **tree accuracy** (``tree_accuracy``, the track's headline): the predicted tree equals the gold one, node for node
  in pre-order (so the same shape, each node the same role, relation and triple set);
- **triples** (``*_tree_triple``): the set of distinct triples of the whole tree;
- **nodes** (``*_tree_node``): the nodes that hold triples, as a multiset;
- **decision paths** (``*_tree_path``): every root-to-leaf path, the nodes on it and the branch (yes / no) taken at
  each condition, as a multiset;
- **edit distance** (``tree_edit_distance``, lower is better): both trees walked together from the root, each pair
  of aligned nodes costing 1 for a different role, 1 for a different logical relation and 1 per triple in only one of
  them; where one tree has a leaf and the other a condition, the condition's subtrees are unmatched, each of their
  nodes costing 2 plus its triples. The mean over examples.

P/R/F1 are micro (TP, FP, FN summed over examples). An answer that did not parse is the empty tree: not accurate, no
items, and an edit distance of the whole gold tree. Two points differ from the benchmark's script on purpose: nodes
and paths are matched one to one (the script counts every equal (predicted, gold) pair, so a tree that repeats a
node, as 6 of Text2DT's 500 do, would score above 1), and an empty predicted tree counts in the accuracy's
denominator (the script leaves it out). The organisers' baseline also ignored the logical relations; this follows
the evaluation shipped with the released data (Generative_Text2DT), which compares them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from biohub.eval.metrics import prf, set_prf
from biohub.schema import DecisionNode

Nodes = Sequence[dict[str, Any]]  # the pre-order node list: {"role", "triples", "logical_rel"}
NodeKey = tuple[str, str, frozenset[tuple[str, ...]]]
UNITS = ("tree_triple", "tree_node", "tree_path")


def _triple(triple: Sequence[str]) -> tuple[str, ...]:
    return tuple(str(text).strip().lower() for text in triple)


def node_key(node: DecisionNode) -> NodeKey:
    """What a node is compared by: role, logical relation and the set of its (trimmed, lower-cased) triples."""
    return node.role, node.logical_rel, frozenset(_triple(t) for t in node.triples)


def _tree(nodes: Nodes | None) -> DecisionNode | None:
    return DecisionNode.from_nodes(list(nodes)) if nodes else None


def _paths(root: DecisionNode) -> Counter[tuple[Any, ...]]:
    """Every root-to-leaf path: the node keys along it, with the branch taken ("yes" / "no") after each condition."""
    paths: Counter[tuple[Any, ...]] = Counter()
    stack: list[tuple[DecisionNode, tuple[Any, ...]]] = [(root, ())]
    while stack:
        node, before = stack.pop()
        here = (*before, node_key(node))
        if node.yes is None or node.no is None:
            paths[here] += 1
        else:
            stack.extend([(node.yes, (*here, "yes")), (node.no, (*here, "no"))])
    return paths


def _cost(node: DecisionNode | None, other: DecisionNode | None) -> int:
    """The edit cost of aligning two nodes (``other`` None: the node is unmatched)."""
    if node is None or other is None:
        alone = node or other
        return 0 if alone is None else 2 + len(node_key(alone)[2])
    role, relation, triples = node_key(node)
    other_role, other_relation, other_triples = node_key(other)
    return int(role != other_role) + int(relation != other_relation) + len(triples ^ other_triples)


def edit_distance(predicted: DecisionNode | None, gold: DecisionNode) -> int:
    """The benchmark's tree edit distance (see the module doc) between a predicted tree (None: empty) and the gold one."""
    if predicted is None:
        return sum(_cost(node, None) for node in gold.preorder())
    total, stack = 0, [(predicted, gold)]
    while stack:
        mine, theirs = stack.pop()
        total += _cost(mine, theirs)
        if mine.yes is None or mine.no is None or theirs.yes is None or theirs.no is None:
            for leftover in (mine, theirs):  # the subtrees of the one that is a condition are unmatched
                for child in (leftover.yes, leftover.no):
                    total += sum(_cost(node, None) for node in child.preorder()) if child is not None else 0
            continue
        stack.extend([(mine.yes, theirs.yes), (mine.no, theirs.no)])
    return total


def tree_scores(examples: Iterable[tuple[Nodes, Nodes | None]]) -> dict[str, float]:
    """Every Text2DT value over (gold, predicted) node lists, one pair per example (predicted None: no answer)."""
    n = accurate = distance = 0
    triples: list[tuple[set[tuple[str, ...]], set[tuple[str, ...]]]] = []
    counts = {unit: [0, 0, 0] for unit in ("tree_node", "tree_path")}  # tp, fp, fn
    for gold_nodes, predicted_nodes in examples:
        gold, predicted = _tree(gold_nodes), _tree(predicted_nodes)
        if gold is None:
            raise ValueError("a gold decision tree has no node")
        n += 1
        gold_order = [node_key(node) for node in gold.preorder()]
        predicted_order = [node_key(node) for node in predicted.preorder()] if predicted else []
        accurate += predicted_order == gold_order
        distance += edit_distance(predicted, gold)
        triples.append(({t for _, _, ts in gold_order for t in ts}, {t for _, _, ts in predicted_order for t in ts}))
        multisets = {
            "tree_node": (Counter(key for key in gold_order if key[2]), Counter(key for key in predicted_order if key[2])),
            "tree_path": (_paths(gold), _paths(predicted) if predicted else Counter()),
        }
        for unit, (gold_items, predicted_items) in multisets.items():
            tp = sum((gold_items & predicted_items).values())
            counts[unit][0] += tp
            counts[unit][1] += sum(predicted_items.values()) - tp
            counts[unit][2] += sum(gold_items.values()) - tp
    values: dict[str, float] = {"tree_accuracy": accurate / n if n else 0.0, "tree_edit_distance": distance / n if n else 0.0}
    values |= {f"{name}_tree_triple": value for name, value in set_prf(triples).items()}
    for unit, (tp, fp, fn) in counts.items():
        values |= {f"{name}_{unit}": value for name, value in (prf(tp, fp, fn) | {"tp": tp, "fp": fp, "fn": fn}).items()}
    return values
