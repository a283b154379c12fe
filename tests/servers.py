"""The app in its own uvicorn process, for tests that need real concurrency.

The in-thread `live_server` of tests/conftest.py shares the running test's connection, so its
requests are serialised and see uncommitted data. Browser tests and the reliability tests
(many open streams, concurrent savers, parallel sign-ins) need the real thing instead: a
separate process with its own engine and pool, real middleware and the real clock, over a
database whose data the test committed.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from app.config import PROJECT_ROOT

SERVER_START_SECONDS = 30


@dataclass
class LiveServer:
    base_url: str
    process: subprocess.Popen
    log_path: Path

    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def log_since(self, offset: int = 0, limit: int = 20_000) -> str:
        with self.log_path.open("rb") as handle:
            handle.seek(offset)
            text = handle.read().decode("utf-8", "replace")
        return text[-limit:] or "(nothing logged)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(database_url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    # Only what we set: no BOARDROUND_* or DATABASE_URL leaks in from the developer's shell.
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOARDROUND_") and k != "DATABASE_URL"}
    env.update(
        DATABASE_URL=database_url,
        BOARDROUND_ENVIRONMENT="test",
        BOARDROUND_SECRET_KEY=secrets.token_urlsafe(36),  # 48 characters
        BOARDROUND_SECURE_COOKIES="false",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra or {})
    return env


def start_server(
    database_url: str,
    log_path: Path,
    *,
    env: dict[str, str] | None = None,
    command: list[str] | None = None,
) -> LiveServer:
    """Start the app (by default `uvicorn --factory app.main:create_app`) and wait for /healthz.

    `command` replaces the uvicorn arguments after the interpreter (the port is appended as
    `--port N`), e.g. to start it through `boardround serve`.
    """
    last_error = ""
    server: LiveServer | None = None
    for _attempt in range(3):  # another process may take the free port before uvicorn binds it
        port = free_port()
        args = command or [
            "-m",
            "uvicorn",
            "--factory",
            "app.main:create_app",
            "--host",
            "127.0.0.1",
            # Open event streams must not hold up the shutdown at the end of the session.
            "--timeout-graceful-shutdown",
            "2",
        ]
        with log_path.open("ab") as log:
            process = subprocess.Popen(  # noqa: S603
                [sys.executable, *args, "--port", str(port)],
                cwd=PROJECT_ROOT,
                env=server_env(database_url, env),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        server = LiveServer(f"http://127.0.0.1:{port}", process, log_path)
        deadline = time.monotonic() + SERVER_START_SECONDS
        while time.monotonic() < deadline:
            if process.poll() is not None:
                last_error = f"the server exited with {process.returncode}"
                break
            try:
                if httpx.get(f"{server.base_url}/healthz", timeout=1).status_code == 200:
                    return server
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        else:
            stop_server(process)
            last_error = f"no answer from /healthz within {SERVER_START_SECONDS}s"
        if "address already in use" not in server.log_since().lower():
            break
    log = server.log_since() if server else ""
    raise RuntimeError(f"the app server did not start: {last_error}\n--- {log_path} ---\n{log}")


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
