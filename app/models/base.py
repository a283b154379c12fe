"""Column types and mixins shared by every table.

Surrogate primary keys are declared `id: int = Field(default=None, primary_key=True)`: None
only until the row is flushed, as with SQLAlchemy's own `Mapped[int]` keys. Code reads an id
after a flush or a query, so the type says what it gets there, and `int | None` would make
every reader narrow it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Table, TypeDecorator
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import declared_attr
from sqlmodel import Field, SQLModel

from app.core.clock import utcnow


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on both databases.

    PostgreSQL stores timestamptz; SQLite has no time zones, so we store naive UTC there and
    put the zone back on the way out. Naive datetimes are refused on the way in.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")


def table_of(model: type[SQLModel]) -> Table:
    """The Core table of a table model (SQLModel's metaclass sets `__table__`; its type does not say so)."""
    table = sa_inspect(model).local_table
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not a table model")
    return table


def utc_field(*, nullable: bool = False, index: bool = False, **kwargs: Any) -> Any:
    return Field(sa_type=UTCDateTime, nullable=nullable, index=index, **kwargs)


class Timestamped(SQLModel):
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class Versioned(SQLModel):
    """Optimistic concurrency: every UPDATE checks and bumps `version`.

    SQLAlchemy adds `WHERE version = <read version>` to each UPDATE, so a write based on a
    stale read fails instead of overwriting someone else's change.
    """

    version: int = Field(default=1, nullable=False)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]  # set by the metaclass before the mapper reads this
