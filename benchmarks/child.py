"""One measurement in a fresh spawned child process: its result and its own peak RSS, so that peaks of different
tools or settings never mix and no import, cache or warm model carries over from one measurement to the next.

    result = in_child(module_function, keyword=value)   # a dict; result["peak_rss_mib"] is the child's max RSS

The function must be importable by the child (a module-level function of a module in ``benchmarks/`` or the package)
and return a JSON-able dict. An exception in the child is raised again here with the child's traceback text.
"""

from __future__ import annotations

import multiprocessing
import queue as queues
import resource
import traceback
from collections.abc import Callable
from typing import Any


def _run(function: Callable[..., dict[str, Any]], kwargs: dict[str, Any], queue: Any) -> None:
    try:
        result = function(**kwargs)
        result["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        queue.put(("ok", result))
    except BaseException:  # report anything, then let the child end
        queue.put(("error", traceback.format_exc()))


def in_child(function: Callable[..., dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    """``function(**kwargs)`` in a spawned child process; its dict with ``peak_rss_mib`` added."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_run, args=(function, kwargs, queue))
    process.start()
    while True:
        try:
            status, payload = queue.get(timeout=5)
            break
        except queues.Empty:
            if not process.is_alive():  # killed (out of memory, a signal) before it could report
                raise RuntimeError(f"{getattr(function, '__name__', function)}: child exited with {process.exitcode}")
    process.join()
    if status != "ok":
        raise RuntimeError(f"{getattr(function, '__name__', function)} failed in its child process:\n{payload}")
    return payload  # type: ignore[no-any-return]
