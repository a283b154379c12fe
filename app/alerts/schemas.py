"""What a person may choose for each alert rule, and the preferences form."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

# In the app and by email / in the app only / not at all.
CHOICES = ("email", "app", "off")
CHOICE_LABELS = {"email": "In Boardround and by email", "app": "In Boardround only", "off": "Off"}


def _email(value: str) -> str:
    value = value.strip()
    if value and (value.count("@") != 1 or " " in value or "." not in value.split("@")[1] or value.startswith("@")):
        raise ValueError("Enter an email address like name@nhs.net")
    return value


Email = Annotated[str, Field(default="", max_length=254), AfterValidator(_email)]


class PreferencesUpdate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    email: Email = ""
    # Rule code -> choice; a rule not sent keeps "app".
    choices: dict[Annotated[str, Field(max_length=40)], Annotated[str, Field(pattern="^(email|app|off)$")]] = Field(
        default_factory=dict, max_length=50
    )
