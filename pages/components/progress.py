"""A step that blocks the page for a few seconds, shown as it goes: elapsed seconds against the expected ones.

A bare spinner says nothing about how long; this runs the work in a helper thread (with the script's context, so
st caches work inside it) while the page ticks "12 s of about 20 s". The expected time is the caller's measured
figure, or how long the same step took last time in this session.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

import streamlit as st
from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

from pages.components.language import _

T = TypeVar("T")
POLL_S = 0.25


def run_with_progress(work: Callable[[], T], label: str, expected_s: float | None = None,
                      key: str | None = None) -> T:
    """`work()`'s result (or its exception, re-raised here) while a status box shows elapsed vs expected seconds.

    `key` remembers the duration in the session, so the next run of the same step states it as expected.
    """
    took_key = f"_took_{key}" if key else None
    if expected_s is None and took_key:
        expected_s = st.session_state.get(took_key)
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:  # noqa: BLE001 - handed back to the script thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    add_script_run_ctx(thread, get_script_run_ctx())
    t0 = time.monotonic()
    with st.status(label, expanded=True) as box:
        bar = st.progress(0.0)
        thread.start()
        while thread.is_alive():
            elapsed = time.monotonic() - t0
            if expected_s:
                text = (_("{elapsed:.0f} s of about {expected:.0f} s") if elapsed <= expected_s
                        else _("{elapsed:.0f} s, longer than the usual {expected:.0f} s (a busy machine)"))
                bar.progress(min(elapsed / expected_s, 0.99), text=text.format(elapsed=elapsed, expected=expected_s))
            else:
                bar.progress(0.0, text=_("{elapsed:.0f} s elapsed").format(elapsed=elapsed))
            thread.join(POLL_S)
        seconds = time.monotonic() - t0
        failed = "error" in outcome
        box.update(label=_("{label} failed after {seconds:.1f} s").format(label=label.rstrip("…"), seconds=seconds)
                   if failed else _("{label} done in {seconds:.1f} s").format(label=label.rstrip("…"),
                                                                              seconds=seconds),
                   state="error" if failed else "complete", expanded=False)
    if took_key and not failed:
        st.session_state[took_key] = seconds
    if failed:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]
