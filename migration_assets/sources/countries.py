"""The canonical list of countries and territories the platform estimates.

Published data: `migration_assets/countries/canonical.csv` (231 ISO3 codes, the set of Gaskin &
Abel; see migration_assets/countries for names, aliases and successor rules). Synthetic world:
its own countries.
"""

from pathlib import Path

import pandas as pd

from ..countries import canonical
from ..schemas import RAW, Coverage
from .raw import raw_asset

TABLE = RAW["countries"]
FILES: list[str] = []  # packaged with the code, not downloaded


def read(root: Path) -> pd.DataFrame:
    frame = canonical().rename(columns={"iso3": "country"})
    return TABLE.conform(frame)


def expectations() -> list:
    import great_expectations.expectations as gxe  # here, not at import: GX takes 3 s to load

    return [
        gxe.ExpectTableRowCountToBeBetween(min_value=2, meta={"fix": "the country list needs at least two countries"}),
        gxe.ExpectColumnValuesToNotBeNull(column="region", meta={"fix": "give every country a region"}),
    ]


# the publisher's current release: a release holding less (rows, years, codes per code column) stops
# before it lands, unless the withdrawal is stated (sources/raw.py)
COVERAGE = Coverage(rows=231, codes=231)

asset = raw_asset(TABLE, ["country"], expectations)
