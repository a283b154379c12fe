"""Real headless Chromium tests (Playwright, sync API) against a uvicorn subprocess.

See docs/testing.md ("Browser tests") and tests/browser/conftest.py for the fixtures.
"""
