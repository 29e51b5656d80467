"""Interleaved timing: every implementation of a workload is timed in turns.

Timings on a shared machine drift with other load. Calling the implementations in
rounds (A, B, C, A, B, C, ...) and taking each one's median over the rounds keeps a
burst of load from landing on one implementation only.
"""

import dataclasses
import time
import traceback


@dataclasses.dataclass
class Timed:
    """The wall times (seconds) of one implementation's calls, or why it did not run."""

    name: str
    seconds: list = dataclasses.field(default_factory=list)
    status: str = "ok"

    @property
    def median(self):
        s = sorted(self.seconds)
        if not s:
            return None
        mid = len(s) // 2
        return s[mid] if len(s) % 2 else 0.5 * (s[mid - 1] + s[mid])


def interleaved(runs, repeats):
    """Times ``runs`` (``{name: zero-argument callable}``), alternating, ``repeats`` rounds.

    Each callable must block until its work is done. It is called once untimed first
    (compilation, caches, thread pools). An implementation that raises is dropped from
    later rounds and reported with the error, so one broken peer cannot stop the run.
    """
    timed = {name: Timed(name) for name in runs}
    live = dict(runs)
    for name, fn in list(live.items()):
        if not _call(fn, timed[name]):
            del live[name]
    for _ in range(repeats):
        for name, fn in list(live.items()):
            start = time.perf_counter()
            if not _call(fn, timed[name]):
                del live[name]
                continue
            timed[name].seconds.append(time.perf_counter() - start)
    return timed


def _call(fn, record):
    try:
        fn()
        return True
    except Exception as err:  # a peer's failure is a result to report, not a crash
        last = traceback.extract_tb(err.__traceback__)[-1]
        first_line = (str(err).splitlines() or [""])[0][:200]
        record.status = f"error: {type(err).__name__}: {first_line} ({last.name}:{last.lineno})"
        record.seconds.clear()
        return False
