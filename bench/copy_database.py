"""Copy every row of one Boardround database into a freshly migrated PostgreSQL one.

    .venv/bin/python -m bench.copy_database SOURCE_URL TARGET_URL [--migrate]

The site benchmark uses it to give PostgreSQL exactly the rows of the SQLite benchmark database
(building a year of history through the services takes hours). The target must be migrated to
the same Alembic revision as the source (`--migrate` does it first); the reference rows the
migrations seed are merged, every other table is streamed with COPY in primary-key order, one
table at a time, in one transaction. Afterwards the id sequences are moved past the copied ids,
and VACUUM ANALYZE leaves the statistics and visibility map of a settled database.

Rows are read through SQLAlchemy Core with the models' column types, so values arrive as Python
objects (aware UTC datetimes, dates, booleans). JSON columns are the exception: they are read as
their JSON text and handed to jsonb unchanged, so a JSON `null` stays a JSON `null` and a SQL
NULL stays NULL (decoding both to None would turn every `before` of the audit trail into NULL).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import JSON, Column, Engine, Integer, Table, Text, cast, select
from sqlalchemy.exc import DBAPIError
from sqlmodel import SQLModel

import app.models  # noqa: F401 - registers every table on SQLModel.metadata
from app.config import Settings
from app.db import make_engine

BATCH = 5000  # rows fetched from the source at a time
PROGRESS_EVERY = 200_000


def engine_for(url: str) -> Engine:
    return make_engine(Settings(environment="development", DATABASE_URL=url, secret_key="b" * 48))


def _tables() -> list[Table]:
    return [t for t in SQLModel.metadata.sorted_tables if t.name != "alembic_version"]


def _ident(*names: str) -> sql.Composable:
    return sql.SQL(", ").join(sql.Identifier(n) for n in names)


def _source_rows(connection: Any, table: Table) -> Iterable[Sequence[Any]]:
    # JSON columns as text: see the module docstring.
    columns = [cast(c, Text).label(c.name) if isinstance(c.type, JSON) else c for c in table.columns]
    statement = select(*columns).order_by(*table.primary_key.columns)
    return connection.execute(statement.execution_options(yield_per=BATCH))


def _copy_rows(
    cursor: psycopg.Cursor,
    table_name: str,
    names: list[str],
    rows: Iterable[Sequence[Any]],
    progress: Callable[[str], None] | None = None,
) -> int:
    n = 0
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(table_name), _ident(*names))
    with cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
            if progress and n % PROGRESS_EVERY == 0:
                progress(f"  {table_name}: {n} rows ...")
    return n


def _merge(
    cursor: psycopg.Cursor, table: Table, names: list[str], rows: Iterable[Sequence[Any]]
) -> tuple[int, int, int, int]:
    """Merge the source rows into a table that already has rows (the seeded reference data).

    Returns (source rows, inserted, updated to match the source, target rows not in the source).
    """
    temp = f"_copy_{table.name}"
    target = sql.Identifier(table.name)
    cursor.execute(
        sql.SQL("CREATE TEMP TABLE {} (LIKE {} INCLUDING DEFAULTS) ON COMMIT DROP").format(sql.Identifier(temp), target)
    )
    read = _copy_rows(cursor, temp, names, rows)
    keys = [c.name for c in table.primary_key.columns]
    others = [n for n in names if n not in keys]
    cursor.execute(
        sql.SQL("INSERT INTO {t} ({cols}) SELECT {cols} FROM {tmp} ON CONFLICT ({keys}) DO NOTHING").format(
            t=target, cols=_ident(*names), tmp=sql.Identifier(temp), keys=_ident(*keys)
        )
    )
    inserted = cursor.rowcount
    join = sql.SQL(" AND ").join(sql.SQL("t.{k} = s.{k}").format(k=sql.Identifier(k)) for k in keys)
    updated = 0
    if others:
        cursor.execute(
            sql.SQL(
                "UPDATE {t} AS t SET {sets} FROM {tmp} AS s WHERE {join} AND ({tcols}) IS DISTINCT FROM ({scols})"
            ).format(
                t=target,
                sets=sql.SQL(", ").join(sql.SQL("{c} = s.{c}").format(c=sql.Identifier(c)) for c in others),
                tmp=sql.Identifier(temp),
                join=join,
                tcols=sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in others),
                scols=sql.SQL(", ").join(sql.SQL("s.{}").format(sql.Identifier(c)) for c in others),
            )
        )
        updated = cursor.rowcount
    cursor.execute(
        sql.SQL("SELECT count(*) FROM {t} AS t WHERE NOT EXISTS (SELECT 1 FROM {tmp} AS s WHERE {join})").format(
            t=target, tmp=sql.Identifier(temp), join=join
        )
    )
    extra = cursor.fetchone()[0]
    return read, inserted, updated, extra


def _reset_sequence(cursor: psycopg.Cursor, table: Table) -> None:
    keys = list(table.primary_key.columns)
    if len(keys) != 1 or not isinstance(keys[0].type, Integer):
        return
    key: Column = keys[0]
    cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", (sql.Identifier(table.name).as_string(cursor), key.name))
    sequence = cursor.fetchone()[0]
    if sequence is None:
        return
    # An empty table's next id is 1; otherwise max(id) + 1.
    cursor.execute(
        sql.SQL("SELECT setval(%s, coalesce(max({k}), 1), max({k}) IS NOT NULL) FROM {t}").format(
            k=sql.Identifier(key.name), t=sql.Identifier(table.name)
        ),
        (sequence,),
    )


def _revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as connection:
            return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    except DBAPIError:  # no alembic_version table: never migrated
        return None


def copy_database(source_url: str, target_url: str, progress: Callable[[str], None] = print) -> dict[str, int]:
    """Copy every table from `source_url` into the migrated PostgreSQL database at `target_url`.

    Returns the rows written per table (for the seeded reference tables: the rows inserted).
    """
    source, target = engine_for(source_url), engine_for(target_url)
    if target.dialect.name != "postgresql":
        raise ValueError("the target must be a PostgreSQL database (the copy uses COPY FROM STDIN)")
    written: dict[str, int] = {}
    try:
        source_revision, target_revision = _revision(source), _revision(target)
        if source_revision != target_revision:
            raise RuntimeError(f"source is at revision {source_revision}, target at {target_revision}: migrate both")
        started = time.perf_counter()
        total = 0
        # One read transaction on the source (one snapshot) and one write transaction on the target.
        with source.connect() as src, src.begin():
            raw = target.raw_connection()
            try:
                pg: psycopg.Connection = raw.driver_connection  # type: ignore[assignment]
                with pg.transaction(), pg.cursor() as cursor:
                    for table in _tables():
                        names = [c.name for c in table.columns]
                        t0 = time.perf_counter()
                        cursor.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(table.name)))
                        rows = _source_rows(src, table)
                        if cursor.fetchone()[0]:
                            read, inserted, updated, extra = _merge(cursor, table, names, rows)
                            written[table.name] = inserted
                            note = f"{read} rows: {inserted} inserted, {read - inserted} already there"
                            if updated:
                                note += f", {updated} updated to match the source"
                            if extra:
                                note += f"; {extra} rows only in the target (kept)"
                        else:
                            written[table.name] = _copy_rows(cursor, table.name, names, rows, progress)
                            note = f"{written[table.name]} rows"
                        seconds = time.perf_counter() - t0
                        total += written[table.name]
                        rate = f", {written[table.name] / seconds:,.0f} rows/s" if written[table.name] > 1000 else ""
                        progress(f"{table.name}: {note} in {seconds:.1f} s{rate}")
                    for table in _tables():
                        _reset_sequence(cursor, table)
            finally:
                raw.close()
        copied_s = time.perf_counter() - started
        progress(
            f"copied {total} rows in {copied_s:.1f} s ({total / max(copied_s, 1e-9):,.0f} rows/s); vacuum analyze ..."
        )
        with target.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM (ANALYZE)")  # not inside a transaction
        progress(f"done in {time.perf_counter() - started:.1f} s")
    finally:
        source.dispose()
        target.dispose()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source_url", help="e.g. sqlite:///var/bench_site.db")
    parser.add_argument("target_url", help="e.g. postgresql://postgres@127.0.0.1:5432/bench_site")
    parser.add_argument("--migrate", action="store_true", help="run the Alembic migrations on the target first")
    args = parser.parse_args(argv)
    if args.migrate:
        from app.cli import migrate

        engine = engine_for(args.target_url)
        try:
            migrate(engine)
        finally:
            engine.dispose()
    copy_database(args.source_url, args.target_url, progress=lambda line: print(line, flush=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
