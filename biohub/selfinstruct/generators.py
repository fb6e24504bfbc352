"""Instruction generators behind one small interface: ``complete(prompts) -> texts`` (one text per prompt).

``--generator`` specs:

- ``local:default`` / ``local:PATH_OR_HUB_ID`` — a transformers model (the offline SmolLM2 by default), prompts
  sent as one user turn through its chat template, sampled (temperature 0.7, top-p 0.9) in batches;
- ``openai:MODEL@BASE_URL`` — any OpenAI-compatible ``/chat/completions`` endpoint, through the client
  ``biohub eval --backend openai`` uses (:mod:`biohub.chat_client`, on the official ``openai`` SDK). The key is read
  from the environment variable ``BIOHUB_GENERATOR_KEY`` (or ``OPENAI_API_KEY``), sent only as a bearer header and
  never logged or shown in errors. Requests run with a concurrency limit, retries with exponential backoff on 429/5xx
  and network errors, and a request budget (``BudgetExhausted`` once spent).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from biohub.chat_client import BudgetExhausted, ChatClient, ChatClientError

__all__ = [
    "KEY_VARIABLES", "BudgetExhausted", "Generator", "GeneratorError", "LocalGenerator", "OpenAIGenerator", "make_generator"
]  # fmt: skip

KEY_VARIABLES = ("BIOHUB_GENERATOR_KEY", "OPENAI_API_KEY")


class Generator(Protocol):
    """What the self-instruct pipeline needs of a model: a name to record, and answers to a batch of prompts."""

    name: str

    def complete(self, prompts: Sequence[str]) -> list[str]:
        """One answer per prompt, in prompt order (each prompt sent as a single user turn)."""
        ...


GeneratorError = ChatClientError  # a request failed for good (after retries) or the spec is malformed; never the key


@dataclass
class LocalGenerator:
    """A transformers causal LM (``default`` = the offline SmolLM2-135M-Instruct)."""

    spec: str = "default"
    temperature: float = 0.7
    top_p: float = 0.9
    max_new_tokens: int = 384
    batch_size: int = 8
    seed: int = 0
    name: str = field(init=False)
    _loaded: Any = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.name = f"local:{self.spec}"

    def complete(self, prompts: Sequence[str]) -> list[str]:
        """Sampled answers (``temperature``, ``top_p``, seeded once at load), generated in batches of ``batch_size``."""
        import torch

        from biohub.models import default_device, left_padded, load_model, pad_id, prompt_ids

        if self._loaded is None:
            self._loaded = load_model(self.spec, device=default_device())
            torch.manual_seed(self.seed)
        model, tokenizer = self._loaded
        pad = pad_id(tokenizer)
        device = next(model.parameters()).device
        texts: list[str] = []
        for start in range(0, len(prompts), self.batch_size):
            batch = prompts[start : start + self.batch_size]
            encoded = [prompt_ids(tokenizer, [{"role": "user", "content": p}]) for p in batch]
            input_ids, attention = left_padded(encoded, pad, device)
            with torch.inference_mode():
                out = model.generate(
                    input_ids=input_ids, attention_mask=attention, max_new_tokens=self.max_new_tokens, do_sample=True,
                    temperature=self.temperature, top_p=self.top_p, pad_token_id=pad,
                )  # fmt: skip
            texts.extend(tokenizer.decode(row, skip_special_tokens=True) for row in out[:, input_ids.shape[1] :].tolist())
        return texts


@dataclass
class OpenAIGenerator:
    """An OpenAI-compatible chat-completions endpoint, through :class:`biohub.chat_client.ChatClient` (the official
    ``openai`` SDK; concurrency, retries with backoff, request budget; key from ``BIOHUB_GENERATOR_KEY`` or
    ``OPENAI_API_KEY``)."""

    model: str
    base_url: str
    concurrency: int = 4
    retries: int = 5
    backoff: float = 1.0  # seconds, doubled per retry (with jitter), capped at 60
    budget: int | None = None  # most requests (retries included)
    temperature: float = 0.7
    max_tokens: int = 1024
    timeout: float = 120.0
    name: str = field(init=False)
    client: ChatClient = field(init=False)

    def __post_init__(self) -> None:
        self.name = f"openai:{self.model}@{self.base_url}"
        self.client = ChatClient(
            self.model, self.base_url, KEY_VARIABLES, concurrency=self.concurrency, retries=self.retries,
            backoff=self.backoff, max_requests=self.budget, timeout=self.timeout,
        )  # fmt: skip

    @property
    def requests_made(self) -> int:
        """Requests sent so far (retries included)."""
        return self.client.requests_made

    def complete(self, prompts: Sequence[str]) -> list[str]:
        """Answers from ``concurrency`` parallel requests, in prompt order; the first request that fails for good
        raises :class:`GeneratorError` (or :class:`BudgetExhausted`)."""
        conversations = [[{"role": "user", "content": prompt}] for prompt in prompts]
        found = dict(self.client.chat_many(conversations, {"temperature": self.temperature, "max_tokens": self.max_tokens}))
        return [found[index].text for index in range(len(prompts))]


def make_generator(spec: str, *, seed: int = 0, budget: int | None = None, concurrency: int = 4) -> Generator:
    """``local:default``, ``local:PATH_OR_ID`` or ``openai:MODEL@BASE_URL``."""
    kind, _, rest = spec.partition(":")
    if kind == "local":
        return LocalGenerator(rest or "default", seed=seed)
    if kind == "openai" and "@" in rest:
        model, _, base_url = rest.partition("@")
        if model and base_url.startswith(("http://", "https://")):
            return OpenAIGenerator(model, base_url, budget=budget, concurrency=concurrency)
    raise GeneratorError(f"--generator {spec!r}: expected local:default, local:PATH_OR_HUB_ID or openai:MODEL@https://HOST/v1")
