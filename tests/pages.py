"""Helpers for testing HTML pages over real HTTP as a signed-in person."""

from __future__ import annotations

import re

import httpx

PASSWORD = "correct horse battery"  # noqa: S105


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field on the page"
    return match.group(1)


def sign_in(client: httpx.Client, username: str, password: str = PASSWORD, next_: str = "/") -> httpx.Response:
    page = client.get("/sign-in", params={"next": next_})
    return client.post(
        "/sign-in", data={"username": username, "password": password, "next": next_, "csrf_token": csrf_from(page.text)}
    )


class Browser:
    """An httpx client with cookies that remembers the last CSRF token it saw."""

    def __init__(self, base_url: str) -> None:
        self.client = httpx.Client(base_url=base_url, follow_redirects=False, timeout=10)
        self.token = ""

    def get(self, url: str, **kw) -> httpx.Response:
        r = self.client.get(url, **kw)
        if "csrf_token" in r.text:
            self.token = csrf_from(r.text)
        return r

    def post(self, url: str, data: dict | list | None = None, **kw) -> httpx.Response:
        if not self.token:
            self.get("/?choose=1")
        items = list(data.items()) if isinstance(data, dict) else list(data or [])
        body = [*items, ("csrf_token", self.token)]
        headers = {"content-type": "application/x-www-form-urlencoded"} | kw.pop("headers", {})
        r = self.client.post(url, content=str(httpx.QueryParams(body)).encode(), headers=headers, **kw)
        if "csrf_token" in r.text:
            self.token = csrf_from(r.text)
        return r

    def close(self) -> None:
        self.client.close()
