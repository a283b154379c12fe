"""Improvement metrics as pure functions: plain facts in, figures out. No database, no request
(.importlinter, "Metrics arithmetic is pure").

Every definition here is written out in docs/metrics.md; keep the two in step. Conventions:

* Stored times are UTC; days are Europe/London dates (`Period`, app.core.clock), so a day is 23 or
  25 hours long when the clocks change and "before midday" is 12:00 on the London clock.
* The daily snapshot is the 08:00 London census (as in the NHS daily sitrep): a stay counts on day
  D if it was in hospital at that instant, on the ward it was on at that instant.
* Length of stay is counted in midnights (London dates) for the whole stay, across transfers.
* A discharge is a stay that ended in the period, unless the patient died (discharge destination
  79), and belongs to the ward the patient left from.
* The discharge ready date (DRD) is the start of the final run of "no criteria to reside" (NCTR)
  reviews; a review meeting the criteria ends a run, so a patient who meets the criteria again
  starts a new one. Days without a review carry the previous review's state.

The DRD and the NCTR census depend only on the reviews where the answer changed (the first and
every change): the discharge ready date extract (app.metrics.returns) hands over just those.

Modules, each using those before it: period, facts, readiness (criteria to reside, DRD),
discharges, census, rounds, figures (one ward's day; what app.metrics.stored keeps), report.
"""
