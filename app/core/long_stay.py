"""The long-stay thresholds: patients in hospital 7, 14 and 21 days or more (the national
"long stays"), counted in midnights (app.core.clock.midnights_between). One set for the board's
flags, the site flow overview and the metrics."""

from __future__ import annotations

LONG_STAY_THRESHOLDS = (7, 14, 21)  # ascending


def long_stay_flag(midnights: int) -> int | None:
    """The highest threshold a length of stay has reached: 21 for 30 midnights, None under 7."""
    return next((t for t in reversed(LONG_STAY_THRESHOLDS) if midnights >= t), None)
