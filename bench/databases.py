"""The benchmarks' own databases, by name: `var/NAME.db` on SQLite, database NAME on PostgreSQL.

PostgreSQL is reached through an admin connection (`BENCH_PG_ADMIN`, default the local test
server), which drops and creates the benchmark's database when it is to start fresh.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import psycopg

from app.config import VAR_DIR

PG_ADMIN_DSN = os.environ.get("BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")


def sqlite_path(name: str) -> Path:
    return VAR_DIR / f"{name}.db"


def database_url(backend: str, name: str, *, fresh: bool) -> str:
    """The benchmark database's URL; emptied first (dropped and created again) if `fresh`."""
    if backend == "sqlite":
        path = sqlite_path(name)
        if fresh:
            path.parent.mkdir(parents=True, exist_ok=True)
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    if fresh:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    return PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
