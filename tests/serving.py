"""An OpenAI-compatible server for the tests: a small Starlette app over biohub's own greedy generation
(:func:`biohub.eval.generate.answer_batch`, one request at a time) or a scripted reply (the judge tests) at
``/v1/chat/completions``, and echoed prompt log-probabilities at ``/v1/completions`` (the log-likelihood protocol),
served by uvicorn on 127.0.0.1 at a free port in a thread of the test process. The client side under test is the
real ``openai`` SDK.

For the failure tests the server can answer a script of HTTP statuses before serving, hold every request after the
first ``hang_after`` until released (a run to kill mid-way), and it records every request body and Authorization
header it received.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request as HttpRequest
from starlette.responses import JSONResponse
from starlette.routing import Route

from biohub.eval.generate import Request, answer_batch
from biohub.models import prompt_ids


@dataclass
class ServerState:
    """What the server serves and what it saw."""

    model_name: str
    statuses: list[int] = field(default_factory=list)  # answered (in order) before serving again
    hang_after: int | None = None  # requests answered before each later one waits for `release`
    reply: Callable[[list[dict[str, str]]], str] | None = None  # a scripted answer instead of the model's
    echo: bool = True  # /v1/completions returns prompt log-probabilities (hosted chat APIs do not)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    authorizations: list[str] = field(default_factory=list)
    answered: int = 0
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)


def make_app(model: Any, tokenizer: Any, state: ServerState) -> Starlette:
    """The app: ``POST /v1/chat/completions`` (greedy; ``max_tokens`` the budget, 256 without one)."""
    generating = threading.Lock()

    def answer(messages: list[dict[str, str]], budget: int) -> tuple[str, int, int]:
        prompt = prompt_ids(tokenizer, messages)
        with generating:
            text, count = answer_batch(model, tokenizer, [prompt], [Request("served", messages, budget)])[0]
        return text, count, len(prompt)

    async def received(request: HttpRequest) -> tuple[dict[str, Any], int, bool]:
        """The request's body, recorded with its Authorization header; the scripted status; whether to hold it."""
        body = await request.json()
        with state.lock:
            state.bodies.append(body)
            state.authorizations.append(request.headers.get("authorization", ""))
            status = state.statuses.pop(0) if state.statuses else 200
            hang = state.hang_after is not None and state.answered >= state.hang_after
        return body, status, hang

    async def completions(request: HttpRequest) -> JSONResponse:
        body, status, hang = await received(request)
        if status != 200:
            return JSONResponse({"error": {"message": f"scripted {status}", "type": "scripted"}}, status_code=status)
        if body.get("model") != state.model_name:
            return JSONResponse({"error": {"message": f"no model {body.get('model')!r}", "type": "not_found"}}, status_code=404)
        if hang:
            await anyio.to_thread.run_sync(state.release.wait)
        budget = int(body.get("max_tokens") or 256)
        if state.reply is not None:
            text = state.reply(body["messages"])
            count, prompt_tokens = len(text.split()), sum(len(m["content"].split()) for m in body["messages"])
        else:
            text, count, prompt_tokens = await anyio.to_thread.run_sync(answer, body["messages"], budget)
        with state.lock:
            state.answered += 1
        finish = "length" if count >= budget else "stop"
        return JSONResponse(
            {
                "id": f"chatcmpl-{len(state.bodies)}", "object": "chat.completion", "created": 0, "model": state.model_name,
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}
                ],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": count, "total_tokens": prompt_tokens + count},
            }
        )  # fmt: skip

    def logprobs(prompt: list[int]) -> list[float | None]:
        import torch

        with generating, torch.no_grad():
            scores = torch.log_softmax(model(torch.tensor([prompt])).logits[0].float(), dim=-1)
        return [None] + [float(scores[k - 1, token]) for k, token in enumerate(prompt) if k > 0]

    async def legacy_completions(request: HttpRequest) -> JSONResponse:
        body, status, _ = await received(request)
        if status != 200:
            return JSONResponse({"error": {"message": f"scripted {status}", "type": "scripted"}}, status_code=status)
        if not state.echo or not body.get("echo") or body.get("logprobs") is None:
            return JSONResponse({"error": {"message": "echo with logprobs is not supported", "type": "invalid"}}, status_code=400)
        prompts = body["prompt"] if body["prompt"] and isinstance(body["prompt"][0], list) else [body["prompt"]]
        choices = []
        for index, prompt in enumerate(prompts):
            values = await anyio.to_thread.run_sync(logprobs, prompt)
            tokens = [tokenizer.decode([token]) for token in prompt]
            choices.append({
                "index": index, "text": "", "finish_reason": "length",
                "logprobs": {"tokens": tokens, "token_logprobs": values, "top_logprobs": None, "text_offset": [0] * len(prompt)},
            })  # fmt: skip
        total = sum(len(prompt) for prompt in prompts)
        return JSONResponse(
            {
                "id": f"cmpl-{len(state.bodies)}", "object": "text_completion", "created": 0, "model": state.model_name,
                "choices": choices, "usage": {"prompt_tokens": total, "completion_tokens": 0, "total_tokens": total},
            }
        )  # fmt: skip

    return Starlette(
        routes=[
            Route("/v1/chat/completions", completions, methods=["POST"]),
            Route("/v1/completions", legacy_completions, methods=["POST"]),
        ]
    )


@contextmanager
def serving(model: Any, tokenizer: Any, state: ServerState) -> Iterator[str]:
    """Serve the app on a free port of 127.0.0.1 while the block runs; yields the base URL (``http://.../v1``)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(make_app(model, tokenizer, state), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    finally:
        state.release.set()
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
