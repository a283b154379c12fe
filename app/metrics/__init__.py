"""Improvement metrics (docs/metrics.md). Sub-packages, each importing only those below it
(.importlinter, "Inside metrics"):

    present/     charts (the one SVG chart kit), tables and CSVs, the flow table's cells
    reports.py   the period report: stored and live figures, failed discharges, referrals
    flow.py      the live site flow overview, and the patients behind each number
    returns.py   the national returns: the NCTR snapshot and the discharge ready date extract
    stored/      each ward's closed days kept in the database: the rows, their refresh, and the
                 marks writes leave when they change a closed day
    queries.py   bulk reads of the facts the rules work on
    rules/       the definitions as pure functions: plain facts in, figures out; no database

forms.py (the period filter) and schemas.py (the API's shapes) sit beside them.
"""
