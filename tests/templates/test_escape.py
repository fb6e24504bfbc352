"""Unit tests for the backslash escaping of the line answer format (biohub/templates/escape.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biohub.templates.escape import escape, is_reserved, split_unescaped, strip_unescaped, unescape

BS = "\\"


# ------------------------------------------------------------------------------------------ escape
@pytest.mark.parametrize(
    ("text", "specials", "expected"),
    [
        ("abc", ";", "abc"),
        ("", ";", ""),
        ("a,b", ";", "a,b"),  # only the given specials are escaped
        ("a;b；c", ";；", "a\\;b\\；c"),
        ("a\\b", "", "a\\\\b"),  # a backslash is always escaped
        ("\\", "", "\\\\"),
        ("a\nb\tc\rd", "", "a\\nb\\tc\\rd"),  # named escapes, never raw line breaks
        ("a\n", "", "a\\n"),
        (" a", ";", "\\ a"),  # edge whitespace is escaped so stripping keeps it
        ("a ", ";", "a\\ "),
        (" ", ";", "\\ "),
        ("  ", ";", "\\ \\ "),
        (" a ", ";", "\\ a\\ "),
        ("a b", ";", "a b"),  # inner whitespace is left alone
        ("\u3000全角\u3000", "", "\\\u3000全角\\\u3000"),
        ("a\\ ", "", "a\\\\\\ "),  # text ending in backslash + space: both escaped
        ("[x, y]", "[],", "\\[x\\, y\\]"),
    ],
)
def test_escape(text: str, specials: str, expected: str) -> None:
    assert escape(text, specials) == expected
    assert unescape(escape(text, specials)) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("None", "\\None"),
        ("NONE", "\\NONE"),  # reserved words match case-insensitively
        ("none", "n\\one"),  # "\n" would be a newline: the first escapable letter is used instead
        ("nil", "n\\il"),
        ("N/A", "\\N/A"),
        ("无", "\\无"),
        ("Nonesuch", "Nonesuch"),  # only whole items are reserved
        (" None", "\\ None"),  # not the word (leading space), escaped only for the space
    ],
)
def test_escape_reserved(text: str, expected: str) -> None:
    reserved = ("None", "nil", "N/A", "无")
    assert escape(text, ";", reserved) == expected
    assert not is_reserved(escape(text, ";", reserved), reserved)
    assert unescape(escape(text, ";", reserved)) == text


def test_escape_reserved_word_already_escaped_gets_no_extra_backslash() -> None:
    # "n;" escapes to "n\;": it already holds a backslash, so it reads as text; escaping the ';' a second time
    # would turn it into an escaped backslash followed by a bare separator.
    escaped = escape("n;", ";", reserved=("n;",))
    assert escaped == "n\\;"
    assert split_unescaped(escaped, ";") == [escaped]
    assert unescape(escaped) == "n;"
    assert not is_reserved(escaped, ("n;",))


def test_escape_reserved_made_of_named_letters_is_an_error() -> None:
    with pytest.raises(ValueError, match="reserved"):
        escape("nt", "", reserved=("NT",))


# ------------------------------------------------------------------------------------------ split_unescaped
@pytest.mark.parametrize(
    ("text", "seps", "expected"),
    [
        ("a;b", ";", ["a", "b"]),
        ("a; b", ";", ["a", " b"]),  # pieces are not stripped
        ("a\\;b", ";", ["a\\;b"]),  # pieces stay escaped
        ("a\\\\;b", ";", ["a\\\\", "b"]),  # escaped backslash, then a real separator
        ("a;b；c", ";；", ["a", "b", "c"]),
        ("a;b；c", ";", ["a", "b；c"]),
        ("", ";", [""]),
        (";", ";", ["", ""]),
        ("a;", ";", ["a", ""]),
        (";;", ";", ["", "", ""]),
        ("a\\", ";", ["a\\"]),  # trailing lone backslash kept
        ("a\\;", ";", ["a\\;"]),
        ("\\n;\\t", ";", ["\\n", "\\t"]),
        ("x,y;z", ",;", ["x", "y", "z"]),
    ],
)
def test_split_unescaped(text: str, seps: str, expected: list[str]) -> None:
    assert split_unescaped(text, seps) == expected


# ------------------------------------------------------------------------------------------ strip_unescaped
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  a  ", "a"),
        ("\t a \n", "a"),
        ("\u3000a\u3000", "a"),
        ("", ""),
        ("   ", ""),
        ("a\\ ", "a\\ "),  # an escaped trailing space is kept
        ("a\\  ", "a\\ "),  # ... but not the unescaped one after it
        ("a\\\\ ", "a\\\\"),  # an escaped backslash does not escape the space after it
        ("a\\\\\\ ", "a\\\\\\ "),
        (" \\ a", "\\ a"),  # leading: the escape sits before the space, so stripping stops at the backslash
        ("a\\\t", "a\\\t"),
    ],
)
def test_strip_unescaped(text: str, expected: str) -> None:
    assert strip_unescaped(text) == expected


# ------------------------------------------------------------------------------------------ unescape
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", "plain"),
        ("", ""),
        ("\\n", "\n"),
        ("\\t", "\t"),
        ("\\r", "\r"),
        ("\\\\", "\\"),
        ("\\\\n", "\\n"),  # escaped backslash, then a plain n
        ("\\;", ";"),
        ("\\ ", " "),
        ("\\x", "x"),  # any other escaped character stands for itself
        ("\\无", "无"),
        ("a\\", "a\\"),  # a trailing lone backslash is kept
        ("\\\\\\", "\\\\"),
    ],
)
def test_unescape(text: str, expected: str) -> None:
    assert unescape(text) == expected


# ------------------------------------------------------------------------------------------ is_reserved
@pytest.mark.parametrize(
    ("item", "reserved", "expected"),
    [
        ("None", ("None",), True),
        ("NONE", ("None",), True),
        ("none", ("None",), True),
        ("无", ("无", "没有"), True),
        ("没有", ("无", "没有"), True),
        ("\\None", ("None",), False),  # escaped: text
        ("n\\one", ("None",), False),
        ("None ", ("None",), False),  # raw items are compared as given (callers strip first)
        ("Nonesuch", ("None",), False),
        ("None", (), False),
        ("", ("None",), False),
    ],
)
def test_is_reserved(item: str, reserved: tuple[str, ...], expected: bool) -> None:
    assert is_reserved(item, reserved) is expected


# ------------------------------------------------------------------------------------------ properties
SPECIALS = ";；,，[]【】"
TEXT = st.text(alphabet=st.sampled_from(list("ab无 \t\n\r\\\u3000\x0b" + SPECIALS + "nNoe")) | st.characters(), max_size=12)
RESERVED = ("None", "none", "无", "N/A", "No entities")


@settings(max_examples=300, deadline=None)
@given(items=st.lists(TEXT | st.sampled_from(RESERVED), min_size=1, max_size=5), sep=st.sampled_from([";", "；", ","]))
def test_escaped_items_survive_join_split_strip(items: list[str], sep: str) -> None:
    escaped = [escape(item, SPECIALS, RESERVED) for item in items]
    joined = (sep + " ").join(escaped)
    pieces = split_unescaped(joined, SPECIALS)
    assert len(pieces) == len(items)
    assert [unescape(strip_unescaped(piece)) for piece in pieces] == items
    assert not any(is_reserved(strip_unescaped(piece), RESERVED) for piece in pieces)
    assert "\n" not in joined and "\r" not in joined
