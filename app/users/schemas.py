from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from app.core.types import Code, Id, Label, Name, Version, no_nul


def _id_list(value: object) -> object:
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]


def _username(value: str) -> str:
    value = value.strip().lower()
    if not 2 <= len(value) <= 100 or not re.fullmatch(r"[a-z0-9._-]+", value):
        raise ValueError("Use 2 to 100 lower case letters, digits, dots, hyphens or underscores")
    return value


Username = Annotated[str, AfterValidator(_username)]
Password = Annotated[str, StringConstraints(min_length=12, max_length=200), AfterValidator(no_nul)]
WardIds = Annotated[list[Id], BeforeValidator(_id_list), Field(max_length=200)]


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Username
    display_name: Label
    role_code: Code
    ward_ids: WardIds = []
    # Not needed for integration (service) accounts, which use API tokens.
    password: Password | None = None


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: Label
    role_code: Code
    ward_ids: WardIds = []
    is_active: bool = False
    version: Version


class PasswordReset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: Password


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name


class SignInPolicyUpdate(BaseModel):
    """Password sign-in for everyone: on or off (single sign-on stays)."""

    model_config = ConfigDict(extra="ignore")

    local_sign_in: Literal["on", "off"]  # Boardround usernames and passwords
