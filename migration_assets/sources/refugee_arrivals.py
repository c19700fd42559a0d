"""UNHCR's arrivals of forcibly displaced people during each year, by origin and asylum country.

File read (relative to the raw folder): `unhcr/refugees_package/<version>/flows.rda` of the same
release of UNHCR's refugees package as `raw.refugees` (MIGRATION_UNHCR_RELEASE, else the newest
present; MANIFEST.md §5b): the tibble `flows` with `year, coo_iso, coa_iso, refugees,
asylum_seekers, refugee_like, oip`. The third count column was labelled `returned_refugees` in
2022.12.1 and corrected to `refugee_like` in 2023.12.0 (the package's NEWS.md); the old label is read
as the new one (RENAMED). Any other missing column stops the release, naming the file and the column.

Harmonization: years >= 1990; unknown origin (UNK) and stateless (STA) dropped; TIB counted as
CHN; origin == asylum dropped; R's NA is 0 (not reported); pairs whose counts are all 0 dropped;
duplicated (year, origin, asylum) after mapping summed. A forced-displacement flow: a lower bound of
the total migration flow on its corridor in that year. Without a package release the table is
empty (the older UNHCR files hold stocks only).
"""

from pathlib import Path

import pandas as pd

from ..schemas import RAW, Coverage
from .files import read_rda
from .raw import raw_asset
from .refugees import FIRST_YEAR, PACKAGE, package_codes, package_numbers, package_release

TABLE = RAW["refugee_arrivals"]
ARRIVALS = "flows.rda"
COUNTS = ["refugees", "asylum_seekers", "refugee_like", "oip"]
RENAMED = {"returned_refugees": "refugee_like"}  # the label of 2022.12.1, corrected in 2023.12.0
FILES = []  # without a package release nothing is read (files(root) names the release's file)


def expectations() -> list:
    import great_expectations.expectations as gxe  # here, not at import: GX takes 3 s to load

    return [gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0, meta={"fix": f"{c} cannot be negative"})
            for c in COUNTS]


# what every package release since 2022.12.1 holds at least (1990-2022); none without a release
COVERAGE = None

asset = raw_asset(TABLE, ["origin", "asylum"], expectations, absent_is_zero=True)


def files(root: Path) -> list[str]:
    version = package_release(root)
    return [f"{PACKAGE}/{version}/{ARRIVALS}"] if version else FILES


def read(root: Path) -> pd.DataFrame:
    """year, origin, asylum and the four arrival counts of the chosen package release, 1990 on."""
    version = package_release(root)
    if not version:
        return TABLE.empty()
    path = Path(root) / PACKAGE / version / ARRIVALS
    raw = read_rda(path, "flows", ["year", "coo_iso", "coa_iso", *COUNTS], renamed=RENAMED)
    raw = raw[pd.to_numeric(raw["year"], errors="coerce") >= FIRST_YEAR]  # the index + 1 is R's row number
    origin, asylum = package_codes(raw, path, ("coo_iso", "coa_iso"))
    frame = pd.DataFrame({"year": raw["year"].astype(int).to_numpy(), "origin": origin, "asylum": asylum,
                          **{c: v.to_numpy() for c, v in package_numbers(raw, path, COUNTS).items()}})
    frame = frame.dropna(subset=["origin", "asylum"])
    frame = frame[frame["origin"] != frame["asylum"]]
    frame = frame.groupby(["year", "origin", "asylum"], as_index=False)[COUNTS].sum()
    frame = frame[frame[COUNTS].sum(axis=1) > 0].sort_values(["year", "origin", "asylum"])
    return TABLE.conform(frame)
