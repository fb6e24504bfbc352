"""The ROUGE-L novelty filter, fast enough for a pool of tens of thousands of instructions.

A candidate is too similar when its ROUGE-L F-measure (``rouge-score``'s definition: F = 2·LCS / (m + n) for token
counts m, n) against any instruction already in the pool reaches the threshold (Self-Instruct: 0.7). Scoring every
pair with ``rouge-score`` costs O(pool) LCS computations per candidate, hours at 25k. Exact pruning first:

- LCS <= min(m, n), so F >= t needs 2·min(m, n) >= t·(m + n): only pool items of compatible length can match;
- LCS <= the multiset token overlap of the two texts, so F >= t needs 2·overlap >= t·(m + n). Overlaps with every
  pool item are counted at once through an inverted index (token -> pool ids, numpy ``bincount``).

Only items passing both bounds are scored with ``rouge-score`` (exact LCS), so the decision is exactly the brute-force
one (tested against it). Tokens: ``rouge-score``'s tokenizer for English (lower case, alphanumeric, Porter-stemmed
as configured); jieba words for Chinese.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from biohub.text import chinese_words


def tokens(text: str, language: str) -> list[str]:
    """What ROUGE compares: jieba words for Chinese (as in evaluation), rouge-score's tokens otherwise."""
    if language == "zh":
        return chinese_words(text)
    from rouge_score import tokenize

    return list(tokenize.tokenize(text, None))


SEPARATOR = "\x00"  # joins already-made tokens into the one string rouge-score's scorer takes; never inside a token


class _Pretokenized:
    """A rouge-score tokenizer for tokens already made (rouge-score's or jieba's): split on SEPARATOR, nothing else."""

    def tokenize(self, text: str) -> list[str]:
        return text.split(SEPARATOR) if text else []


@functools.cache
def _scorer() -> Any:
    from rouge_score.rouge_scorer import RougeScorer

    return RougeScorer(["rougeL"], tokenizer=_Pretokenized())


def rouge_l(a: Sequence[str], b: Sequence[str]) -> float:
    """ROUGE-L F-measure of two token lists, by ``rouge-score``'s public scorer (its LCS, F = 2·LCS / (m + n))."""
    return float(_scorer().score(SEPARATOR.join(a), SEPARATOR.join(b))["rougeL"].fmeasure)


class SimilarityIndex:
    """Instructions accepted so far, for "is this candidate's ROUGE-L >= threshold against any of them?"."""

    def __init__(self, threshold: float = 0.7) -> None:
        self.threshold = threshold
        self.texts: list[list[str]] = []
        self.lengths: list[int] = []
        self.vocabulary: dict[str, int] = {}
        # token id -> pool ids and counts, in arrays grown by doubling (``filled`` entries in use)
        self.ids: list[np.ndarray] = []
        self.counts: list[np.ndarray] = []
        self.filled: list[int] = []

    def __len__(self) -> int:
        return len(self.texts)

    def add(self, words: Sequence[str]) -> None:
        """Add one accepted instruction (its tokens) to the pool and to the token index that prunes comparisons."""
        index = len(self.texts)
        self.texts.append(list(words))
        self.lengths.append(len(words))
        for token, count in Counter(words).items():
            token_id = self.vocabulary.setdefault(token, len(self.vocabulary))
            if token_id == len(self.ids):
                self.ids.append(np.empty(4, dtype=np.int64))
                self.counts.append(np.empty(4, dtype=np.int64))
                self.filled.append(0)
            n = self.filled[token_id]
            if n == len(self.ids[token_id]):
                self.ids[token_id] = np.resize(self.ids[token_id], 2 * n)
                self.counts[token_id] = np.resize(self.counts[token_id], 2 * n)
            self.ids[token_id][n] = index
            self.counts[token_id][n] = count
            self.filled[token_id] = n + 1

    def _posting(self, token_id: int) -> tuple[np.ndarray, np.ndarray]:
        n = self.filled[token_id]
        return self.ids[token_id][:n], self.counts[token_id][:n]

    def most_similar(self, words: Sequence[str]) -> tuple[float, int | None]:
        """(best ROUGE-L among pool items that could reach the threshold, its pool index); (0.0, None) if none can."""
        m = len(words)
        if not self.texts or m == 0:
            return 0.0, None
        size = len(self.texts)
        overlap = np.zeros(size, dtype=np.int64)
        for token, count in Counter(words).items():
            token_id = self.vocabulary.get(token)
            if token_id is None:
                continue
            ids, counts = self._posting(token_id)
            overlap += np.bincount(ids, weights=np.minimum(counts, count), minlength=size).astype(np.int64)
        lengths = np.asarray(self.lengths, dtype=np.int64)
        need = self.threshold * (lengths + m)
        possible = np.nonzero((2 * np.minimum(lengths, m) >= need) & (2 * overlap >= need))[0]
        best, where = 0.0, None
        for index in possible.tolist():
            score = rouge_l(words, self.texts[index])
            if score > best:
                best, where = score, index
        return best, where

    def too_similar(self, words: Sequence[str]) -> tuple[bool, float, int | None]:
        """Whether the candidate's best ROUGE-L reaches the threshold, with that score and the pool index it came from."""
        score, index = self.most_similar(words)
        return score >= self.threshold, score, index
