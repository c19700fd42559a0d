"""Published estimates of other studies, read for comparison only (schemas.REFERENCE).

These are model outputs: they validate a reproduction and are never training targets.

`gaskin_abel_flows` — Gaskin & Abel (2026), annual bilateral flows of the deep-learning model:
  `reference_estimates/gaskin_abel_2026/flows/<year>.json` for 1990-2023, each one 242 x 242
  chord matrix (`matrix[i][j]` = persons moving from `names[i]` to `names[j]` during the year,
  ensemble mean rounded to integers by the publisher), with `names` and `regions` in
  `reference_estimates/gaskin_abel_2026/indexes-regions.json`. The 11 region rows/columns (by the
  `regions` list) are dropped, leaving the 231 countries; only nonzero cells are kept (a missing
  pair means 0). `flows/2024.json` is all zeros (flows are published to 2023 only) and is not read.
  Country-block totals: 13.3 M (1990), 18.8 M (2010), 22.3 M (2020), 36.5 M (2023).

`gaskin_abel_net_migration` — `reference_estimates/gaskin_abel_2026/net_migration.nc` (netCDF
  classic): `mean` and `std` of net migration (persons) by `Year` (1990-2023) x `Country ISO`
  (231 ISO3 codes stored as 3-character arrays). Cells where both are missing are left out.

`abel_cohen_flows` — Abel & Cohen (2019) five-year flows:
  `abel_cohen_flows/chord_json/flow_<method>.json.gz` for the six methods (both sexes), each with a
  dict period start (1990, 1995, ..., 2015) -> 242 x 242 matrix; a period runs from 1 July of
  `period_start` to 1 July of `period_end` = start + 5 (flows are five-year totals, not annual).
  Region rows/columns (the file's `regions` list) and zero cells are dropped. 231 names remain:
  "Sudan*" (Sudan before South Sudan's secession; nonzero only for periods before 2010) and "Sudan"
  (from 2010) both map to SDN, "Serbia & Montenegro" (periods before 2010) to SCG, so the table
  holds 230 codes; SCG and SDN-before-2011 are shared among their successors by the panel
  (countries/successors.csv).

Names are mapped with `countries.to_iso3` (plus aliases.csv: "Caribbean Netherlands" = BES,
"Serbia & Montenegro" = SCG, "Sudan*" = SDN), not with the bundle's
`countries/X80110_country-metadata-flags_2026.csv`, which maps Chile to CHI and Sudan to SUD.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..countries import to_iso3
from ..schemas import REFERENCE
from . import chord
from .files import file_error, netcdf_variables, read_json

GASKIN_ABEL = "reference_estimates/gaskin_abel_2026"
GASKIN_ABEL_INDEX = f"{GASKIN_ABEL}/indexes-regions.json"
GASKIN_ABEL_YEARS = list(range(1990, 2024))  # flows/2024.json exists but is all zeros
GASKIN_ABEL_NET = f"{GASKIN_ABEL}/net_migration.nc"

ABEL_COHEN_METHODS = ["sd_drop_neg", "sd_rev_neg", "mig_rate", "da_min_open", "da_min_closed", "da_pb_closed"]
ABEL_COHEN_PERIOD = 5  # years


def gaskin_abel_flow_file(year: int) -> str:
    return f"{GASKIN_ABEL}/flows/{year}.json"


def abel_cohen_file(method: str) -> str:
    return f"abel_cohen_flows/chord_json/flow_{method}.json.gz"


FILES: dict[str, list[str]] = {
    "gaskin_abel_flows": [GASKIN_ABEL_INDEX, *(gaskin_abel_flow_file(y) for y in GASKIN_ABEL_YEARS)],
    "gaskin_abel_net_migration": [GASKIN_ABEL_NET],
    "abel_cohen_flows": [abel_cohen_file(m) for m in ABEL_COHEN_METHODS],
}


def read_gaskin_abel_flows(root: Path) -> pd.DataFrame:
    """year, origin, destination, flow: the paper's annual flows 1990-2023, nonzero country pairs."""
    root = Path(root)
    index_path = root / GASKIN_ABEL_INDEX
    index = read_json(index_path)
    codes = None
    frames = []
    for year in GASKIN_ABEL_YEARS:
        matrix = chord.load(root / gaskin_abel_flow_file(year), key=str(year), index=index, index_path=index_path)
        codes = chord.country_codes(matrix) if codes is None else codes  # the same index for every year
        frames.append(chord.to_long(matrix, key="year", value="flow", codes=codes))
    return REFERENCE["gaskin_abel_flows"].conform(pd.concat(frames, ignore_index=True))


def read_gaskin_abel_net_migration(root: Path) -> pd.DataFrame:
    """year, country, mean, std: the paper's annual net migration with its ensemble spread."""
    path = Path(root) / GASKIN_ABEL_NET
    arrays = netcdf_variables(path, ["mean", "std"], ("Year", "Country ISO"))
    years, chars = arrays["Year"], arrays["Country ISO"]
    mean, std = arrays["mean"].astype(np.float64), arrays["std"].astype(np.float64)
    if mean.shape != (len(years), len(chars)) or std.shape != mean.shape:
        raise file_error(path, f"`mean`/`std` have shapes {mean.shape}/{std.shape}, expected "
                         f"{(len(years), len(chars))}", "the file is truncated or altered: fetch it again")
    codes = to_iso3(pd.Series(chars), file=str(path), column="Country ISO", kind="iso3")
    frame = pd.DataFrame({
        "year": np.repeat(years.astype(int), len(chars)),
        "country": np.tile(codes.to_numpy(dtype=object), len(years)),
        "mean": mean.ravel(),
        "std": std.ravel(),
    })
    frame = frame[frame["country"].notna() & ~(frame["mean"].isna() & frame["std"].isna())]
    if (frame["std"] < 0).any():
        row = frame[frame["std"] < 0].iloc[0]
        raise file_error(path, f"`std` is negative for {row['country']} in {row['year']} ({row['std']:g})",
                         "a standard deviation cannot be negative: fetch the file again")
    return REFERENCE["gaskin_abel_net_migration"].conform(frame)


def read_abel_cohen_flows(root: Path) -> pd.DataFrame:
    """period_start, period_end, method, origin, destination, flow: Abel & Cohen's five-year flows."""
    root = Path(root)
    frames = []
    for method in ABEL_COHEN_METHODS:
        path = root / abel_cohen_file(method)
        matrix = chord.load(path)
        bad = [k for k in matrix.matrices if not k.isdigit()]
        if bad:
            raise file_error(path, f"`matrix` keys must be period start years; found {bad[:5]}",
                             "use the publisher's file as documented in MANIFEST.md")
        long = chord.to_long(matrix, key="period_start", value="flow")
        frames.append(long.assign(method=method, period_end=long["period_start"] + ABEL_COHEN_PERIOD))
    return REFERENCE["abel_cohen_flows"].conform(pd.concat(frames, ignore_index=True))
