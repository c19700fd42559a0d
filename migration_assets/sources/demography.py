"""UN WPP 2024 demography: population on 1 January, births, deaths, life expectancy.

Files read (relative to the raw folder; see `sources/wpp.py` for the parsing rules):

- preferred when present, the publisher's own download
  `wpp/WPP2024_Demographic_Indicators_Medium.csv` (or `.csv.gz`): `TPopulation1Jan`, `Births`,
  `Deaths`, `LEx` of the rows with `LocTypeID == 4` (countries/areas), thousands;
- otherwise the wide text files of the `wpp2024` R package in `wpp/wpp2024/`: `births.txt`,
  `deaths.txt`, `e0B.txt` (life expectancy at birth, both sexes), and for the population
  `PopChange.txt`, `popprojMed.txt`, `PopChangeprojMed.txt`, with `UNlocations.txt` telling
  countries (location_type 4) from aggregates.

Harmonization:
- years 1990-2023 are the WPP 2024 estimates; 2024-2030 its medium-variant projection
  (`birthsprojMed.txt`, `deathsprojMed.txt`, `e0Bproj.txt`, and 1 January t = `popprojMed` of t - 1),
  flagged `projected` = 1, so that estimates can reach the years after WPP's last estimate (a
  nowcast's demography; which years land is the yearly partitions' choice, MIGRATION_LAST_YEAR);
- population on 1 January is rebuilt exactly from the text files (MANIFEST section 2a):
  P(31 Dec 2023) = popprojMed[2024] - PopChangeprojMed[2024], then P(1 Jan t) = P(1 Jan t+1) -
  PopChange[t]; the mean of two consecutive values reproduces the WPP mid-year population;
- births and deaths are calendar-year counts; thousands are converted to persons and rounded to
  whole persons (WPP publishes them to the person);
- M49 codes are mapped to ISO3; the 236 WPP countries/areas include the non-canonical GGY, JEY,
  XKX (M49 412), BLM and MAF, kept as published (the panel folds them into canonical countries);
  the Holy See is not a WPP location and has no row.
"""

from pathlib import Path

import pandas as pd

from ..schemas import RAW, Coverage
from . import wpp
from .raw import raw_asset

TABLE = RAW["demography"]

FILES = [
    wpp.TXT["births"], wpp.TXT["deaths"], wpp.TXT["life_expectancy"], wpp.TXT["pop_change"],
    wpp.TXT["pop_projected"], wpp.TXT["pop_change_projected"], wpp.TXT["births_projected"],
    wpp.TXT["deaths_projected"], wpp.TXT["life_expectancy_projected"], wpp.LOCATIONS,
]


def read(root: Path) -> pd.DataFrame:
    """Demography per country and year 1990-2030, persons, from WPP 2024 (projected after 2023)."""
    frame = wpp.indicators(Path(root), ["population", "births", "deaths", "life_expectancy"], wpp.WITH_PROJECTION)
    return TABLE.conform(frame.assign(projected=(frame["year"] > wpp.LAST_YEAR).astype(int)))


def expectations() -> list:
    import great_expectations.expectations as gxe  # here, not at import: GX takes 3 s to load

    return [
        gxe.ExpectColumnValuesToBeBetween(column="population", min_value=0, strict_min=True,
                                          meta={"fix": "population must be positive persons on 1 January"}),
        gxe.ExpectColumnValuesToBeBetween(column="births", min_value=0, meta={"fix": "births cannot be negative"}),
        gxe.ExpectColumnValuesToBeBetween(column="deaths", min_value=0, meta={"fix": "deaths cannot be negative"}),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="population", column_B="deaths",
                                                    meta={"fix": "deaths exceed population: check units (thousands vs persons)"}),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="population", column_B="births",
                                                    meta={"fix": "births exceed population: check units (thousands vs persons)"}),
        gxe.ExpectColumnValuesToBeBetween(column="life_expectancy", min_value=5, max_value=100, severity="warning",
                                          meta={"fix": "life expectancy at birth should be in years (crisis years go "
                                                       "low: WPP has 12.2 for Rwanda 1994)"}),
        gxe.ExpectColumnValuesToNotBeNull(column="life_expectancy", mostly=0.99, severity="warning",
                                          meta={"fix": "life expectancy is missing for more than 1 % of rows"}),
        gxe.ExpectColumnValuesToBeBetween(column="population", min_value=1_000, max_value=2_000_000_000,
                                          severity="warning",
                                          meta={"fix": "populations range from ~1,000 (Tokelau) to ~1.4 billion: "
                                                       "check units (persons, not thousands)"}),
    ]


# the publisher's current release: a release holding less (rows, years, codes per code column) stops
# before it lands, unless the withdrawal is stated (sources/raw.py)
COVERAGE = Coverage.span(1990, 2023, rows=8_024, codes=236)

asset = raw_asset(TABLE, ['country'], expectations)
