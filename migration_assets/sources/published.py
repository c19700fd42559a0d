"""The published-files source: each raw table read from the publishers' files.

Files live under one folder (`MIGRATION_RAW_DIR`, default `data/raw`) in the layout of the
development bundle (see README, *Real data*); `migration-fetch` downloads them there. Each source
module (`sources/<table>.py`) names its files in `FILES` and reads them in `read(root)`.
"""

from importlib import import_module
from pathlib import Path
from typing import ClassVar

import pandas as pd

from ..countries import known_codes
from .source import MigrationSource
from ..schemas import RAW, REFERENCE, Coverage

DEFAULT_RAW_DIR = "data/raw"


def _module(name: str):
    if name in RAW:
        return import_module(f"migration_assets.sources.{name}")
    if name in REFERENCE:
        return import_module("migration_assets.sources.reference")
    raise KeyError(f"unknown table {name!r}; known: {sorted(RAW) + sorted(REFERENCE)}")


class PublishedSource(MigrationSource):
    """Raw tables read from published files under `root`, and the anchors' published estimates."""

    has_reference: ClassVar[bool] = True

    root: str = DEFAULT_RAW_DIR  # default_source() sets it from MIGRATION_RAW_DIR

    def table(self, name: str) -> pd.DataFrame:
        module = _module(name)
        reader = module.read if name in RAW else getattr(module, f"read_{name}")
        return reader(Path(self.root))

    def origin(self, name: str) -> str:
        module = _module(name)
        if name in RAW:  # a reader that picks its files (a release) says which with files(root)
            files = module.files(Path(self.root)) if hasattr(module, "files") else module.FILES
        else:
            files = module.FILES[name]
        return f"{', '.join(str(Path(self.root) / f) for f in files)}"

    def known_codes(self) -> frozenset[str]:
        return known_codes()

    def coverage(self, name: str) -> Coverage | None:
        return _module(name).COVERAGE if name in RAW else None

    def national_net_migration(self) -> pd.DataFrame:
        from .net_migration import national_net_migration

        return national_net_migration(Path(self.root))
