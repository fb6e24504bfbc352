"""Label display-name files (templates/data/labels/<dataset>.yaml) against the catalog.

Every label code a catalogued dataset declares needs an English and a Chinese display name, because models read
these names in instructions and write them back in answers. Names must therefore be unambiguous (unique per
group and language, also after the lenient parser's normalisation) and free of the answer-format separators.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from biohub.converters.catalog import load_catalog
from biohub.templates import library
from biohub.templates.library import LANGUAGES, TemplateError, data_dir, label_names, punctuation
from tests.templates.coverage import needs_label_names

GROUPS = ("entity_types", "relation_types", "classes")
# Separators of the line/json answer formats (and the escape character); "、" because lenient multi-label parsing
# splits on it too.
FORBIDDEN = set(";；:：[]【】,，()（）<>〈〉\\、") | {"\n", "\r", "\t"}

CATALOG = load_catalog()
LABEL_FILES = sorted(path.stem for path in (data_dir() / "labels").glob("*.yaml"))


def _norm(name: str) -> str:
    """The lenient parser's comparison key (answers._norm): no blanks, '_' or '-', case-folded."""
    return re.sub(r"[\s_\-]+", "", name).casefold()


@pytest.mark.parametrize("dataset", sorted(CATALOG))
def test_every_declared_label_has_names(dataset: str) -> None:
    if not needs_label_names(CATALOG[dataset]):
        pytest.skip(f"{dataset}: no instruction of its tasks shows a label's display name (tests/templates/coverage.py)")
    labels = CATALOG[dataset].labels
    names = label_names(dataset)
    for group in GROUPS:
        declared = getattr(labels, group)
        if not declared:
            continue
        given = names.get(group, {})
        missing = [code for code in declared if code not in given]
        assert not missing, f"{dataset}.{group}: no display names for {missing}"
        extra = sorted(set(given) - set(declared))
        assert not extra, f"{dataset}.{group}: names for undeclared codes {extra} (typo?)"
        for code in declared:
            for language in LANGUAGES:
                name = given[code][language]
                assert isinstance(name, str) and name.strip(), f"{dataset}.{group}.{code}.{language}: empty name"


def test_label_files_belong_to_catalogued_datasets() -> None:
    assert LABEL_FILES, "no label files"
    unknown = [name for name in LABEL_FILES if name not in CATALOG]
    assert not unknown, f"label files for datasets not in the catalog: {unknown}"


@pytest.mark.parametrize("dataset", LABEL_FILES)
def test_names_are_clean_and_unambiguous(dataset: str) -> None:
    names = label_names(dataset)  # strict schema: groups, and both languages for every code
    for group, codes in names.items():
        assert codes, f"{dataset}.{group}: empty group"
        for code in codes:
            assert isinstance(code, str), f"{dataset}.{group}: code {code!r} is not a string (quote it in YAML)"
        for language in LANGUAGES:
            none_words = {word.casefold() for p in punctuation().values() for word in (p.none, *p.none_words)}
            seen: dict[str, str] = {}
            for code, by_language in codes.items():
                name = by_language[language]
                where = f"{dataset}.{group}.{code}.{language} = {name!r}"
                assert isinstance(name, str) and name, f"{where}: not a non-empty string (quote yes/no in YAML)"
                assert name == name.strip() and "  " not in name, f"{where}: stray blanks"
                bad = sorted(set(name) & FORBIDDEN)
                assert not bad, f"{where}: contains separator character(s) {bad}"
                assert name.casefold() not in none_words, f"{where}: reads as an empty answer"
                if language == "en":
                    assert name.isascii(), f"{where}: English name is not ASCII"
                key = _norm(name)
                assert key not in seen, f"{where}: same as the name of {seen[key]!r} (after normalisation)"
                seen[key] = code
            # a name must not read as another label's code under lenient matching either
            for code in codes:
                other = seen.get(_norm(code))
                assert other in (None, code), f"{dataset}.{group}.{language}: code {code!r} reads as the name of {other!r}"


@pytest.mark.parametrize(
    ("content", "where", "reason"),
    [
        ("colours: {red: {en: Red, zh: 红}}\n", "", "unknown key(s) colours"),
        ("classes: {pos: {en: Positive}}\n", ".classes.pos", "missing key(s) zh"),
        ("classes: {pos: {en: Positive, zh: 阳性, fr: Positif}}\n", ".classes.pos", "unknown key(s) fr"),
        ("classes: {pos: {en: 1, zh: 阳性}}\n", ".classes.pos.en", "expected a string"),
    ],
)
def test_a_malformed_label_file_is_an_error_naming_the_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str, where: str, reason: str
) -> None:
    (tmp_path / "labels").mkdir()
    path = tmp_path / "labels" / "toy.yaml"
    path.write_text(content, encoding="utf-8")
    monkeypatch.setattr(library, "data_dir", lambda: tmp_path)
    label_names.cache_clear()
    try:
        with pytest.raises(TemplateError) as caught:
            label_names("toy")
    finally:
        label_names.cache_clear()
    assert str(caught.value).startswith(f"{path}{where}:") and reason in str(caught.value), str(caught.value)
