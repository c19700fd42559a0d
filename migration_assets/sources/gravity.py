"""Static gravity covariates per ordered country pair: distance, language, religion, colonial ties.

Files read (relative to the raw folder), from the paper's repository (MANIFEST section 4); each is
long, with an unnamed pandas index column and `Origin ISO`, `Destination ISO` over the same 231
countries (231 x 231 = 53,361 rows, diagonal included):

- `gravity/dist.csv`, `distw_harmonic` -> `distance_km`: CEPII population-weighted (harmonic)
  distance in km, time-averaged (VGB and IMN imputed by the compilers). Symmetric.
- `gravity/lang.csv`, `csl` -> `common_language`: USITC DICL common spoken language index (0-2.78).
- `gravity/relig.csv`, `Religious similarity` -> `religious_similarity`: dot product of religion
  shares (0-1.96).
- `gravity/col.csv`, `colony_of_destination_ever` -> `colonial_tie` (USITC Dynamic Gravity, 0/1).
  Orientation checked on the file: the flag is 1 when the ORIGIN was at some time a colony of the
  DESTINATION (IND->GBR, DZA->FRA, BRA->PRT, USA->GBR, IRL->GBR are 1; the reverse pairs are 0; 254
  ones, not symmetric). That is exactly the contract's meaning, so it is used as is, not transposed.

Harmonization: the four files are joined on the ordered pair; every file must hold the same pairs
(a pair missing from one file raises); the diagonal (origin == destination) is dropped, leaving all
231 x 230 = 53,130 ordered pairs of distinct countries. Distances between distinct countries must
be positive; no value may be negative; colonial ties must be 0 or 1.
"""

from pathlib import Path

import pandas as pd

from ..schemas import RAW, Coverage
from . import wpp
from .files import file_error
from .raw import raw_asset

TABLE = RAW["gravity"]

SOURCES = {  # file -> (its value column, our column)
    "gravity/dist.csv": ("distw_harmonic", "distance_km"),
    "gravity/lang.csv": ("csl", "common_language"),
    "gravity/relig.csv": ("Religious similarity", "religious_similarity"),
    "gravity/col.csv": ("colony_of_destination_ever", "colonial_tie"),
}
PAIR = {"Origin ISO": "origin", "Destination ISO": "destination"}

FILES = list(SOURCES)


def read(root: Path) -> pd.DataFrame:
    """All ordered pairs of distinct countries with the four gravity covariates."""
    root = Path(root)
    frames = {}
    for name, (column, ours) in SOURCES.items():
        frame = wpp.read_long(root / name, PAIR, {column: ours}, nonnegative=(ours,),
                              flags=("colonial_tie",) if ours == "colonial_tie" else ())
        frame["line"] = frame.index
        frames[name] = frame.set_index(["origin", "destination"])
    # outer join: a pair that one file lacks shows up as an empty value in that file's column
    out = pd.concat([f.drop(columns="line") for f in frames.values()], axis=1, join="outer")
    for name, (_, ours) in SOURCES.items():
        lacking = out.index[out[ours].isna().to_numpy()]
        if len(lacking):
            raise file_error(root / name, f"{len(lacking)} country pairs present in the other gravity files are "
                             f"missing (e.g. {list(lacking[:3])})", "the file is truncated: fetch it again")
    out = out.reset_index()
    out = out[out["origin"] != out["destination"]]
    dist = frames["gravity/dist.csv"]
    zero = out["distance_km"] <= 0
    if zero.any():
        pair = tuple(out.loc[zero, ["origin", "destination"]].iloc[0])
        raise file_error(root / "gravity/dist.csv", f"distance between distinct countries {pair} is not positive",
                         "correct the cell or fetch the file again", row=int(dist.at[pair, "line"]))
    return TABLE.conform(out.sort_values(["origin", "destination"], kind="stable"))


def expectations() -> list:
    import great_expectations.expectations as gxe  # here, not at import: GX takes 3 s to load

    return [
        gxe.ExpectColumnValuesToBeBetween(column="distance_km", min_value=0, strict_min=True,
                                          meta={"fix": "distances between distinct countries are positive kilometres"}),
        gxe.ExpectColumnValuesToBeBetween(column="distance_km", max_value=20_100, severity="warning",
                                          meta={"fix": "no two places on Earth are more than ~20,000 km apart: "
                                                       "check units (km, not m)"}),
        gxe.ExpectColumnValuesToBeBetween(column="common_language", min_value=0,
                                          meta={"fix": "the language index is non-negative"}),
        gxe.ExpectColumnValuesToBeBetween(column="religious_similarity", min_value=0, max_value=2,
                                          meta={"fix": "a dot product of religion shares lies in [0, 2]"}),
        gxe.ExpectColumnValuesToBeInSet(column="colonial_tie", value_set=[0.0, 1.0],
                                        meta={"fix": "colonial ties are 0/1 flags"}),
    ]


# the publisher's current release: a release holding less (rows, years, codes per code column) stops
# before it lands, unless the withdrawal is stated (sources/raw.py)
COVERAGE = Coverage(rows=53_130, codes=231)

asset = raw_asset(TABLE, ['origin', 'destination'], expectations)
