"""Who is acting: the signed-in user or integration, with their role and ward scope."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Principal:
    user_id: int
    display_name: str
    role: str
    site_wide: bool = False
    ward_ids: frozenset[int] = field(default_factory=frozenset)
    is_service_account: bool = False
    # The API token the request came with (None for a signed-in browser): idempotency keys are per token.
    token_id: int | None = None

    def can_access_ward(self, ward_id: int | None) -> bool:
        return self.site_wide or (ward_id is not None and ward_id in self.ward_ids)
