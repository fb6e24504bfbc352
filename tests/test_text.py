"""The shared text helpers: one CJK rule, Chinese words, seeded hash choices pinned to the values built data holds."""

from __future__ import annotations

import pytest

from biohub.text import chinese_words, cjk_count, has_cjk, seeded_choice, seeded_digest, seeded_fraction


@pytest.mark.parametrize("char", ["中", "鿿", "䓬", "㐀", "の", "カ", "ー", "・", "豈"])
def test_cjk_characters(char: str) -> None:
    assert has_cjk(char) and cjk_count(f"a{char}b{char}") == 2


@pytest.mark.parametrize("char", ["a", "é", "1", "，", "。", "（", "Ａ", "한", "\u2fff", "\u3000", "\ufb00"])
def test_not_cjk_characters(char: str) -> None:
    assert not has_cjk(char) and cjk_count(char) == 0


def test_every_user_of_the_cjk_rule_agrees_with_it() -> None:
    from biohub.hub.decontam import is_cjk
    from biohub.selfinstruct.tasks import language_of
    from biohub.templates.answers import _LETTER_BLOCK, _starts_with

    assert is_cjk("苯二氮䓬 ab") and not is_cjk("苯 abcdef")
    assert language_of("カタカナのテキスト") == "zh" and language_of("plain English text") == "en"
    assert _starts_with("䓬类药物", "䓬类") and not _starts_with("xyz", "䓬类")
    assert _LETTER_BLOCK.match("AB䓬") and _LETTER_BLOCK.match("ABの") and not _LETTER_BLOCK.match("AB한")


def test_chinese_words_drop_punctuation_and_spaces() -> None:
    words = chinese_words("患者出现发热， 咳嗽3天。")
    assert "".join(words) == "患者出现发热咳嗽3天"
    assert all(word.strip() and any(ch.isalnum() for ch in word) for word in words)


def test_seeded_choices_are_the_values_built_data_was_made_with() -> None:
    # pinned: template choice, record order and hold-out of existing builds depend on these exact numbers
    assert [seeded_choice(10, 3, f"key{index}") for index in range(12)] == [3, 1, 5, 6, 7, 9, 7, 1, 1, 7, 7, 2]
    assert seeded_digest(0, "pubmedqa", "doc1").hex()[:16] == "2b47e6859adfa6e1"
    assert seeded_fraction("bc5cdr", "holdout", "123") == pytest.approx(0.761213965707128, abs=1e-15)
    assert seeded_digest(0, "a\x00b") == seeded_digest(0, "a", "b")  # parts are joined by NUL, as the keys always were
