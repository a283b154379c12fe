"""Serve static/ with content-hash versioned URLs.

Templates link assets through `static_url("css/app.css")`, which appends `?v=<hash>` of the
file's bytes. A request carrying the current hash may be cached for a year (the URL changes
whenever the file does); anything else gets a short cache so a changed file shows up soon.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from urllib.parse import parse_qs

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.responses import FileResponse, Response
from starlette.staticfiles import NotModifiedResponse, StaticFiles
from starlette.types import Scope

from app.config import PROJECT_ROOT

STATIC_DIR = PROJECT_ROOT / "static"
STATIC_PREFIX = "/static"
HASH_LENGTH = 12

IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=300"

# Absolute path -> (mtime_ns, size, hash). Keyed on mtime and size as well so an edited file
# gets a new hash without a restart; a stat is far cheaper than re-reading the file.
_hashes: dict[str, tuple[int, int, str]] = {}
_lock = threading.Lock()


def _file_hash(full_path: str | os.PathLike[str], stat_result: os.stat_result | None = None) -> str:
    key = os.fspath(full_path)
    st = stat_result or os.stat(key)
    cached = _hashes.get(key)
    if cached is not None and cached[0] == st.st_mtime_ns and cached[1] == st.st_size:
        return cached[2]
    digest = hashlib.sha256()
    with open(key, "rb") as handle:
        for chunk in iter(lambda: handle.read(65536), b""):
            digest.update(chunk)
    short = digest.hexdigest()[:HASH_LENGTH]
    with _lock:
        _hashes[key] = (st.st_mtime_ns, st.st_size, short)
    return short


def _resolve(path: str, directory: Path = STATIC_DIR) -> Path:
    root = directory.resolve()
    full = (root / path.lstrip("/")).resolve()
    if not full.is_relative_to(root):
        raise ValueError(f"static path escapes the static directory: {path!r}")
    if not full.is_file():
        raise FileNotFoundError(f"no static file {path!r} under {root}")
    return full


def static_url(path: str) -> str:
    """`/static/<path>?v=<hash of the file>`; a missing file raises so a typo fails its render test."""
    full = _resolve(path)
    relative = full.relative_to(STATIC_DIR.resolve()).as_posix()
    return f"{STATIC_PREFIX}/{relative}?v={_file_hash(full)}"


def clear_hash_cache() -> None:
    with _lock:
        _hashes.clear()


class VersionedStaticFiles(StaticFiles):
    """StaticFiles that sets Cache-Control from the `v` query parameter."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = FileResponse(full_path, status_code=status_code, stat_result=stat_result)
        response.headers["Cache-Control"] = self.cache_control(full_path, stat_result, scope)
        if self.is_not_modified(response.headers, Headers(scope=scope)):
            return NotModifiedResponse(response.headers)
        return response

    @staticmethod
    def cache_control(full_path: str | os.PathLike[str], stat_result: os.stat_result, scope: Scope) -> str:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        versions = query.get("v")
        # Only the current hash is immutable: a stale or made-up `v` must not pin today's
        # bytes under that URL for a year.
        if versions and versions[-1] == _file_hash(full_path, stat_result):
            return IMMUTABLE
        return SHORT


def mount_static(app: FastAPI) -> None:
    """Mount static/ at /static (route name "static")."""
    app.mount(STATIC_PREFIX, VersionedStaticFiles(directory=STATIC_DIR), name="static")
