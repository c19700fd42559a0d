"""UN DESA bilateral migrant stocks (mid-year, every five years).

Published-files source: `read(root)` combines the UN DESA International Migrant Stock revisions
found under `root` (the bundle layout; MANIFEST.md section 1). Parsing and harmonization rules are
in `sources/undesa.py`; in short:

Files, newest revision first (a revision is read from the first of its files that exists):
- 2024 edition: `undesa_stock/ims2024/undesa_pd_2024_ims_stock_by_sex_destination_and_origin.xlsx`
  (the UN workbook, sheet "Table 1", long layout, both sexes; not in the development bundle);
- Rev.2020: the UN workbook `undesa_stock/ims2020/undesa_pd_2020_ims_stock_by_sex_destination_and_origin.xlsx`
  when present (not in the bundle), otherwise the chord JSON `undesa_stock/ims2020/stock.json`
  (names mapped with countries.to_iso3; region rows/columns dropped by the `regions` index list);
- Rev.2019: the UN workbook `undesa_stock/ims2019/UN_MigrantStockByOriginAndDestination_2019.xlsx`
  (wide layout) when present (not in the bundle), otherwise the CSV
  `undesa_stock/ims2019/UN_MigrantStockByOriginAndDestination_2019_clean.csv` (its 5 region rows
  are dropped because they are not origin columns of the square country matrix).
The Rev.2019 and Rev.2020 files are required (`FILES`); the 2024 edition is used when present.

Harmonization:
- persons, both sexes, mid-year (1 July) stock points: 1990, 1995, ..., 2015 plus each revision's
  last year (2019, 2020, 2024); rows only where a value is published: UN markers (`..`, `-`) give no
  row; published zeros are kept (a zero in the UN matrix is a reported "none"), except:
- a destination whose whole row/column is zero in a year is "not reported separately" (South Sudan,
  Montenegro, Curaçao, Sint Maarten before 2010 are contained in their predecessor; Holy See in
  Rev.2019; Vatican City and Caribbean Netherlands in the Rev.2020 JSON): those zero cells are
  dropped, not read as "no migrants";
- per the UN's country notes, the destination rows "Bonaire, Sint Eustatius and Saba" and "Serbia"
  of 1990-2005 cover the former Netherlands Antilles and Serbia and Montenegro: while Curaçao
  (resp. Montenegro) is not reported as a destination they are labelled ANT (resp. SCG), historic
  codes that the panel splits among the successors; "Sudan" 1990-2005 (with South Sudan) stays SDN;
- birth == residence is dropped; non-canonical codes (CHI Channel Islands, VAT, ANT, SCG) are kept;
- revisions are combined cell by cell (year, birth, residence): newest wins (2024 > 2020 > 2019),
  older revisions fill only the cells the newer ones do not report, and never a cell whose
  residence overlaps (predecessor vs successor) one the newer revision reports that year. In the
  bundle Rev.2020 provides 1990-2015 and 2020, Rev.2019 provides 2019 and the gaps (e.g. the
  Netherlands Antilles 1990-2005, Caribbean Netherlands 2010-2015, `..` cells of Rev.2020).

Which revision each cell came from is not a column of the table (the contract has four columns):
`read_with_revision(root)` returns the combined cells with a `revision` column and
`revision_of_cells(root)` the per-year, per-revision counts (cells, destinations, persons) for
the asset's metadata.
"""

from pathlib import Path

import dagster as dg
import pandas as pd

from ..schemas import RAW, ContractError, Coverage
from . import undesa
from .raw import raw_asset
from .undesa import RATIO_LOW, RATIO_LOW_MOSTLY, RATIO_MAX, stocks_vs_totals

TABLE = RAW["migrant_stocks"]

REV2024_XLSX = "undesa_stock/ims2024/undesa_pd_2024_ims_stock_by_sex_destination_and_origin.xlsx"
REV2020_XLSX = "undesa_stock/ims2020/undesa_pd_2020_ims_stock_by_sex_destination_and_origin.xlsx"
REV2020_JSON = "undesa_stock/ims2020/stock.json"
REV2019_XLSX = "undesa_stock/ims2019/UN_MigrantStockByOriginAndDestination_2019.xlsx"
REV2019_CSV = "undesa_stock/ims2019/UN_MigrantStockByOriginAndDestination_2019_clean.csv"

#: revision -> candidate files, preferred first; the last one of a required revision must exist.
REVISIONS: dict[str, list[str]] = {
    "2024": [REV2024_XLSX],
    "2020": [REV2020_XLSX, REV2020_JSON],
    "2019": [REV2019_XLSX, REV2019_CSV],
}
OPTIONAL_REVISIONS = {"2024"}

FILES = [REV2020_JSON, REV2019_CSV]


def _parse(path: Path) -> pd.DataFrame:
    if path.name.endswith(".xlsx"):
        return undesa.parse_workbook(path)
    if path.name.endswith((".json", ".json.gz")):
        return undesa.parse_chord_json(path)
    return undesa.parse_wide_csv(path)


def read_revisions(root: Path) -> dict[str, pd.DataFrame]:
    """{revision: harmonized cells}, newest first, each from the first of its files that exists."""
    root = Path(root)
    out = {}
    for revision, candidates in REVISIONS.items():
        found = next((root / c for c in candidates if (root / c).exists()), None)
        if found is None:
            if revision in OPTIONAL_REVISIONS:
                continue
            found = root / candidates[-1]  # parsing it raises "file not found" with the fix
        out[revision] = _parse(found)
    return out


def read_with_revision(root: Path) -> pd.DataFrame:
    """The combined cells with a `revision` column ("2024", "2020" or "2019")."""
    return undesa.combine_revisions(read_revisions(root))


def revision_of_cells(root: Path) -> pd.DataFrame:
    """Per year and revision: `cells`, `destinations` and `stock` (persons) in the combined table."""
    return undesa.revision_summary(read_with_revision(root))


def read(root: Path) -> pd.DataFrame:
    """Bilateral migrant stocks, mid-year persons, all UN DESA revisions under `root` combined."""
    return TABLE.conform(read_with_revision(root))


def expectations() -> list:
    import great_expectations.expectations as gxe  # here, not at import: GX takes 3 s to load

    return [
        gxe.ExpectColumnValuesToNotBeNull(column="stock", meta={"fix": "drop unreported cells instead of leaving them empty"}),
        gxe.ExpectColumnValuesToBeBetween(column="stock", min_value=0,
                                          meta={"fix": "stocks count persons: replace negative values by the published figure or drop the cell"}),
        gxe.ExpectColumnValuesToBeBetween(column="year", min_value=1950, max_value=2100,
                                          meta={"fix": "years must be calendar years"}),
        gxe.ExpectColumnValuesToBeBetween(column="stock", max_value=5e7, severity="warning",
                                          meta={"fix": "a bilateral stock above 50 million persons is implausible; check units (thousands?)"}),
        gxe.ExpectColumnValuesToNotBeNull(column="year", meta={"fix": "every stock needs its reference year"}),
    ]


# the publisher's current release: a release holding less (rows, years, codes per code column) stops
# before it lands, unless the withdrawal is stated (sources/raw.py)
COVERAGE = Coverage(rows=423_192, codes=232, years=(1990, 1995, 2000, 2005, 2010, 2015, 2019, 2020))

def above_totals(stocks: pd.DataFrame, totals: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The destination-years whose bilateral stocks sum to more than RATIO_MAX times the UN's
    foreign-born total, and what the command line prints about them (the worst, and the fix)."""
    compared = stocks_vs_totals(stocks, totals).dropna(subset=["ratio"])
    over = compared[compared["ratio"] > RATIO_MAX]
    if over.empty:
        return over, ""
    top = over.loc[over["ratio"].idxmax()]
    return over, (f"{len(over)} destination-year(s) hold more than {RATIO_MAX} times the UN's foreign-born total "
                  f"(worst: {top['residence']} {int(top['year'])}, {top['ratio']:.3g} times). Fix: give "
                  "raw/migrant_stocks and raw/migrant_stock_totals in the same unit (persons, not thousands) "
                  "and from the same UN DESA revision")


def disagreement(stocks: pd.DataFrame, source) -> str:
    """Checked before the stocks land: they may not exceed the totals of the same release (totals that
    cannot be read are reported by their own asset)."""
    try:
        totals = source.table("migrant_stock_totals")
    except ContractError:
        return ""
    return above_totals(stocks, totals)[1]


asset = raw_asset(TABLE, ['birth', 'residence'], expectations, disagreement=disagreement)


@dg.asset_check(asset=asset, name="matches_un_totals", blocking=True,
                additional_ins={"totals": dg.AssetIn(key=dg.AssetKey(["raw", "migrant_stock_totals"]))},
                description=f"Per destination and year, the bilateral stocks summed over countries of birth are at "
                            f"most {RATIO_MAX} times the UN's foreign-born total (error, checked before the stocks "
                            f"land as well), and at least {RATIO_LOW} times it for {RATIO_LOW_MOSTLY:.0%} of "
                            f"destination-years (warning): unknown origins are the only gap.")
def matches_un_totals(migrant_stocks: pd.DataFrame, totals: pd.DataFrame) -> dg.AssetCheckResult:
    compared = stocks_vs_totals(migrant_stocks, totals).dropna(subset=["ratio"])
    over, description = above_totals(migrant_stocks, totals)
    low_share = float((compared["ratio"] < RATIO_LOW).mean()) if len(compared) else 0.0
    passed = over.empty and low_share <= 1 - RATIO_LOW_MOSTLY
    worst = compared.reindex(compared["ratio"].sort_values().index)
    return dg.AssetCheckResult(
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR if len(over) else dg.AssetCheckSeverity.WARN,
        description=description or None,
        metadata={
            "destination_years_compared": len(compared),
            "median_ratio": float(compared["ratio"].median()) if len(compared) else None,
            "above_limit": dg.MetadataValue.md(over.head(10).to_markdown(index=False) if len(over) else "none"),
            "share_below_low": low_share,
            "lowest_ratios": dg.MetadataValue.md(worst.head(5).to_markdown(index=False)),
        },
    )
