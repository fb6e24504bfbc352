"""Chat examples -> token ids and labels, with the loss on assistant tokens only.

The tokenizer's own chat template renders the conversation (base models without one get a ChatML fallback when
loaded, :func:`biohub.models.ensure_chat_template`). The characters each assistant turn adds — its content and the
template's end-of-turn marker, not the ``assistant`` header — are found by rendering growing prefixes of the
conversation: the text of the first k messages with the generation prompt is a prefix of the text of the first
k + 1 messages, and the difference is what the model must produce. Tokens whose characters start inside such a span
get their id as label; every other token (system, user, headers, template boilerplate) gets -100. A template that is
not prefix-stable is refused with a clear error rather than guessed at.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

IGNORE_INDEX = -100


@dataclass(frozen=True, slots=True)
class Tokenized:
    """One tokenized conversation: its token ids and, aligned with them, the label of each (its id on assistant
    tokens, ``IGNORE_INDEX`` elsewhere)."""

    input_ids: list[int]
    labels: list[int]

    @property
    def supervised(self) -> int:
        """How many tokens carry a label, i.e. count in the loss."""
        return sum(label != IGNORE_INDEX for label in self.labels)


def _render(tokenizer: Any, messages: Sequence[dict[str, str]], generation_prompt: bool = False) -> str:
    text: str = tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=generation_prompt)
    return text


def assistant_spans(tokenizer: Any, messages: Sequence[dict[str, str]]) -> tuple[str, list[tuple[int, int]]]:
    """The rendered conversation and the character spans each assistant turn adds to it."""
    text = _render(tokenizer, messages)
    spans = []
    for index, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        before = _render(tokenizer, messages[:index], generation_prompt=True) if index else ""
        upto = _render(tokenizer, messages[: index + 1])
        if not upto.startswith(before) or not text.startswith(upto):
            raise ValueError("the chat template is not prefix-stable; cannot locate assistant turns (give a template that is)")
        if message["content"] not in upto[len(before) :]:
            raise ValueError(f"assistant turn {index} is not rendered verbatim by the chat template")
        spans.append((len(before), len(upto)))
    return text, spans


def tokenize_conversation(tokenizer: Any, messages: Sequence[dict[str, str]], max_length: int | None = None) -> Tokenized:
    """Token ids of the rendered conversation and labels that supervise only assistant tokens.

    ``max_length``: refuse (ValueError) rather than truncate a longer example — the length policy of the data
    step keeps examples within the limit, so a longer one is a configuration error, not something to cut.
    """
    text, spans = assistant_spans(tokenizer, messages)
    encoding = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids, offsets = encoding["input_ids"], encoding["offset_mapping"]
    if max_length is not None and len(ids) > max_length:
        raise ValueError(f"example of {len(ids)} tokens exceeds max_length {max_length} (targets are never truncated)")
    labels = []
    for token, (start, end) in zip(ids, offsets):
        inside = any(span_start <= start < span_end for span_start, span_end in spans) and end > start
        labels.append(token if inside else IGNORE_INDEX)
    return Tokenized(list(ids), labels)
