"""The base of every settings model, in its own module so that a section's models
(irisbackup/settings_<area>.py) and irisbackup/settings/ can both import it without a cycle."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, BeforeValidator, ConfigDict
from pydantic.alias_generators import to_camel

from irisbackup.azure_ids import ResourceId, parse_resource_id


class _Settings(BaseModel):
    """camelCase keys in the stack file, snake_case in Python; unknown keys are errors (typos)."""

    model_config = ConfigDict(
        alias_generator=to_camel, extra="forbid", frozen=True, arbitrary_types_allowed=True
    )


def _resource_id(resource_type: str) -> BeforeValidator:
    def parse(value: Any) -> ResourceId:
        if not isinstance(value, str):
            raise ValueError(f"expected a {resource_type} ID as a string")
        return parse_resource_id(value, resource_type)

    return BeforeValidator(parse)


SYSTEM_ASSIGNED = "systemAssigned"


def _managed_identity(user_assigned_type: str) -> BeforeValidator:
    """`systemAssigned`, or the ID of a user-assigned identity."""
    def parse(value: Any) -> str | ResourceId:
        if value == SYSTEM_ASSIGNED:
            return value
        if not isinstance(value, str) or not value.startswith("/"):
            raise ValueError(f"expected {SYSTEM_ASSIGNED!r} or a {user_assigned_type} ID")
        return parse_resource_id(value, user_assigned_type)

    return BeforeValidator(parse)
