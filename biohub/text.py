"""Text helpers shared by every stage: which characters are CJK, Chinese words, and seeded hash choices.

- **CJK characters** (one rule for biohub): kana, the CJK Unified Ideographs with extension A, and the CJK
  compatibility ideographs. Decontamination compares mostly-CJK texts by characters, the answer parsers match
  Chinese names without word boundaries, selfinstruct tells Chinese from English instructions, all by this rule.
- **Chinese words**: jieba's segmentation, words that hold a letter or digit (ROUGE for Chinese, the novelty filter).
- **Seeded hash choices**: a sha256 of the seed and keys joined by NUL, so a choice depends only on what it is about,
  never on the order things are visited or on Python's per-process ``hash`` salt.
"""

from __future__ import annotations

import hashlib
import re

__all__ = ["CJK_CHARACTERS", "chinese_words", "cjk_count", "has_cjk", "seeded_choice", "seeded_digest", "seeded_fraction"]

# the body of a regular-expression character class: kana, ideographs (extension A, unified), compatibility ideographs
CJK_CHARACTERS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK = re.compile(f"[{CJK_CHARACTERS}]")


def has_cjk(text: str) -> bool:
    """Whether ``text`` holds a CJK character."""
    return _CJK.search(text) is not None


def cjk_count(text: str) -> int:
    """How many characters of ``text`` are CJK characters."""
    return len(_CJK.findall(text))


def chinese_words(text: str) -> list[str]:
    """jieba words of ``text`` that hold a letter or digit (punctuation and spaces dropped)."""
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    return [word for word in jieba.lcut(text) if word.strip() and any(ch.isalnum() for ch in word)]


def seeded_digest(*parts: object) -> bytes:
    """The sha256 digest of ``parts`` (a seed, a salt, a key ...) as text joined by NUL: a sort key for seeded orders."""
    return hashlib.sha256("\x00".join(str(part) for part in parts).encode()).digest()


def seeded_fraction(*parts: object) -> float:
    """A number in ``[0, 1)`` fixed by ``parts`` (the first 8 bytes of :func:`seeded_digest`)."""
    return int.from_bytes(seeded_digest(*parts)[:8], "big") / 2**64


def seeded_choice(count: int, *parts: object) -> int:
    """A deterministic, order-independent choice in ``range(count)`` fixed by ``parts``."""
    return int.from_bytes(seeded_digest(*parts)[:8], "big") % count
