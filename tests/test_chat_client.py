"""The chat client's run of many requests (``biohub.chat_client.ChatClient.run_many``) when one fails for good: the
requests in flight beside it are answered but not retried, and the first failure is what is raised."""

from __future__ import annotations

import pytest

from biohub.chat_client import ChatClient, ChatClientError, _Retryable


def test_after_a_failure_no_request_in_flight_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("biohub.chat_client.time.sleep", lambda seconds: None)
    client = ChatClient("m", "http://127.0.0.1:9/v1", concurrency=3, retries=5)
    attempts: list[str] = []

    def fails() -> str:
        raise ChatClientError("m: HTTP 400 (not retried)")

    def answers() -> str:
        client._halt.wait(5)  # answered after the failure
        return "kept"

    def would_retry() -> str:
        def attempt(payload: object, options: dict[str, object]) -> str:
            attempts.append("sent")
            client._halt.wait(5)  # fails (retryable) after the other request failed for good
            raise _Retryable("HTTP 503")

        return client._retried(attempt, None, {})

    found = []
    with pytest.raises(ChatClientError, match="HTTP 400"):  # the first failure, not the stopped retry's
        for index, result in client.run_many([fails, answers, would_retry]):
            found.append((index, result))
    assert found == [(1, "kept")] and attempts == ["sent"]  # five retries left, none made
    assert not client._halt.is_set()  # the next run starts afresh
    assert client._retried(lambda payload, options: "again", None, {}) == "again"
