"""Migration flows measured from Facebook users' changes of residence (Meta; Chi et al., PNAS 2025).

A migrant is a person whose country of residence changed for most of the following 12 months
(UN-style definition), estimated from privacy-protected Facebook records and adjusted for selection
into Facebook use; unit = persons. China and Iran are absent (not in Meta's data). Files read
(relative to the raw folder), the first form found wins:

- `observed_flows/meta_facebook/international_migration_flow.csv`: the publisher's monthly file
  (HDX dataset `international-migration-flows`, CC BY 4.0), columns `migration_month` (YYYY-MM),
  `country_from`, `country_to` (ISO2), `num_migrants`; 2019-01...2022-12. Months are summed into
  calendar years; a (month, from, to) row that appears twice is an error.
- otherwise `observed_flows/meta_facebook/flows_<y>_<y+1>.json`: third-party calendar-year aggregates
  of that file (code-4you/world-migration-flows@ffd2571); **`flows_<y>_<y+1>.json` holds calendar
  year y**, as `{destination ISO2: {origin ISO2: migrants}}`. The years read are the files present
  (2019-2022 in the bundle). The **diagonal `flows[c][c]` is c's net migration**, not a flow: dropped.

Both forms give the same table: pairs with fewer than MIN_MIGRANTS (50) migrants in the year are
dropped (the annual files hold only those pairs), and so is origin == destination. ISO2 codes are
mapped with `to_iso3(kind="iso2")`: **Namibia is `NA`** (read as text, never as a missing value),
Kosovo `XK` -> XKX (merged into SRB by countries/successors.csv). source = "meta_facebook".
"""

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..countries import to_iso3
from ..schemas import RAW, Coverage
from .files import WORLD_POPULATION, file_error, read_csv, read_json, to_number
from .raw import raw_asset

TABLE = RAW["meta_flows"]
SOURCE = "meta_facebook"
MIN_MIGRANTS = 50  # Meta publishes pairs with at least 50 migrants in the year

FOLDER = "observed_flows/meta_facebook"
MONTHLY = f"{FOLDER}/international_migration_flow.csv"
MONTHLY_COLUMNS = ["migration_month", "country_from", "country_to", "num_migrants"]
ANNUAL_NAME = re.compile(r"flows_(\d{4})_(\d{4})\.json")
MONTH = r"\d{4}-(0[1-9]|1[0-2])"
FETCH = ("run `migration-fetch --only 'observed_flows/meta_facebook/*'`, or download international_migration_flow.csv "
         "from the HDX dataset `international-migration-flows` into this folder")


def annual_file(year: int) -> str:
    return f"{FOLDER}/flows_{year}_{year + 1}.json"


FILES = [*(annual_file(y) for y in range(2019, 2023)), MONTHLY]


def expectations() -> list:
    import great_expectations.expectations as gxe  # here, not at import: GX takes 3 s to load

    return [
        gxe.ExpectColumnValuesToNotBeNull(column="flow", meta={"fix": "drop pairs without a count"}),
        gxe.ExpectColumnValuesToBeBetween(
            column="flow", min_value=MIN_MIGRANTS,
            meta={"fix": f"Meta publishes pairs with at least {MIN_MIGRANTS} migrants in a calendar year: sum the "
                         "months first, then drop smaller pairs"}),
        gxe.ExpectColumnValuesToBeBetween(
            column="year", min_value=2019,
            meta={"fix": "Meta's series starts in January 2019: an earlier year means a misread month or file name"}),
        gxe.ExpectColumnValuesToNotBeNull(column="source", meta={"fix": f"set source to {SOURCE!r}"}),
    ]


# the publisher's current release: a release holding less (rows, years, codes per code column) stops
# before it lands, unless the withdrawal is stated (sources/raw.py)
COVERAGE = Coverage.span(2019, 2022, rows=59_851, codes=181)

asset = raw_asset(TABLE, ["origin", "destination"], expectations)


def _first(mask: pd.Series) -> int | None:
    """Position of the first True in `mask`, None if there is none."""
    hits = np.flatnonzero(mask.to_numpy())
    return int(hits[0]) if len(hits) else None


def read_monthly(path: Path) -> pd.DataFrame:
    """year, origin, destination, flow: the monthly CSV summed into calendar years (line = 2 + position)."""
    raw = read_csv(path, required=MONTHLY_COLUMNS, dtype=str, keep_default_na=False)  # keeps Namibia's NA
    month = raw["migration_month"].str.strip()
    if (p := _first(~month.str.fullmatch(MONTH))) is not None:
        raise file_error(path, f"`migration_month` {raw['migration_month'].iloc[p]!r} is not a month YYYY-MM",
                         "correct the cell or download the file from HDX again", row=2 + p)
    flow = to_number(raw["num_migrants"], path, "num_migrants", markers=(), maximum=WORLD_POPULATION)
    if (p := _first(flow < 0)) is not None:
        raise file_error(path, f"`num_migrants` is negative ({flow.iloc[p]:g})",
                         "migrants are counted in persons: correct the cell or download the file from HDX again",
                         row=2 + p)
    lines = raw.index + 2
    frame = pd.DataFrame({
        "month": month,
        "origin": to_iso3(raw["country_from"].set_axis(lines), file=str(path), column="country_from",
                          kind="iso2").to_numpy(dtype=object),  # to_iso3 strips blanks
        "destination": to_iso3(raw["country_to"].set_axis(lines), file=str(path), column="country_to",
                               kind="iso2").to_numpy(dtype=object),
        "flow": flow,
    })
    if (p := _first(frame.duplicated(["month", "origin", "destination"]))) is not None:
        row = frame.iloc[p]
        raise file_error(path, f"{row['origin']} -> {row['destination']} in {row['month']} appears twice",
                         "keep one row per month and pair: download the file from HDX again", row=2 + p)
    frame["year"] = frame["month"].str[:4].astype(int)
    frame = frame.dropna(subset=["origin", "destination"])
    return frame.groupby(["year", "origin", "destination"], as_index=False)["flow"].sum()


def annual_year(path: Path) -> int:
    """The calendar year held by `flows_<y>_<y+1>.json`: y."""
    match = ANNUAL_NAME.fullmatch(path.name)
    if not match or int(match[2]) != int(match[1]) + 1:
        raise file_error(path, "the name is not flows_<year>_<year + 1>.json with 4-digit years",
                         "name the file after the calendar year it holds (flows_2019_2020.json holds 2019) or "
                         "remove it")
    return int(match[1])


def read_annual(path: Path) -> pd.DataFrame:
    """year, origin, destination, flow of one `{destination ISO2: {origin ISO2: migrants}}` file."""
    year = annual_year(path)
    doc = read_json(path)
    if not isinstance(doc, dict) or not all(isinstance(v, dict) for v in doc.values()):
        raise file_error(path, "is not a JSON object of objects {destination ISO2: {origin ISO2: migrants}}",
                         f"the download was altered: {FETCH}")
    cells = [(d, o, v) for d, origins in doc.items() for o, v in origins.items() if o != d]  # diagonal: net migration
    for d, o, v in cells:
        entry = f"entry [{d!r}][{o!r}] ({o} -> {d})"
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise file_error(path, f"{entry} is not a number ({v!r})", f"correct the entry or {FETCH}")
        if v < 0:
            raise file_error(path, f"{entry} is negative ({v:g})",
                             f"migrants are counted in persons: correct the entry or {FETCH}")
    frame = pd.DataFrame(cells, columns=["destination", "origin", "flow"], dtype=object)
    entries = [f"[{d!r}][{o!r}]" for d, o, _ in cells]  # named as the row of an unknown code
    for column, key in [("destination", "destination (outer key)"), ("origin", "origin (inner key)")]:
        frame[column] = to_iso3(frame[column].set_axis(entries), file=str(path), column=key,
                                kind="iso2").to_numpy(dtype=object)
    return frame.dropna(subset=["origin", "destination"]).assign(year=year, flow=lambda f: f["flow"].astype(float))


def read(root: Path) -> pd.DataFrame:
    """Meta's flows by calendar year: the monthly CSV where present, else the annual JSON files."""
    folder = Path(root) / FOLDER
    if (Path(root) / MONTHLY).exists():
        frame = read_monthly(Path(root) / MONTHLY)
    else:
        paths = sorted(folder.glob("flows_*_*.json"))
        if not paths:
            raise file_error(folder, f"neither {Path(MONTHLY).name} nor any flows_<year>_<year + 1>.json found", FETCH)
        frame = pd.concat([read_annual(p) for p in paths], ignore_index=True)
    frame = frame[(frame["origin"] != frame["destination"]) & (frame["flow"] >= MIN_MIGRANTS)]
    frame = frame.assign(source=SOURCE).sort_values(["year", "destination", "origin"], kind="stable")
    return TABLE.conform(frame)
