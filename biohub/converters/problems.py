"""The converters' one problem vocabulary and the one exception a reader raises for a record it cannot convert.

Every rejection (a whole source record not converted) and every defect (an annotation dropped or repaired) is
counted under a :class:`Reason`, a closed vocabulary with one spelling per reason: the ledger keys, the
``rejections.jsonl`` rows and the catalog's ``known_rejections`` / ``known_defects`` all use these values, and a
catalog file naming a reason outside it fails when it is loaded.

A reader converting one record raises :class:`RecordRejected`; :meth:`biohub.converters.base.Reader.rejecting`
(the base class's reject loop) turns it into a counted rejection.
"""

from __future__ import annotations

import difflib
from enum import StrEnum

__all__ = ["Reason", "RecordRejected", "reason_of"]


class Reason(StrEnum):
    """Why a source record was rejected, or an annotation in a kept record dropped or repaired."""

    # rejections
    INVALID_RECORD = "invalid record"
    NOT_A_JSON_OBJECT = "not a JSON object"
    DUPLICATE_ID = "duplicate id"
    MISSING_FIELD = "missing field"
    BAD_FIELD_TYPE = "bad field type"
    EMPTY_TEXT = "empty text"
    MISSING_LABELS = "missing labels"
    BAD_LABEL = "bad label"
    EMPTY_LABEL = "empty label"
    EMPTY_OUTPUT = "empty output"
    EMPTY_TARGET = "empty target"
    UNKNOWN_LANGUAGE = "unknown language"
    BAD_CONVERSATION = "bad conversation"
    BAD_TURN = "bad turn"
    EMPTY_TURN = "empty turn"
    UNKNOWN_ROLE = "unknown role"
    DUPLICATE_QUESTION_ID = "duplicate question id"
    UNKNOWN_QUESTION_TYPE = "unknown question type"
    BAD_SNIPPET = "bad snippet"
    ANSWER_NOT_AMONG_CHOICES = "answer not among choices"
    MISSING_ANSWER = "missing answer"
    BAD_OFFSET = "bad offset"
    BAD_OFFSETS = "bad offsets"
    DOCUMENT_WITHOUT_TEXT = "document without text"
    OVERLAPPING_PASSAGES = "overlapping passages"
    MISSING_DOCUMENT_ID = "missing document id"
    DUPLICATE_DOCUMENT = "duplicate document"
    MISSING_PARTNER_FILE = "missing partner file"
    MALFORMED_ANNOTATION_LINE = "malformed annotation line"
    MISSING_TITLE = "missing title"
    PMID_MISMATCH = "PMID mismatch"
    UNEXPECTED_TEXT_LINE = "unexpected text line"
    WRONG_COLUMN_COUNT = "wrong column count"
    SCORES_WITHOUT_PAIR = "scores without pair"
    PAIR_WITHOUT_SCORES = "pair without scores"
    EMPTY_SENTENCE = "empty sentence"
    BAD_SCORE = "bad score"
    BAD_PAIR_NUMBER = "bad pair number"
    DUPLICATE_PAIR_NUMBER = "duplicate pair number"
    BAD_ENTITIES_FIELD = "bad entities field"
    BAD_SPO_LIST_FIELD = "bad spo_list field"
    DUPLICATE_PMID = "duplicate PMID"
    ANNOTATIONS_WITHOUT_ABSTRACT = "annotations without abstract"
    ENTITIES_MISSING_FILE_TRUNCATED = "entities missing (file truncated)"
    ENTITIES_POSSIBLY_TRUNCATED = "entities possibly truncated"
    ENTITY_LIST_INCOMPLETE = "entity list incomplete"
    RELATIONS_MISSING_FILE_TRUNCATED = "relations missing (file truncated)"
    RELATIONS_POSSIBLY_TRUNCATED = "relations possibly truncated"
    DUPLICATE_CASE_ID = "duplicate case id"
    EMPTY_QUESTION_OR_ANSWER = "empty question or answer"
    BAD_TOKEN = "bad token"
    UNKNOWN_TAG = "unknown tag"
    I_TAG_DOES_NOT_CONTINUE_A_CHUNK = "I- tag does not continue a chunk"
    EMPTY_REQUIRED_FIELD = "empty required field"
    BAD_VALUE = "bad value"
    NO_SENTENCES = "no sentences"
    MISSING_ATTRIBUTE = "missing attribute"
    MALFORMED_LABELS = "malformed labels"
    SENTENCE_LABEL_COUNT_MISMATCH = "sentence/label count mismatch"
    LABELS_FILE_MISSING = "labels file missing"
    TEXT_FILE_MISSING = "text file missing"
    MARKER_MISSING = "marker missing"
    AMBIGUOUS_MARKERS = "ambiguous markers"
    UNCLOSED_MARKER = "unclosed marker"
    CROSSING_MARKERS = "crossing markers"
    BAD_ARGUMENT_SPAN = "bad argument span"
    EMPTY_QUESTION = "empty question"
    FEWER_THAN_TWO_OPTIONS = "fewer than two options"
    EMPTY_OPTION = "empty option"
    DUPLICATE_OPTIONS = "duplicate options"
    BAD_ANSWER = "bad answer"
    ANSWER_LETTER_NOT_AMONG_OPTIONS = "answer letter not among options"
    TEXT_BEFORE_FIRST_OPTION = "text before first option"
    BAD_OPTIONS = "bad options"
    OPTION_LETTERS_OUT_OF_ORDER = "option letters out of order"
    CONTEXTS_AND_LABELS_DISAGREE = "contexts and labels disagree"
    DUPLICATE_QA_ID = "duplicate qa id"
    BAD_ANSWER_START = "bad answer start"
    LABEL_DISAGREES_WITH_GROUND_TRUTH = "label disagrees with ground truth"
    TOKEN_VECTOR_LENGTH_MISMATCH = "token vector length mismatch"
    WRONG_ENCODING = "wrong encoding"
    NESTED_EVENT_CYCLE = "nested event cycle"
    UNALIGNED_SENTENCE = "unaligned sentence"
    ALIGNED_LINE_OUT_OF_RANGE = "aligned line out of range"
    ALIGNMENT_DOES_NOT_MATCH_ITS_DOCUMENTS = "alignment does not match its documents"
    BAD_DECISION_TREE = "bad decision tree"
    # defects
    YES_NO_ANSWER_NORMALISED = "yes/no answer normalised"
    EMPTY_IDEAL_ANSWER_DROPPED = "empty ideal answer dropped"
    ANSWER_NOT_A_STRING_DROPPED = "answer not a string (dropped)"
    DUPLICATE_SYNONYM_DROPPED = "duplicate synonym dropped"
    EMPTY_ANSWER_DROPPED = "empty answer dropped"
    ANSWER_WHITESPACE_TRIMMED = "answer whitespace trimmed"
    DUPLICATE_ANNOTATION_ID = "duplicate annotation id"
    RELATION_WITHOUT_TYPE = "relation without type"
    RELATION_WITHOUT_ARGUMENTS = "relation without arguments"
    RELATION_CONCEPT_NOT_MENTIONED = "relation concept not mentioned"
    RELATION_WITHOUT_TWO_NODES = "relation without two nodes"
    RELATION_ARGUMENT_MISSING = "relation argument missing"
    REPEATED_INFON_KEY = "repeated infon key"
    ANNOTATION_WITHOUT_TYPE = "annotation without type"
    BAD_LOCATION = "bad location"
    ANNOTATION_WITHOUT_LOCATION = "annotation without location"
    ANNOTATION_REFERS_TO_A_MISSING_ANNOTATION = "annotation refers to a missing annotation"
    UNKNOWN_ANNOTATION_LINE = "unknown annotation line"
    MENTION_OFFSETS_OUT_OF_RANGE = "mention offsets out of range"
    MENTION_TEXT_DISAGREES_WITH_ITS_OFFSETS = "mention text disagrees with its offsets"
    MENTION_TEXT_PADDED_WITH_WHITESPACE_TRIMMED = "mention text padded with whitespace (trimmed)"
    DUPLICATE_RELATION = "duplicate relation"
    MALFORMED_MENTION = "malformed mention"
    OFFSETS_OUT_OF_RANGE = "offsets out of range"
    DUPLICATE_MENTION = "duplicate mention"
    MALFORMED_TRIPLE = "malformed triple"
    TRIPLE_NOT_IN_THE_SCHEMAS = "triple not in the schemas"
    ARGUMENT_NOT_FOUND_IN_TEXT = "argument not found in text"
    ORPHAN_I_TAG_OPENED_A_CHUNK = "orphan I- tag opened a chunk"
    ENTITY_MISSING_ATTRIBUTE = "entity missing attribute"
    BAD_CHAROFFSET = "bad charOffset"
    ENTITY_OFFSETS_SHIFTED_REPAIRED = "entity offsets shifted (repaired)"
    BAD_DDI_VALUE = "bad ddi value"
    PAIR_ARGUMENT_MISSING = "pair argument missing"
    DDI_PAIR_WITHOUT_TYPE_DROPPED = "ddi pair without type (dropped)"
    DDI_PAIR_WITHOUT_TYPE_TYPED_AS_DEFAULT = "ddi pair without type (typed as default)"
    OVERLAPPING_ARGUMENTS_DUPLICATED_TEXT_REPAIRED = "overlapping arguments (duplicated text repaired)"
    EMPTY_LAST_OPTION_DROPPED = "empty last option dropped"
    STRAY_QUOTE_LINE_IN_OPTION = "stray quote line in option"
    ANSWER_START_DOES_NOT_MATCH_CONTEXT = "answer start does not match context"
    GROUND_TRUTH_ROW_WITHOUT_A_RECORD = "ground-truth row without a record"
    ANNOTATION_FOR_AN_UNKNOWN_SENTENCE = "annotation for an unknown sentence"
    ANNOTATORS_DISAGREE = "annotators disagree"
    NO_VERIFIED_LABEL = "no verified label"
    LABEL_SPELLING_NORMALISED = "label spelling normalised"
    MENTION_OF_AN_UNKNOWN_SENTENCE = "mention of an unknown sentence"
    TOKEN_WITHOUT_TAG_KEPT = "token without tag (kept)"
    EVENT_WITHOUT_TYPE = "event without type"
    EVENT_WITHOUT_TRIGGER = "event without trigger"
    EVENT_ARGUMENT_MISSING = "event argument missing"
    NESTED_EVENTS_FORM_A_CYCLE = "nested events form a cycle"
    EVENT_WITHOUT_ARGUMENTS = "event without arguments"
    MENTION_LETTER_CASE_DIFFERS_KEPT = "mention letter case differs from the text (kept)"
    EMPTY_NORMALIZATION_TERM = "empty normalization term"
    DUPLICATE_NORMALIZATION = "duplicate normalization"
    MALFORMED_EVENT = "malformed event"
    DUPLICATE_EVENT = "duplicate event"
    TRIGGER_NOT_FOUND_IN_TEXT = "trigger not found in text"
    EMPTY_ARGUMENT = "empty argument"
    VALUE_WHITESPACE_TRIMMED = "value whitespace trimmed"
    MALFORMED_RELATION = "malformed relation"
    EMPTY_TURN_DROPPED = "empty turn dropped"
    NORMALIZATIONS_DO_NOT_ALIGN = "normalizations do not align with mentions"


def reason_of(value: Reason | str) -> Reason:
    """``value`` as a :class:`Reason`; a string outside the vocabulary is a ``ValueError`` that says "did you mean"."""
    try:
        return Reason(value)
    except ValueError:
        close = difflib.get_close_matches(str(value), [r.value for r in Reason], n=3)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ValueError(f"unknown problem reason {value!r}{hint} (see biohub.converters.problems.Reason)") from None


class RecordRejected(Exception):
    """Raised by a reader while converting one source record: the record is rejected under ``reason``.

    ``detail`` says exactly what is wrong; ``locator``, ``document_id`` and ``path``, when given, replace the ones the
    reject loop knows (a line inside a multi-line record; a key read from the record itself; the one file of a
    record read from several that is at fault)."""

    def __init__(
        self,
        reason: Reason | str,
        detail: str,
        locator: object | None = None,
        document_id: str | None = None,
        path: object | None = None,
    ) -> None:
        super().__init__(detail)
        self.reason = reason_of(reason)
        self.detail = detail
        self.locator = None if locator is None else str(locator)
        self.document_id = document_id
        self.path = None if path is None else str(path)
