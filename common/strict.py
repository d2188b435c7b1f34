"""The base of every validated data file and configuration section."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Unknown keys are errors (a misspelt key must not be silently ignored), and values are
    frozen once read."""

    model_config = ConfigDict(extra="forbid", frozen=True)
