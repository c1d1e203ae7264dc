"""The base of every settings model, in its own module so that a section's models
(components/settings_<area>.py) and components/settings.py can both import it without a cycle."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class _Settings(BaseModel):
    """camelCase keys in the stack file, snake_case in Python; unknown keys are errors (typos)."""

    model_config = ConfigDict(
        alias_generator=to_camel, extra="forbid", frozen=True, arbitrary_types_allowed=True
    )
