"""Shared pieces of the request/response models (any thread: pure data)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

__all__ = ["Camel"]


class Camel(BaseModel):
    """A JSON body with the seed's camelCase names (snake_case accepted too); unknown fields are refused."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")
