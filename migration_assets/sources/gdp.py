"""GDP per capita (constant 2015 USD) and real GDP growth (%), 1990-2023.

Files read (relative to the raw folder), from the paper's repository (MANIFEST section 4):

- `gdp/GDP_data.nc`: netCDF classic, dims `Year` x `Country ISO` (231 ISO3 codes as a
  char array), variables `GDP/capita (2015 USD)` and `GDP % annual growth`. This is the compilers'
  gap-filled version: no missing value for 1990-2023 (World Bank, UNCTAD, IMF WEO, Maddison and
  national figures, gaps extrapolated with real growth or borrowed from similar economies).
The repository also holds `gdp/GDP_data.csv`, the same variables in long form but NOT gap-filled
(14 territories have no real GDP per capita at all, others have gaps, 8 values differ). It is not
read: falling back to it silently when the netCDF file is missing nulled 609 values while the
metadata still named the netCDF file, so a missing netCDF file is an error that says to fetch it.

Harmonization: years 1990-2023; values as published (GDP per capita must be positive, growth may
be negative); codes are already ISO3.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from ..countries import to_iso3
from ..schemas import RAW, Coverage
from . import wpp
from .files import file_error, netcdf_variables
from .raw import raw_asset

TABLE = RAW["gdp"]

NETCDF = "gdp/GDP_data.nc"
VARIABLES = {"GDP/capita (2015 USD)": "gdp_per_capita", "GDP % annual growth": "gdp_growth"}

FILES = [NETCDF]


def read_netcdf(path: Path) -> pd.DataFrame:
    arrays = netcdf_variables(path, list(VARIABLES), ("Year", "Country ISO"))
    years, codes = arrays["Year"].astype("int64"), arrays["Country ISO"]
    iso3 = to_iso3(pd.Series(codes), file=str(path), column="Country ISO", kind="iso3")
    frame = pd.DataFrame({"year": np.repeat(years, len(codes)), "country": np.tile(iso3.to_numpy(), len(years))})
    for name, column in VARIABLES.items():
        values = arrays[name].astype(float)
        frame[column] = values.reshape(-1)
    frame = frame[frame["year"].between(wpp.FIRST_YEAR, wpp.LAST_YEAR)]
    bad = frame["gdp_per_capita"] <= 0
    if bad.any():
        row = frame[bad].iloc[0]
        raise file_error(path, f"`GDP/capita (2015 USD)` is not positive ({row['gdp_per_capita']}) for "
                         f"Country ISO {row['country']}, Year {row['year']}",
                         "correct the cell or fetch the file again")
    if frame.duplicated(["year", "country"]).any():
        raise file_error(path, "a country or year appears twice in the coordinates", "fetch the file again")
    return frame


def read(root: Path) -> pd.DataFrame:
    """GDP per capita and growth per country and year 1990-2023, from the gap-filled netCDF file."""
    frame = read_netcdf(Path(root) / NETCDF)
    return TABLE.conform(frame.sort_values(["year", "country"], kind="stable"))


def expectations() -> list:
    import great_expectations.expectations as gxe  # here, not at import: GX takes 3 s to load

    return [
        gxe.ExpectColumnValuesToBeBetween(column="gdp_per_capita", min_value=0, strict_min=True,
                                          meta={"fix": "GDP per capita must be positive; leave gaps empty instead"}),
        gxe.ExpectColumnValuesToNotBeNull(column="gdp_per_capita", mostly=0.9, severity="warning",
                                          meta={"fix": "more than 10 % of GDP values missing: gap-fill the source"}),
        gxe.ExpectColumnValuesToBeBetween(column="gdp_per_capita", min_value=50, max_value=500_000, mostly=0.99,
                                          severity="warning",
                                          meta={"fix": "GDP per capita is in constant 2015 US dollars per person: "
                                                       "check for totals or other units"}),
        gxe.ExpectColumnValuesToBeBetween(column="gdp_growth", min_value=-80, max_value=200, severity="warning",
                                          meta={"fix": "growth is in percent; check for a fraction or a level"}),
    ]


# the publisher's current release: a release holding less (rows, years, codes per code column) stops
# before it lands, unless the withdrawal is stated (sources/raw.py)
COVERAGE = Coverage.span(1990, 2023, rows=7_854, codes=231)

asset = raw_asset(TABLE, ['country'], expectations)
