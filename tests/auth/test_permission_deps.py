"""Every permission has its named route dependency (`actor: CanReadWard`), checking that very
permission: a new permission without one could only be required through an untyped signature."""

from __future__ import annotations

import typing

from fastapi.params import Depends

from app.auth import deps
from app.auth.permissions import Perm
from app.core.principal import Principal


def _checked_permission(alias: object) -> str | None:
    """The permission a `Can...` alias requires, from its dependency's name (require_<perm>)."""
    if typing.get_origin(alias) is not typing.Annotated:
        return None
    base, *extras = typing.get_args(alias)
    found = [e for e in extras if isinstance(e, Depends)]
    if base is not Principal or len(found) != 1 or found[0].dependency is None:
        return None
    return found[0].dependency.__name__.removeprefix("require_").upper()


def test_each_permission_has_one_named_dependency() -> None:
    named = {name: _checked_permission(value) for name, value in vars(deps).items() if name.startswith("Can")}
    checked = [perm for perm in named.values() if perm is not None]
    assert sorted(checked) == sorted(p.name for p in Perm)
