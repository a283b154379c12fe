"""Many screens reconnecting at once (after a deploy, a restart or a Wi-Fi blip) must not
freeze the server: every live-update stream opens, holds no database connection while open,
and ordinary requests keep answering."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx

from tests import pages

STREAMS = 500


async def _open_streams(base_url: str, cookies: httpx.Cookies, path: str, count: int, opened: list[float]) -> None:
    """Open `count` streams at once; note when each has sent its first bytes; keep them open."""
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base_url, cookies=cookies, limits=limits, timeout=60) as client:
        stop = asyncio.Event()

        async def one() -> None:
            async with client.stream("GET", path) as response:
                assert response.status_code == 200, response.status_code
                async for _chunk in response.aiter_bytes():
                    opened.append(time.monotonic())
                    break
                await stop.wait()

        tasks = [asyncio.create_task(one()) for _ in range(count)]
        deadline = time.monotonic() + 60
        while len(opened) < count and time.monotonic() < deadline:
            if any(t.done() and t.exception() for t in tasks):
                break
            await asyncio.sleep(0.05)
        opened_in_time = len(opened)
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        opened[:] = opened[:opened_in_time]


def test_five_hundred_streams_open_at_once_and_the_api_still_answers(app_process, seeded) -> None:
    ward = seeded("nurse", patients=1)
    with httpx.Client(base_url=app_process.base_url, timeout=10) as browser:
        assert pages.sign_in(browser, ward.username).status_code == 303
        cookies = browser.cookies

    opened: list[float] = []
    answers: list[float] = []
    failures: list[str] = []
    streams_done = threading.Event()

    def meanwhile() -> None:
        # Plain API requests while the streams are being opened, and a few once they are open.
        headers = {"Authorization": f"Bearer {ward.token}"}
        with httpx.Client(base_url=app_process.base_url, headers=headers, timeout=10) as api:
            after = 0
            while after < 5:
                after += streams_done.is_set()
                started = time.monotonic()
                try:
                    response = api.get("/api/v1/wards")
                except httpx.TimeoutException:
                    failures.append("timed out")
                    continue
                answers.append(time.monotonic() - started)
                if response.status_code != 200:
                    failures.append(str(response.status_code))

    async def scenario() -> None:
        probe = asyncio.create_task(asyncio.to_thread(meanwhile))
        try:
            await _open_streams(app_process.base_url, cookies, f"/wards/{ward.ward_code}/events", STREAMS, opened)
        finally:
            streams_done.set()
        await probe

    asyncio.run(scenario())
    assert len(opened) == STREAMS, f"only {len(opened)} of {STREAMS} streams opened"
    assert not failures, failures
    assert max(answers) < 1.0, f"slowest plain request {max(answers):.2f}s while {STREAMS} streams opened"
