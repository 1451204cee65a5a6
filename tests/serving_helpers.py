"""A real uvicorn serving core.serving.create_app on 127.0.0.1 in a thread, and an API key for it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(url: str, **config) -> Iterator[str]:
    """`uvicorn.Server` on a free loopback port for the store at `url`; yields the base URL."""
    import uvicorn

    from core.serving import ServingConfig, create_app

    app = create_app(url, ServingConfig(**config))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while not server.started:
        if not thread.is_alive() or time.time() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def new_key(url: str, name: str = "tests", rate_per_minute: int | None = None) -> str:
    from core.auth.keys import create_key
    from db.engine import session_scope

    with session_scope(url) as session:
        return create_key(session, name, rate_per_minute, actor="tests").key


def client(base: str, key: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=base, headers=headers, timeout=60)


def wait_for(predicate, timeout: float = 20.0, step: float = 0.2):
    """Poll until `predicate()` is truthy (returns it) or fail after `timeout` seconds."""
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(step)
