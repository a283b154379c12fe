"""What every database session does besides its own work, installed once per process by each
entry point (create_app, the CLI, the PAS feed's worker processes, the tests):

- closed metrics days a write changes are marked in the same flush (app/metrics/stored/staleness.py);
- the wards a transaction changed are announced to open screens once it commits
  (app/core/changes.py, published by app/web/live.py).

They are installed here, at the top, so that the models, the services and the database layer
know nothing of metrics or of the web.
"""

from __future__ import annotations

from app.metrics.stored import staleness
from app.web import live


def install() -> None:
    staleness.install()
    live.install()
