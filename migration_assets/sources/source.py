"""Where raw tables come from: the source abstraction, and the synthetic world (the embedded default).

A source hands each raw table of `schemas.RAW` to its asset as a DataFrame. What a source offers
beyond the raw tables is declared as capabilities, which decide what the definitions hold
(definitions.py): a world with a known truth (`has_truth`) gets the `synthetic_truth` assets, a
source with the anchors' published estimates (`has_reference`) gets the `reference` assets and
the comparison with them. The published files' source is `sources/published.py`.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import ClassVar

import dagster as dg
import pandas as pd

from ..schemas import RAW, TRUTH, Coverage
from ..synthetic import SyntheticWorld, WorldConfig, generate_world


def frame_digest(frame: pd.DataFrame) -> str:
    """Content hash of a frame (values and column names), used as its data version."""
    h = hashlib.sha256(",".join(frame.columns).encode())
    h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()[:16]


class MigrationSource(dg.ConfigurableResource):
    """Where raw tables come from. Subclasses return each table of schemas.RAW as a DataFrame."""

    has_truth: ClassVar[bool] = False  # true flows, stocks and net migration (`truth(name)`)
    has_reference: ClassVar[bool] = False  # the anchors' published estimates (`table(name)` of schemas.REFERENCE)

    def table(self, name: str) -> pd.DataFrame:
        raise NotImplementedError

    def truth(self, name: str) -> pd.DataFrame:
        raise NotImplementedError(f"{type(self).__name__} has no truth (has_truth is False)")

    def origin(self, name: str) -> str:
        """Human-readable origin of a table (a file path, or the synthetic world's settings)."""
        raise NotImplementedError

    def known_codes(self) -> frozenset[str]:
        """The country codes a raw table may hold; any other code stops the table from landing."""
        raise NotImplementedError

    def coverage(self, name: str) -> Coverage | None:
        """What every release of raw table `name` holds at least (None: nothing declared)."""
        return None

    def national_net_migration(self) -> pd.DataFrame | None:
        """year, country, net_migration of the national statistics among the net-migration targets,
        for the comparison with the anchors (None: the source has no such split)."""
        return None


@lru_cache(maxsize=4)
def _world(config: WorldConfig) -> SyntheticWorld:
    return generate_world(config)


class SyntheticSource(MigrationSource):
    """The embedded default: a seeded synthetic world with known truth (migration_assets/synthetic)."""

    has_truth: ClassVar[bool] = True

    n_countries: int = 30
    start_year: int = 1990
    end_year: int = 2023
    seed: int = 0
    # the world is simulated to end_year, but its releases stop here (0: end_year); raising it is
    # a new release that adds years, with every earlier year unchanged
    released_through: int = 0

    def config(self) -> WorldConfig:
        return WorldConfig(n_countries=self.n_countries, start_year=self.start_year, end_year=self.end_year,
                           seed=self.seed)

    def world(self) -> SyntheticWorld:
        return _world(self.config())

    def table(self, name: str) -> pd.DataFrame:
        if name not in RAW:
            raise KeyError(f"unknown raw table {name!r}; known: {sorted(RAW)}")
        return self._released(self.world().raw(name))

    def truth(self, name: str) -> pd.DataFrame:
        if name not in TRUTH:
            raise KeyError(f"unknown truth table {name!r}; known: {sorted(TRUTH)}")
        return self._released(self.world().truth(name))

    def known_codes(self) -> frozenset[str]:
        return frozenset(self.world().raw("countries")["country"])

    def _released(self, frame: pd.DataFrame) -> pd.DataFrame:
        if not self.released_through or "year" not in frame.columns:
            return frame
        return frame[frame["year"] <= self.released_through].reset_index(drop=True)

    def origin(self, name: str) -> str:
        c = self.config()
        last = self.released_through or c.end_year
        return (f"synthetic world (seed={c.seed}, {c.n_countries} countries, {c.start_year}-{c.end_year}, "
                f"released through {last}), table {name}")


def default_source() -> MigrationSource:
    """`MIGRATION_SOURCE=synthetic` (default) or `published` (files under MIGRATION_RAW_DIR)."""
    from ..preflight import source_kind

    kind = source_kind()  # raises, with the fix, for anything but the two below
    if kind == "synthetic":
        return SyntheticSource()
    from ..preflight import raw_dir
    from .published import PublishedSource

    return PublishedSource(root=raw_dir())
