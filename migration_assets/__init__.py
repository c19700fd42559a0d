"""Annual bilateral migration flow estimates: a Dagster code location (`defs`)."""

from .definitions import defs

__all__ = ["defs"]
