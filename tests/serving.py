"""An OpenAI-compatible chat-completions server for the tests: a small Starlette app over biohub's own greedy
generation (:func:`biohub.eval.generate.answer_batch`, one request at a time) or a scripted reply (the judge tests),
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

    async def completions(request: HttpRequest) -> JSONResponse:
        body = await request.json()
        with state.lock:
            state.bodies.append(body)
            state.authorizations.append(request.headers.get("authorization", ""))
            status = state.statuses.pop(0) if state.statuses else 200
            hang = state.hang_after is not None and state.answered >= state.hang_after
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

    return Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])


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
