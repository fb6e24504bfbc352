"""Instruction generators behind one small interface: ``complete(prompts) -> texts`` (one text per prompt).

``--generator`` specs:

- ``local:default`` / ``local:PATH_OR_HUB_ID`` — a transformers model (the offline SmolLM2 by default), prompts
  sent as one user turn through its chat template, sampled (temperature 0.7, top-p 0.9) in batches;
- ``openai:MODEL@BASE_URL`` — any OpenAI-compatible ``/chat/completions`` endpoint. The key is read from the
  environment variable ``BIOHUB_GENERATOR_KEY`` (or ``OPENAI_API_KEY``), sent only as a bearer header and never
  logged or shown in errors. Requests run with a concurrency limit, retries with exponential backoff on 429/5xx and
  network errors, and a request budget (``BudgetExhausted`` once spent).
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from biohub.errors import BiohubError

KEY_VARIABLES = ("BIOHUB_GENERATOR_KEY", "OPENAI_API_KEY")
RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}


class Generator(Protocol):
    """What the self-instruct pipeline needs of a model: a name to record, and answers to a batch of prompts."""

    name: str

    def complete(self, prompts: Sequence[str]) -> list[str]:
        """One answer per prompt, in prompt order (each prompt sent as a single user turn)."""
        ...


class GeneratorError(BiohubError, RuntimeError):
    """A request failed for good (after retries) or the spec is malformed; the message never contains the key."""


class BudgetExhausted(GeneratorError):
    """The request budget is spent."""


class _Retryable(Exception):
    """A failed request worth another attempt (a network error, an HTTP status in RETRY_STATUS); the text says which."""


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
    """An OpenAI-compatible chat-completions endpoint."""

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
    requests_made: int = field(init=False, default=0)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.name = f"openai:{self.model}@{self.base_url}"
        self._key = next((os.environ[v] for v in KEY_VARIABLES if os.environ.get(v)), None)

    def _spend(self) -> None:
        with self._lock:
            if self.budget is not None and self.requests_made >= self.budget:
                raise BudgetExhausted(f"request budget of {self.budget} spent")
            self.requests_made += 1

    def delay(self, retry_state: RetryCallState) -> float:
        """Seconds before the next attempt: ``backoff`` doubled per attempt made, capped at 60, times a jitter in [0.5, 1)."""
        return min(60.0, self.backoff * 2.0 ** (retry_state.attempt_number - 1)) * (0.5 + random.random() / 2)

    def _one(self, client: httpx.Client, prompt: str) -> str:
        """One prompt's answer: tenacity retries a network error or a RETRY_STATUS answer, each attempt spends budget."""
        body = {
            "model": self.model,
            "messages": [{"role": "user", "content": prompt}],
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }
        headers = {"Authorization": f"Bearer {self._key}"} if self._key else {}
        retrying = Retrying(stop=stop_after_attempt(self.retries + 1), wait=self.delay, retry=retry_if_exception_type(_Retryable),
                            sleep=time.sleep, reraise=True)
        try:
            return retrying(self._attempt, client, body, headers)
        except _Retryable as exc:
            raise GeneratorError(f"{self.name}: failed after {self.retries + 1} attempts (last: {exc})") from None

    def _attempt(self, client: httpx.Client, body: dict[str, Any], headers: dict[str, str]) -> str:
        """One request: the answer's text, a GeneratorError for good, or ``_Retryable`` saying why it is worth a retry."""
        self._spend()
        try:
            url = f"{self.base_url.rstrip('/')}/chat/completions"
            answer = client.post(url, json=body, headers=headers, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise _Retryable(f"network error ({type(exc).__name__})") from None
        if answer.status_code == 200:
            try:
                return str(answer.json()["choices"][0]["message"]["content"])
            except (ValueError, KeyError, IndexError, TypeError):
                raise GeneratorError(f"{self.name}: malformed response (no choices[0].message.content)") from None
        if answer.status_code not in RETRY_STATUS:
            raise GeneratorError(f"{self.name}: HTTP {answer.status_code} (not retried)")
        raise _Retryable(f"HTTP {answer.status_code}")

    def complete(self, prompts: Sequence[str]) -> list[str]:
        """Answers from ``concurrency`` parallel requests, in prompt order; the first request that fails for good
        raises :class:`GeneratorError` (or :class:`BudgetExhausted`)."""
        with httpx.Client(trust_env=False) as client, ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return list(pool.map(lambda prompt: self._one(client, prompt), prompts))


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
