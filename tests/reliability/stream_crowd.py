"""Open many live-update streams at once, from a process of its own, and keep them open.

`python -m tests.reliability.stream_crowd BASE_URL PATH COUNT` with the session cookie in the
BOARDROUND_TEST_COOKIE environment variable. Prints `opened N` as streams send their first
bytes, `all open` once every one has, `failed: ...` if one is refused; then holds them until its
standard input closes. Its own process, so that timing the server from the test is not skewed
by this client's work on 500 connections.
"""

from __future__ import annotations

import asyncio
import os
import sys
from urllib.parse import urlsplit


async def crowd(base_url: str, path: str, count: int, cookie: str) -> None:
    """Plain sockets rather than an HTTP client library: 500 connections cost this process little
    CPU, which on a small test machine the server needs."""
    url = urlsplit(base_url)
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {url.netloc}\r\nCookie: {cookie}\r\nAccept: text/event-stream\r\n\r\n"
    ).encode()
    opened = 0
    done = asyncio.Event()

    async def one() -> None:
        nonlocal opened
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        try:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = head.split(b" ", 2)[1].decode()
            if status != "200":
                print(f"failed: {status}", flush=True)
                return
            await reader.read(1)  # the stream's first bytes
            opened += 1
            if opened % 50 == 0 or opened == count:
                print(f"opened {opened}", flush=True)
            if opened == count:
                print("all open", flush=True)
            await done.wait()
        finally:
            writer.close()

    tasks = [asyncio.create_task(one()) for _ in range(count)]
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the test closes it
    done.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


if __name__ == "__main__":
    asyncio.run(crowd(sys.argv[1], sys.argv[2], int(sys.argv[3]), os.environ["BOARDROUND_TEST_COOKIE"]))
