"""Observed bilateral flows reported by national statistical systems.

Files read (relative to the raw folder):

- `observed_flows/oecd_imd/MIG_15082015002909613.csv.zip`: OECD International Migration Database,
  OECD.Stat export of 2015-08-14 (one CSV member, UTF-8 with BOM, 740,548 rows). Only the columns
  `CO2, VAR, COU, YEA, Value` are read, and only `VAR == "B11"` rows are kept (inflows of foreign
  population by nationality, 94,418 rows): `COU` = reporting (destination) country, `CO2` =
  nationality, read as the origin. **`Value` is in thousands of persons** in this export (B11 USA
  2011 = 1062.04, i.e. 1,062,040 persons, with up to 3 decimals = 1 person; MANIFEST.md says
  "persons", which holds for B13/B16 but not for B11), so it is multiplied by 1,000 and rounded to
  whole persons. An empty `Value` means "not reported" (37,270 rows) and is dropped; an explicit 0
  is kept (an observed zero). Non-country `CO2` codes are dropped: TOT, NS, UUU, YYY, SUN, CSK,
  YUCS, E15, EEA, CEX, BSX, CAX, CGX (`OECD_NOT_COUNTRIES`) and any code that is not three capital
  letters. SCG (Serbia and Montenegro) is **kept**: it is a country series (e.g. AUT and CHE report
  SCG to 2006 and SRB from 2007), not an aggregate, and the panel shares it between SRB and MNE
  before 2006 (countries/successors.csv). Flows are by nationality, not previous residence, and
  follow national definitions (permits or registers; USA, AUS and NZL use fiscal years); the
  model learns a bias per source. source = "oecd_b11"; 2000-2012, 34 destinations.
- `observed_flows/eurostat/immigration_bilateral_total.csv` (long `partner, geo, year, value`):
  Eurostat `migr_imm5prv`, immigrants into `geo` by previous usual residence `partner`, persons.
  ISO2-style codes mapped with `to_iso3(kind="iso2")` (EL and UK via aliases.csv); `partner` or
  `geo` "OTHER" (all other countries summed, or unlisted reporters) dropped. source =
  "eurostat_prev_residence"; 28 reporting countries, 1998-2023, uneven coverage.

Both: origin == destination dropped; where both sources report a corridor-year both rows are kept
(the `source` column tells them apart).
"""

from pathlib import Path

import numpy as np
import pandas as pd

from ..countries import to_iso3
from ..schemas import RAW, Coverage
from .files import WORLD_POPULATION, file_error, read_csv, read_zip_member, require, to_number
from .raw import raw_asset

TABLE = RAW["observed_flows"]

OECD = "observed_flows/oecd_imd/MIG_15082015002909613.csv.zip"
EUROSTAT = "observed_flows/eurostat/immigration_bilateral_total.csv"
FILES = [OECD, EUROSTAT]

OECD_SOURCE = "oecd_b11"
EUROSTAT_SOURCE = "eurostat_prev_residence"
OECD_VARIABLE = "B11"
OECD_UNIT = 1000.0  # B11 `Value` is in thousands of persons
OECD_COLUMNS = ["CO2", "VAR", "COU", "YEA", "Value"]
OECD_NOT_COUNTRIES = {"TOT", "NS", "UUU", "YYY", "SUN", "CSK", "YUCS", "E15", "EEA", "CEX", "BSX", "CAX", "CGX"}
ISO3_LIKE = r"^[A-Z]{3}$"
EUROSTAT_OTHER = "OTHER"


def expectations() -> list:
    import great_expectations.expectations as gxe  # here, not at import: GX takes 3 s to load

    return [
        gxe.ExpectColumnValuesToNotBeNull(column="flow", meta={"fix": "drop unreported years instead of leaving them empty"}),
        gxe.ExpectColumnValuesToBeBetween(column="flow", min_value=0,
                                          meta={"fix": "flows count persons: negative values are errors"}),
        gxe.ExpectColumnValuesToNotBeNull(column="source", meta={"fix": "name the reporting system of every row"}),
    ]


# the publisher's current release: a release holding less (rows, years, codes per code column) stops
# before it lands, unless the withdrawal is stated (sources/raw.py)
COVERAGE = Coverage.span(1998, 2023, rows=69_081, codes=40)

asset = raw_asset(TABLE, ['origin', 'destination'], expectations)


def _nonnegative(numbers: pd.Series, path: Path, column: str, first_data_line: int) -> None:
    negative = numbers < 0
    if negative.any():
        p = int(np.flatnonzero(negative.to_numpy())[0])
        raise file_error(path, f"`{column}` is negative ({numbers.iloc[p]:g})",
                         "flows count persons and cannot be negative: correct the cell or fetch the file again",
                         row=first_data_line + p)


def _codes(values: pd.Series, path: Path, column: str, kind: str) -> np.ndarray:
    """ISO3 codes of `values` (indexed by position in the file), unknown ones reported by file line."""
    lines = values.set_axis(values.index + 2)  # the header is line 1
    return to_iso3(lines, file=str(path), column=column, kind=kind).to_numpy(dtype=object)


def _unique(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Raise on a repeated (year, origin, destination); the frame's index is the row's position in the file."""
    repeated = frame.duplicated(["year", "origin", "destination"])
    if repeated.any():
        first = frame[repeated].iloc[0]
        raise file_error(path, f"{first['origin']} -> {first['destination']} in {int(first['year'])} appears twice",
                         "keep one row per corridor and year: fetch the file again", row=2 + int(frame.index[repeated][0]))
    return frame


def read_oecd(root: Path) -> pd.DataFrame:
    """year, origin, destination, flow (persons), source of the OECD IMD B11 inflows."""
    path = require(Path(root) / OECD)
    data = read_zip_member(path)
    read_csv(path, required=OECD_COLUMNS, data=data, nrows=0, encoding="utf-8-sig")  # names a missing column
    raw = read_csv(path, required=OECD_COLUMNS, data=data, usecols=OECD_COLUMNS, dtype=str,
                   keep_default_na=False, encoding="utf-8-sig")
    b11 = raw["VAR"].str.strip() == OECD_VARIABLE
    # positions stay those of the file (line = 2 + position); other variables are blanked, not read
    value = to_number(raw["Value"].where(b11, ""), path, "Value", markers=("",), maximum=WORLD_POPULATION)
    _nonnegative(value, path, "Value", 2)
    year = to_number(raw["YEA"].where(b11, ""), path, "YEA", markers=("",))
    reported = b11 & value.notna()
    if (reported & year.isna()).any():
        p = int(np.flatnonzero((reported & year.isna()).to_numpy())[0])
        raise file_error(path, "empty `YEA`", "every row needs a year: fetch the file again", row=2 + p)
    rows = raw[reported]
    origin = rows["CO2"].str.strip()
    country = ~origin.isin(OECD_NOT_COUNTRIES) & origin.str.match(ISO3_LIKE)
    frame = pd.DataFrame({
        "year": year[reported][country],
        "origin": _codes(origin[country], path, "CO2", "iso3"),
        "destination": _codes(rows["COU"].str.strip()[country], path, "COU", "iso3"),
        "flow": (value[reported][country] * OECD_UNIT).round(0),
        "source": OECD_SOURCE,
    })
    return _unique(frame.dropna(subset=["origin", "destination"]), path)


def read_eurostat(root: Path) -> pd.DataFrame:
    """year, origin, destination, flow (persons), source of Eurostat immigration by previous residence."""
    path = require(Path(root) / EUROSTAT)
    raw = read_csv(path, required=["partner", "geo", "year", "value"], dtype=str, keep_default_na=False)
    value = to_number(raw["value"], path, "value", markers=("", ":"), maximum=WORLD_POPULATION)
    _nonnegative(value, path, "value", 2)
    year = to_number(raw["year"], path, "year", markers=())
    partner, geo = raw["partner"].str.strip(), raw["geo"].str.strip()
    keep = (partner != EUROSTAT_OTHER) & (geo != EUROSTAT_OTHER) & value.notna()
    frame = pd.DataFrame({
        "year": year[keep],
        "origin": _codes(partner[keep], path, "partner", "iso2"),
        "destination": _codes(geo[keep], path, "geo", "iso2"),
        "flow": value[keep],
        "source": EUROSTAT_SOURCE,
    })
    return _unique(frame.dropna(subset=["origin", "destination"]), path)


def read(root: Path) -> pd.DataFrame:
    """OECD B11 inflows and Eurostat immigration by previous residence, one row per source."""
    frame = pd.concat([read_oecd(root), read_eurostat(root)], ignore_index=True)
    frame = frame[frame["origin"] != frame["destination"]]
    frame = frame.sort_values(["source", "year", "destination", "origin"], kind="stable")
    return TABLE.conform(frame)
