"""Conflict deaths per country and year (UCDP Georeferenced Event Dataset).

File read (relative to the raw folder): `ucdp/UCDP_data.csv` from the paper's repository (MANIFEST
section 4): unnamed pandas index column, `Year` (1990-2023), `Country ISO` (231 countries),
`Conflict deaths` (persons; 7,854 rows). The compilers summed UCDP GED deaths per country and year
and set country-years without events to 0, so 0 means "no recorded organised-violence deaths".

Harmonization: values as published (the largest is Rwanda 1994, 772,463); a negative or
non-numeric value, an empty cell or a malformed ISO3 code raises.
"""

from pathlib import Path

import pandas as pd

from ..schemas import RAW, Coverage
from . import wpp
from .raw import raw_asset

TABLE = RAW["conflict"]

UCDP = "ucdp/UCDP_data.csv"
FILES = [UCDP]


def read(root: Path) -> pd.DataFrame:
    """Conflict deaths per country and year, persons."""
    frame = wpp.read_long(Path(root) / UCDP, {"Year": "year", "Country ISO": "country"},
                          {"Conflict deaths": "conflict_deaths"}, nonnegative=("conflict_deaths",),
                          persons=("conflict_deaths",))
    return TABLE.conform(frame.sort_values(["year", "country"], kind="stable"))


def expectations() -> list:
    import great_expectations.expectations as gxe  # here, not at import: GX takes 3 s to load

    return [
        gxe.ExpectColumnValuesToBeBetween(column="conflict_deaths", min_value=0,
                                          meta={"fix": "deaths cannot be negative; use 0 for no conflict"}),
        gxe.ExpectColumnValuesToNotBeNull(column="conflict_deaths",
                                          meta={"fix": "use 0 for country-years without recorded deaths"}),
        gxe.ExpectColumnValuesToBeBetween(column="conflict_deaths", max_value=1_000_000, severity="warning",
                                          meta={"fix": "more than a million deaths in a year: check units and "
                                                       "double counting"}),
    ]


# the publisher's current release: a release holding less (rows, years, codes per code column) stops
# before it lands, unless the withdrawal is stated (sources/raw.py)
COVERAGE = Coverage.span(1990, 2023, rows=7_854, codes=231)

asset = raw_asset(TABLE, ['country'], expectations)
