"""A client of OpenAI-compatible chat-completions servers (vLLM ``serve``, SGLang, TGI, llama.cpp's server, Ollama, a
hosted API) on the official ``openai`` SDK, shared by ``biohub eval --backend openai`` and the self-instruct generator.

What it adds to the SDK, for long evaluation and generation runs:

- **bounded concurrency**: :meth:`ChatClient.chat_many` keeps at most ``concurrency`` requests in flight and yields
  each answer as it arrives (callers write it at once, so a killed run loses only the requests in flight);
- **retries with backoff** on HTTP 408/409/429/5xx and network errors (tenacity; the SDK's own retries are off, so
  every attempt is counted): ``backoff`` seconds doubled per attempt, capped at 60, times a jitter in [0.5, 1), or
  longer where the server's ``Retry-After`` (or ``retry-after-ms``) asks for it, up to 300 s;
- **a budget**: at most ``max_requests`` requests (retries included) and ``max_tokens_total`` tokens (the servers'
  ``usage.total_tokens``; a server that reports none counts nothing); once spent, :class:`BudgetExhausted`;
- **the key** from the first set environment variable of ``key_variables`` (``BIOHUB_EVAL_KEY`` or
  ``BIOHUB_GENERATOR_KEY``, then ``OPENAI_API_KEY``), sent only as the SDK's bearer header, never logged, never in an
  error message or a file. Without one, the placeholder ``EMPTY`` is sent (local servers ignore it).
"""

from __future__ import annotations

import functools
import os
import random
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, stop_when_event_set

from biohub.errors import BiohubError

__all__ = ["RETRY_STATUS", "BudgetExhausted", "ChatClient", "ChatClientError", "Completion", "parse_server_spec"]

RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})
T = TypeVar("T")
MAX_RETRY_AFTER = 300.0  # the longest server-asked wait (Retry-After) honoured before a retry, in seconds
NO_KEY = "EMPTY"  # what vLLM's and llama.cpp's docs send to a server started without --api-key


class ChatClientError(BiohubError, RuntimeError):
    """A request failed for good (after retries), the answer is malformed, or the spec is; never contains the key."""


class BudgetExhausted(ChatClientError):
    """The request or token budget is spent."""


class _Retryable(Exception):
    """A failed attempt worth another one (a network error, an HTTP status in RETRY_STATUS); the text says which, and
    ``after`` the seconds the server asked to wait (its ``Retry-After``), if it did."""

    def __init__(self, message: str, after: float | None = None) -> None:
        super().__init__(message)
        self.after = after


def _retry_after(headers: Any) -> float | None:
    """The wait a response asks for, in seconds: ``retry-after-ms`` or ``retry-after`` given in seconds (an HTTP date
    is not read); None without one."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        try:
            value = float(headers.get(name))
        except (TypeError, ValueError):
            continue
        if value >= 0:
            return value * scale
    return None


@dataclass(frozen=True, slots=True)
class Completion:
    """One answer: its text, the model id the server answered with, token counts as the server reports them (None
    when it reports none) and why it stopped (``stop``, ``length``)."""

    text: str
    model: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    finish_reason: str | None


def parse_server_spec(spec: str, what: str) -> tuple[str, str]:
    """(model, base URL) of ``MODEL@http(s)://HOST/v1``; ``what`` names the option in the error."""
    model, at, base_url = spec.partition("@")
    if not (model and at and base_url.startswith(("http://", "https://"))):
        raise ChatClientError(f"{what} {spec!r}: expected MODEL@http(s)://HOST/v1")
    return model, base_url


@dataclass
class ChatClient:
    """Chat completions from ``model`` at ``base_url`` (module doc: concurrency, retries, budget, key)."""

    model: str
    base_url: str
    key_variables: tuple[str, ...] = ("OPENAI_API_KEY",)
    concurrency: int = 4
    retries: int = 5
    backoff: float = 1.0
    max_requests: int | None = None
    max_tokens_total: int | None = None
    timeout: float = 120.0
    requests_made: int = field(init=False, default=0)
    tokens_used: int = field(init=False, default=0)
    served_models: set[str] = field(init=False, default_factory=set)  # the model ids the server answered with
    _lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)
    _sdk: Any = field(init=False, repr=False, default=None)
    _halt: threading.Event = field(init=False, repr=False, default_factory=threading.Event)  # a run_many call failed

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ChatClientError(f"concurrency must be at least 1, not {self.concurrency}")

    @property
    def name(self) -> str:
        """``MODEL@BASE_URL`` (no key)."""
        return f"{self.model}@{self.base_url}"

    def _client(self) -> Any:
        """The SDK client (made once, under the lock; the SDK client itself is thread-safe), without its own retries."""
        with self._lock:
            if self._sdk is None:
                from openai import OpenAI

                key = next((os.environ[v] for v in self.key_variables if os.environ.get(v)), None)
                self._sdk = OpenAI(api_key=key or NO_KEY, base_url=self.base_url, max_retries=0, timeout=self.timeout)
            return self._sdk

    def _spend(self) -> None:
        """Count one request against the budget, or raise :class:`BudgetExhausted`."""
        with self._lock:
            if self.max_requests is not None and self.requests_made >= self.max_requests:
                raise BudgetExhausted(f"{self.name}: request budget of {self.max_requests} spent")
            if self.max_tokens_total is not None and self.tokens_used >= self.max_tokens_total:
                raise BudgetExhausted(f"{self.name}: token budget of {self.max_tokens_total:,} spent ({self.tokens_used:,} used)")
            self.requests_made += 1

    def delay(self, retry_state: RetryCallState) -> float:
        """Seconds before the next attempt: ``backoff`` doubled per attempt made, capped at 60, times a jitter in [0.5,
        1); at least what the server asked for in ``Retry-After`` (up to :data:`MAX_RETRY_AFTER`)."""
        wait = min(60.0, self.backoff * 2.0 ** (retry_state.attempt_number - 1)) * (0.5 + random.random() / 2)
        failed = retry_state.outcome.exception() if retry_state.outcome is not None else None
        asked = getattr(failed, "after", None)
        return max(wait, min(float(asked), MAX_RETRY_AFTER)) if asked is not None else wait

    def chat(self, messages: Sequence[dict[str, str]], **options: Any) -> Completion:
        """One conversation's answer (``options``: the SDK's ``max_tokens``, ``temperature``, ``top_p``, ``seed``, ...);
        retried as the module doc says; :class:`ChatClientError` when it fails for good."""
        return self._retried(self._chat_attempt, [dict(m) for m in messages], options)

    def prompt_logprobs(self, prompts: Sequence[Sequence[int]]) -> list[list[float | None]]:
        """Per prompt (token ids), the log-probability of each of its tokens given the ones before (None for the
        first), from one ``/completions`` request with ``echo`` and ``logprobs`` (as lm-eval's ``local-completions``
        asks: ``max_tokens`` 1, temperature 0). A server that does not return them (most hosted chat APIs) fails with
        a :class:`ChatClientError` saying so."""
        return self._retried(self._logprob_attempt, [list(p) for p in prompts], {})

    def _retried(self, attempt: Callable[[Any, dict[str, Any]], T], payload: Any, options: dict[str, Any]) -> T:
        """``attempt(payload, options)`` with tenacity's retries (module doc)."""
        retrying = Retrying(
            stop=stop_after_attempt(self.retries + 1) | stop_when_event_set(self._halt),
            wait=self.delay, retry=retry_if_exception_type(_Retryable), sleep=time.sleep, reraise=True,
        )  # fmt: skip
        try:
            return retrying(attempt, payload, options)
        except _Retryable as exc:
            if self._halt.is_set():
                raise ChatClientError(f"{self.name}: not retried (another request of the run failed; last: {exc})") from None
            raise ChatClientError(f"{self.name}: failed after {self.retries + 1} attempts (last: {exc})") from None

    def _send(self, request: Any) -> Any:
        """One request through the SDK (``request(client)``), spending budget; errors mapped as the module doc says."""
        import openai

        if self._halt.is_set():  # (a retry or a call started after another request of the run failed)
            raise ChatClientError(f"{self.name}: not sent (another request of the run failed)")
        self._spend()
        try:
            answer = request(self._client())
        except openai.APIStatusError as exc:
            if exc.status_code in RETRY_STATUS:
                raise _Retryable(f"HTTP {exc.status_code}", _retry_after(exc.response.headers)) from None
            raise ChatClientError(f"{self.name}: HTTP {exc.status_code} (not retried)") from None
        except (openai.APITimeoutError, openai.APIConnectionError) as exc:
            raise _Retryable(f"network error ({type(exc).__name__})") from None
        total, served = getattr(getattr(answer, "usage", None), "total_tokens", None), getattr(answer, "model", None)
        with self._lock:
            if isinstance(total, int):
                self.tokens_used += total
            if isinstance(served, str):
                self.served_models.add(served)
        return answer

    def _chat_attempt(self, messages: list[dict[str, str]], options: dict[str, Any]) -> Completion:
        """One chat request: the answer, a ChatClientError for good, or ``_Retryable``."""
        answer = self._send(lambda client: client.chat.completions.create(model=self.model, messages=messages, **options))
        try:
            choice = answer.choices[0]
            text = choice.message.content
        except (AttributeError, IndexError, TypeError):
            choice, text = None, None
        if not isinstance(text, str):
            raise ChatClientError(f"{self.name}: malformed response (no choices[0].message.content)")
        usage = getattr(answer, "usage", None)
        return Completion(
            text, getattr(answer, "model", None), getattr(usage, "prompt_tokens", None),
            getattr(usage, "completion_tokens", None), getattr(choice, "finish_reason", None),
        )  # fmt: skip

    def _logprob_attempt(self, prompts: list[list[int]], options: dict[str, Any]) -> list[list[float | None]]:
        """One echo-and-logprobs request over ``prompts``: their token log-probabilities, in prompt order."""
        try:
            answer = self._send(
                lambda client: client.completions.create(
                    model=self.model, prompt=prompts, max_tokens=1, temperature=0.0, echo=True, logprobs=1
                )
            )
        except ChatClientError as exc:
            raise ChatClientError(f"{exc}: the server did not return prompt log-probabilities (a /completions request "
                                  "with echo and logprobs), which the log-likelihood protocol needs") from None
        found: dict[int, list[float | None]] = {}
        for position, choice in enumerate(getattr(answer, "choices", None) or []):
            values = getattr(getattr(choice, "logprobs", None), "token_logprobs", None)
            index = getattr(choice, "index", position)
            if isinstance(values, list) and isinstance(index, int):
                found[index] = values
        if sorted(found) != list(range(len(prompts))) or any(len(found[i]) < len(p) for i, p in enumerate(prompts)):
            raise ChatClientError(f"{self.name}: the server did not return prompt log-probabilities for every prompt "
                                  "(echo with logprobs), which the log-likelihood protocol needs")
        return [found[i][: len(p)] for i, p in enumerate(prompts)]

    def chat_many(
        self, conversations: Sequence[Sequence[dict[str, str]]], options: Sequence[dict[str, Any]] | dict[str, Any]
    ) -> Iterator[tuple[int, Completion]]:
        """(index, answer) of every conversation as answers arrive, at most ``concurrency`` in flight; ``options``: the
        SDK options of every request, or one mapping per conversation. The first failure stops the run: nothing more
        is sent (no new request, no retry of one in flight), the requests in flight are awaited and their answers
        yielded (they are paid for), then the first error is raised."""
        each = [options] * len(conversations) if isinstance(options, dict) else list(options)
        if len(each) != len(conversations):
            raise ValueError(f"{len(each)} option sets for {len(conversations)} conversations")
        return self.run_many([functools.partial(self.chat, m, **o) for m, o in zip(conversations, each)])

    def run_many(self, calls: Sequence[Callable[[], T]]) -> Iterator[tuple[int, T]]:
        """(index, result) of each call (each one request of this client) as they finish, at most ``concurrency`` at
        a time; the first failure stops the run as :meth:`chat_many` says."""
        pending: dict[Future[T], int] = {}
        failure: BaseException | None = None
        self._halt.clear()
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            try:
                for index, call in enumerate(calls):
                    pending[pool.submit(self._halting, call)] = index
                    if len(pending) >= self.concurrency:
                        failure = yield from _arrived(pending, failure)
                    if failure is not None:
                        break
                while pending:
                    failure = yield from _arrived(pending, failure)
            finally:
                for future in pending:  # (only when the caller stops reading early)
                    future.cancel()
        self._halt.clear()
        if failure is not None:
            raise failure

    def _halting(self, call: Callable[[], T]) -> T:
        """``call()``; when it fails, the requests in flight beside it are not retried (:meth:`chat_many`)."""
        try:
            return call()
        except BaseException:
            self._halt.set()
            raise


def _arrived(
    pending: dict[Future[T], int], failure: BaseException | None
) -> Generator[tuple[int, T], None, BaseException | None]:
    """Wait for at least one call in flight; (index, result) of each finished one that succeeded, every finished one
    removed from ``pending``. Returns the first failure: ``failure`` if already set, else the first of these calls'."""
    done, _ = wait(pending, return_when=FIRST_COMPLETED)
    for future in sorted(done, key=pending.__getitem__):
        index = pending.pop(future)
        error = future.exception()
        if error is None:
            yield index, future.result()
        elif failure is None:
            failure = error
    return failure
