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

import httpx


async def crowd(base_url: str, path: str, count: int, cookie: str) -> None:
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
    headers = {"Cookie": cookie}
    opened = 0
    async with httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits, timeout=120) as client:
        done = asyncio.Event()

        async def one() -> None:
            nonlocal opened
            async with client.stream("GET", path) as response:
                if response.status_code != 200:
                    print(f"failed: {response.status_code}", flush=True)
                    return
                async for _chunk in response.aiter_bytes():
                    break
                opened += 1
                if opened % 50 == 0 or opened == count:
                    print(f"opened {opened}", flush=True)
                if opened == count:
                    print("all open", flush=True)
                await done.wait()

        tasks = [asyncio.create_task(one()) for _ in range(count)]
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the test closes it
        done.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


if __name__ == "__main__":
    asyncio.run(crowd(sys.argv[1], sys.argv[2], int(sys.argv[3]), os.environ["BOARDROUND_TEST_COOKIE"]))
