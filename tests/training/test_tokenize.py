"""Assistant-only labels: every token outside an assistant turn is -100, multi-turn included."""

from __future__ import annotations

import pytest

from biohub.models import CHATML_FALLBACK, ensure_chat_template, load_tokenizer
from biohub.training.tokenize import IGNORE_INDEX, assistant_spans, tokenize_conversation

CONVERSATION = [
    {"role": "system", "content": "You are a careful clinical assistant."},
    {"role": "user", "content": "患者头痛三天，怎么办？"},
    {"role": "assistant", "content": "建议先测量血压；如持续头痛请就医。"},
    {"role": "user", "content": "Any red flags?"},
    {"role": "assistant", "content": "Answer: sudden severe onset; fever; neck stiffness"},
]


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer()


def _supervised_text(tokenizer, tokenized) -> str:
    return tokenizer.decode([t for t, label in zip(tokenized.input_ids, tokenized.labels) if label != IGNORE_INDEX])


def test_only_assistant_turns_are_supervised_in_a_multi_turn_chat(tokenizer) -> None:
    tokenized = tokenize_conversation(tokenizer, CONVERSATION)
    assert len(tokenized.input_ids) == len(tokenized.labels)
    supervised = _supervised_text(tokenizer, tokenized)
    assert (
        supervised
        == "建议先测量血压；如持续头痛请就医。<|im_end|>\nAnswer: sudden severe onset; fever; neck stiffness<|im_end|>\n"
    )
    text, spans = assistant_spans(tokenizer, CONVERSATION)
    encoding = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    for label, token, (start, _) in zip(tokenized.labels, encoding["input_ids"], encoding["offset_mapping"]):
        in_assistant = any(s <= start < e for s, e in spans)
        assert (label == token) if in_assistant else (label == IGNORE_INDEX)
    for role in ("system", "user"):
        for message in (m for m in CONVERSATION if m["role"] == role):
            assert message["content"] not in supervised


def test_default_system_prompt_and_headers_are_never_supervised(tokenizer) -> None:
    tokenized = tokenize_conversation(tokenizer, [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}])
    assert _supervised_text(tokenizer, tokenized) == "A<|im_end|>\n"
    rendered = tokenizer.decode(tokenized.input_ids)
    assert "SmolLM" in rendered and "<|im_start|>assistant\n" in rendered  # the template's default system prompt and header


def test_fallback_template_for_base_models_and_no_truncation(tokenizer) -> None:
    base = load_tokenizer()
    base.chat_template = None
    ensure_chat_template(base)
    assert base.chat_template == CHATML_FALLBACK
    tokenized = tokenize_conversation(base, CONVERSATION[1:3])
    assert _supervised_text(base, tokenized) == "建议先测量血压；如持续头痛请就医。<|im_end|>\n"
    with pytest.raises(ValueError, match="exceeds max_length 5"):
        tokenize_conversation(tokenizer, CONVERSATION, max_length=5)
