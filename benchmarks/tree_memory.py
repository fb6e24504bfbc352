"""The peak resident memory of a process tree (this process and its workers, summed), sampled in a thread: what the
benchmarks report as "peak RSS" when work runs in worker processes, whose memory ``ru_maxrss`` of this process misses.

    with TreePeak() as peak:
        ...
    print(peak.peak / 2**20, "MiB")
"""

from __future__ import annotations

import threading

import psutil


class TreePeak:
    """Samples the summed RSS of this process and its children every ``interval`` seconds; ``peak`` is the largest."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for process in [me, *me.children(recursive=True)]:
                try:
                    total += process.memory_info().rss
                except psutil.Error:  # a worker that just ended
                    pass
            self.peak = max(self.peak, total)
            self._stop.wait(self.interval)

    def __enter__(self) -> TreePeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
