"""Counting XLA compilations, to test that identical programs are compiled once."""

import jax
from jax._src import dispatch

_compiled = []
jax.monitoring.register_event_duration_secs_listener(
    lambda event, duration, **kw: _compiled.append(kw.get("fun_name"))
    if event == dispatch.BACKEND_COMPILE_EVENT else None
)


def count_compilations(fn):
    """How many XLA programs ``fn()`` compiled (JAX's backend-compile events)."""
    before = len(_compiled)
    fn()
    return len(_compiled) - before
