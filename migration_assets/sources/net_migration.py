"""Annual net international migration per country, 1990-2023, persons.

Files read (relative to the raw folder):

- `net_migration/Net_migration_data.csv`: national statistical offices' net migration (persons) for
  30 countries, 1990-2023, as compiled for Gaskin & Abel (unnamed pandas index column, `Year` stored
  as float). Used for 29 of them: AUS AUT BEL BGR CAN CHE CZE DEU DNK ESP EST FIN FRA GBR IRL ISL
  ITA JPN KOR LTU LVA NLD NOR NZL PRT SVN SWE TWN USA. Gaps in those series were already filled by
  the compilers with WPP 2024 figures rounded to thousands (158 of the 1,020 cells: e.g. NOR before
  1999, BGR before 2010, TWN before 2014, see MANIFEST section 4); they are kept as compiled, because
  this is the series the paper trained on.
- Poland (POL) is the exception: its registration-based national figures undercount emigration and
  were not used by the paper, so POL comes from WPP like every other country.
- WPP 2024 net migrants for every other country/area (207 of the 236 WPP locations: the 231
  canonical countries plus GGY, JEY, XKX, BLM, MAF), from the first of these that exists:
  1. the publisher's `wpp/WPP2024_Demographic_Indicators_Medium.csv(.gz)` (`NetMigrations`, thousands);
  2. `wpp/wpp2024/migration.txt` (thousands, with `UNlocations.txt`), the bundle's file;
  3. `net_migration/UN_WPP_2024_net_migration.csv` (persons, but rounded to thousands, which wipes
     out small territories, e.g. Anguilla is 0 in every year; it also adds the Holy See, VAT, as 0).
  The first two are the release `demography` reads, to the person: births - deaths + net migration
  reproduces the population change there to within a few persons (at most 200, rounding).

One row per (year, country): the national figure where the national file has one, WPP otherwise.
`net_migration_origin(root)` says which source each country's series comes from.
"""

from pathlib import Path

import pandas as pd

from ..schemas import RAW, Coverage
from . import wpp
from .files import file_error
from .raw import raw_asset

TABLE = RAW["net_migration"]

NATIONAL = "net_migration/Net_migration_data.csv"
WPP_CSV = "net_migration/UN_WPP_2024_net_migration.csv"
NOT_NATIONAL = {"POL": "registration-based national figures undercount emigration (MANIFEST section 4)"}
NATIONAL_SOURCE, WPP_SOURCE = "national statistics", "UN WPP 2024"

FILES = [NATIONAL, wpp.TXT["net_migration"], wpp.LOCATIONS]


def _paper_csv(path: Path) -> pd.DataFrame:
    return wpp.read_long(path, {"Year": "year", "Country ISO": "country"}, {"Net Number of Migrants": "net_migration"},
                         persons=("net_migration",))


def wpp_net_migration(root: Path) -> pd.DataFrame:
    """year, country, net_migration (persons) of WPP 2024 for 1990-2023, from the best file present."""
    root = Path(root)
    if wpp.un_csv(root) is not None or (root / wpp.TXT["net_migration"]).exists() or not (root / WPP_CSV).exists():
        return wpp.indicators(root, ["net_migration"])
    frame = _paper_csv(root / WPP_CSV)
    frame = frame[frame["year"].between(wpp.FIRST_YEAR, wpp.LAST_YEAR)]
    counts = frame.groupby("country")["year"].nunique()
    if (counts < len(wpp.YEARS)).any():
        raise file_error(root / WPP_CSV, f"countries lack some of the years {wpp.FIRST_YEAR}-{wpp.LAST_YEAR} "
                         f"(e.g. {list(counts[counts < len(wpp.YEARS)].index[:5])})", "the file is truncated: fetch it again")
    return frame.reset_index(drop=True)


def national_net_migration(root: Path) -> pd.DataFrame:
    """year, country, net_migration (persons) of the national statistics used (Poland dropped)."""
    frame = _paper_csv(Path(root) / NATIONAL)
    frame = frame[frame["year"].between(wpp.FIRST_YEAR, wpp.LAST_YEAR) & ~frame["country"].isin(NOT_NATIONAL)]
    return frame.reset_index(drop=True)


def _combined(root: Path) -> pd.DataFrame:
    national = national_net_migration(root).assign(source=NATIONAL_SOURCE)
    un = wpp_net_migration(root).assign(source=WPP_SOURCE)
    both = pd.concat([national, un], ignore_index=True).drop_duplicates(["year", "country"], keep="first")
    return both.sort_values(["year", "country"], kind="stable").reset_index(drop=True)


def read(root: Path) -> pd.DataFrame:
    """Net migration per country and year 1990-2023: national statistics where used, WPP 2024 elsewhere."""
    return TABLE.conform(_combined(Path(root)))


def net_migration_origin(root: Path) -> pd.DataFrame:
    """country, source: "national statistics" for the countries whose series comes from the national
    file (WPP-filled gaps inside it included), "UN WPP 2024" for all others."""
    frame = _combined(Path(root))
    national = set(frame.loc[frame["source"] == NATIONAL_SOURCE, "country"])
    countries = sorted(frame["country"].unique())
    return pd.DataFrame({"country": countries,
                         "source": [NATIONAL_SOURCE if c in national else WPP_SOURCE for c in countries]})


def expectations() -> list:
    import great_expectations.expectations as gxe  # here, not at import: GX takes 3 s to load

    return [
        gxe.ExpectColumnValuesToNotBeNull(column="net_migration", meta={"fix": "drop years without a figure"}),
        gxe.ExpectColumnValuesToBeBetween(column="net_migration", min_value=-10_000_000, max_value=10_000_000,
                                          severity="warning",
                                          meta={"fix": "net migration beyond 10 million a year: check units "
                                                       "(persons, not thousands) and signs"}),
    ]


# the publisher's current release: a release holding less (rows, years, codes per code column) stops
# before it lands, unless the withdrawal is stated (sources/raw.py)
COVERAGE = Coverage.span(1990, 2023, rows=8_024, codes=236)

asset = raw_asset(TABLE, ['country'], expectations)
