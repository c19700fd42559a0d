"""EU membership (a free-movement economic union) per country and year.

File read (relative to the raw folder): `gravity/eu.csv` from the paper's repository (MANIFEST
section 4; CEPII membership, carried forward by the compilers after 2021): unnamed pandas index
column, `Year` (1990-2023), `Country ISO` (231 countries), `EU` 0/1.

Harmonization: values as published, one row per country and year of the file. The file's convention
for the year of a change is kept, e.g. the United Kingdom is 1 to 2019 and 0 from 2020 (it left on
31 January 2020), Croatia is 1 from 2013 (joined 1 July 2013); 12 members in 1990, 15 in 1995, 25
in 2004, 27 in 2007, 28 in 2013-2019, 27 from 2020. A value other than 0/1 raises.
"""

from pathlib import Path

import pandas as pd

from ..schemas import RAW, Coverage
from . import wpp
from .raw import raw_asset

TABLE = RAW["union_membership"]

EU = "gravity/eu.csv"
FILES = [EU]


def read(root: Path) -> pd.DataFrame:
    """EU membership flags per country and year, as published."""
    frame = wpp.read_long(Path(root) / EU, {"Year": "year", "Country ISO": "country"}, {"EU": "member"},
                          flags=("member",))
    return TABLE.conform(frame.sort_values(["year", "country"], kind="stable"))


def expectations() -> list:
    import great_expectations.expectations as gxe  # here, not at import: GX takes 3 s to load

    return [
        gxe.ExpectColumnValuesToBeInSet(column="member", value_set=[0.0, 1.0], meta={"fix": "membership is a 0/1 flag"}),
        gxe.ExpectColumnValuesToNotBeNull(column="member", meta={"fix": "every country-year needs a 0/1 flag"}),
        gxe.ExpectColumnMeanToBeBetween(column="member", max_value=0.5, severity="warning",
                                        meta={"fix": "most countries of the world are not EU members: check "
                                                     "whether the flag is inverted"}),
    ]


# the publisher's current release: a release holding less (rows, years, codes per code column) stops
# before it lands, unless the withdrawal is stated (sources/raw.py)
COVERAGE = Coverage.span(1990, 2023, rows=7_854, codes=231)

asset = raw_asset(TABLE, ['country'], expectations)
