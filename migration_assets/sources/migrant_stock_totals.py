"""UN DESA migrant stock totals per destination (foreign-born of all origins, population).

Published-files source: `read(root)` reads, newest first,
- `undesa_stock/ims2020/stock_totals_2020.csv` (Rev.2020: 1990, 1995, ..., 2015, 2020), and
- `undesa_stock/ims2019/stock_totals.csv` (Rev.2019: same points but 2019 instead of 2020),
both with `alpha3`, `country_code` (M49), `year`, `fb` (international migrant stock, all origins,
unknown origins included) and `pop` (total population), in persons (checked: World 1990 =
5,327,231,061 persons; the UN workbook's Table 2 gives the same in thousands).

Harmonization (parser: `sources/undesa.py`, `parse_totals_csv`):
- mid-year (1 July) figures, persons;
- aggregate rows (World, regions, development and income groups) are the M49 codes >= 900 and are
  dropped; the residence is the ISO3 code of the M49 code, which must agree with `alpha3` where
  that is an ISO3 code (the Channel Islands, M49 830, have `alpha3` NA in the Rev.2020 file and
  'CISL' in Rev.2019: CHI here, as everywhere in the platform);
- rows whose foreign-born total is not reported (`NA`: South Sudan, Curaçao, Sint Maarten,
  Montenegro before 2010, Taiwan, Saint-Barthélemy, Saint-Martin) are dropped;
- revisions are combined per (year, residence): Rev.2020 wins, Rev.2019 fills the rest (in the
  bundle: the year 2019). The Rev.2019 rows of Bonaire, Sint Eustatius and Saba 1990-2005 (whose
  foreign-born figure covers the former Netherlands Antilles while the population does not, so
  foreign-born > population) are therefore superseded;
- destinations keep the publisher's labels (no ANT/SCG relabelling as in `migrant_stocks`: the
  population of those rows refers to the successor alone).

`undesa.stocks_vs_totals(stocks, totals)` compares these totals with the bilateral sums.
"""

from pathlib import Path

import pandas as pd

from ..schemas import RAW, Coverage
from . import undesa
from .raw import raw_asset

TABLE = RAW["migrant_stock_totals"]

TOTALS_2020 = "undesa_stock/ims2020/stock_totals_2020.csv"
TOTALS_2019 = "undesa_stock/ims2019/stock_totals.csv"
REVISIONS = {"2020": TOTALS_2020, "2019": TOTALS_2019}

FILES = [TOTALS_2020, TOTALS_2019]


def read_with_revision(root: Path) -> pd.DataFrame:
    """The combined totals with a `revision` column ("2020" or "2019")."""
    root = Path(root)
    return undesa.combine_totals({name: undesa.parse_totals_csv(root / f) for name, f in REVISIONS.items()})


def read(root: Path) -> pd.DataFrame:
    """Foreign-born totals and population per destination and year, mid-year persons."""
    return TABLE.conform(read_with_revision(root))


def expectations() -> list:
    import great_expectations.expectations as gxe  # here, not at import: GX takes 3 s to load

    return [
        gxe.ExpectColumnValuesToBeBetween(column="foreign_born", min_value=0,
                                          meta={"fix": "totals count persons: negative values are errors"}),
        gxe.ExpectColumnValuesToBeBetween(column="population", min_value=0, strict_min=True,
                                          meta={"fix": "population must be positive persons"}),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="population", column_B="foreign_born", or_equal=True,
                                                    meta={"fix": "more migrants than inhabitants: check units"}),
        gxe.ExpectColumnValuesToNotBeNull(column="foreign_born",
                                          meta={"fix": "drop destinations whose total is not reported"}),
        gxe.ExpectColumnValuesToNotBeNull(column="population", meta={"fix": "give every destination its population"}),
        gxe.ExpectColumnValuesToBeBetween(column="year", min_value=1950, max_value=2100,
                                          meta={"fix": "years must be calendar years"}),
    ]


# the publisher's current release: a release holding less (rows, years, codes per code column) stops
# before it lands, unless the withdrawal is stated (sources/raw.py)
COVERAGE = Coverage(rows=1_841, codes=232, years=(1990, 1995, 2000, 2005, 2010, 2015, 2019, 2020))

asset = raw_asset(TABLE, ["residence"], expectations)
