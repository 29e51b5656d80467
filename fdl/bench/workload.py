"""A workload: several implementations of one computation, timed side by side.

Each implementation is a ``Candidate``: a name, whether it is fdl's own, the modules it
needs, and ``setup(config)`` returning a zero-argument callable that does ``config.calls``
units of work (training steps or query batches) and blocks until they are done. Setup
runs (and compiles) before timing; the callables are then timed in alternation.
"""

import dataclasses

from fdl.bench import peers
from fdl.bench.timing import interleaved


@dataclasses.dataclass(frozen=True)
class Candidate:
    """One implementation of a workload."""

    name: str
    setup: object  # callable(config) -> zero-argument callable doing config.calls units
    requires: tuple = ()
    is_fdl: bool = False


@dataclasses.dataclass(frozen=True)
class Config:
    """How long to run: ``calls`` units per timed call, ``repeats`` timed rounds."""

    calls: int
    repeats: int


def measure(key, title, *, unit, examples_per_unit, flops_per_unit, candidates, config,
            matmul_gflops):
    """Sets up and times every candidate; returns the workload's result dict.

    Each row has ``ms`` (median milliseconds per unit), ``examples_per_s``, ``gflops``
    (analytic FLOPs over time), ``fraction_of_matmul`` (that rate over the machine's
    float32 matrix-product rate) and ``vs_fastest_peer`` (``ms`` over the fastest
    non-fdl row's: below 1 is faster than every peer), or a ``status`` saying why not.
    """
    runs, statuses = {}, {}
    for cand in candidates:
        absent = peers.missing(cand.requires)
        if absent:
            statuses[cand.name] = f"not installed ({', '.join(absent)})"
            continue
        try:
            runs[cand.name] = cand.setup(config)
        except Exception as err:  # a peer that fails to build is reported, not fatal
            first_line = (str(err).splitlines() or [""])[0][:200]
            statuses[cand.name] = f"error in setup: {type(err).__name__}: {first_line}"
    timed = interleaved(runs, config.repeats)
    rows = []
    for cand in candidates:
        row = {"implementation": cand.name, "fdl": cand.is_fdl, "status": statuses.get(cand.name)}
        t = timed.get(cand.name)
        if t is not None:
            row["status"] = t.status
            if t.median is not None:
                ms = t.median / config.calls * 1e3
                row["ms"] = ms
                row["ms_each_round"] = [s / config.calls * 1e3 for s in t.seconds]
                row["examples_per_s"] = examples_per_unit / (ms / 1e3)
                row["gflops"] = flops_per_unit / (ms / 1e3) / 1e9
                if matmul_gflops:
                    row["fraction_of_matmul"] = row["gflops"] / matmul_gflops
        rows.append(row)
    peer_ms = [r["ms"] for r in rows if not r["fdl"] and "ms" in r]
    fastest = min(peer_ms) if peer_ms else None
    for row in rows:
        row["vs_fastest_peer"] = row["ms"] / fastest if fastest and "ms" in row else None
    return {
        "key": key,
        "title": title,
        "unit": unit,
        "examples_per_unit": examples_per_unit,
        "flops_per_unit": flops_per_unit,
        "calls_per_round": config.calls,
        "rounds": config.repeats,
        "rows": rows,
    }
