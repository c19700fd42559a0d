"""UN DESA International Migration Flows to and from Selected Countries, 2015 Revision.

Files read: every `*.xlsx` workbook in `observed_flows/un_imfsc_2015/` (the bundle holds the 45 of
`FILES`, one per reporting country; any file name works, since the reporter is read from the sheets:
Germany's file is `Germany._migration.xlsx`, and sheets are abbreviated, e.g. `Russian Fed by
Residence`, `USA by Place of birth`, `TfYR of Macedonia by Cit`).

Layout (checked on all 45 workbooks): per criterion, a country sheet and a regions sheet. In a
country sheet the title rows state `Reporting country: <UN name>` and `Criterion: Residence`
(`Citizenship`, `Place Of Birth`); the header row is the first row starting with `Type` (row 21),
`Type, Coverage, OdName, AREA, AreaName, REG, RegName, DEV, DevName, 1980, ..., 2013`, then one
row per Type x Coverage x OdName. A sheet whose header has no `OdName` (`Regions by ...`, `Regs Rep
of Moldova by Res`: Type, Coverage, AreaName, RegName, years) holds regional aggregates: skipped.

Harmonization:
- Immigrants: origin = OdName, destination = reporter; Emigrants: origin = reporter, destination =
  OdName. OdName is the previous/next residence, the citizenship or the place of birth depending on
  the criterion: source = `imfsc_<residence|citizenship|birth>_<immigrants|emigrants>`.
- Coverage: per criterion x type, the first of Both, Foreigners, Citizens whose rows name a country
  other than the reporter; `_foreigners` / `_citizens` is appended to the source for the latter two.
  Coverages are never summed. In the bundle the residence sheets give Both (New Zealand: Foreigners
  only); the citizenship sheets give Both only as a `Total` row and Citizens only as the reporter's
  own citizenship, so their country detail is Foreigners; the United States give Foreigners only.
- Countries are identified by OdName through `to_iso3(kind="name")`: `AREA` is the M49 code of the
  major area (903 Africa, 908 Europe, ...; 999 World on Total, Unknown, Stateless), not of the
  country, so no column codes the country. `Total`, `Unknown`, `Stateless` are '-' in aliases.csv
  and dropped; "China (including Hong Kong Special Administrative Region)", used by reporters that
  do not separate Hong Kong, is CHN (aliases.csv). Other names are the UN's, including former ones
  (Cape Verde, Libyan Arab Jamahiriya, Swaziland); Channel Islands (CHI) and Holy See (VAT) are kept.
- Cells are persons per calendar year (whole numbers in the bundle), 1980-2013 all kept. `..`,
  empty, and the US (DHS) markers `D` (withheld to limit disclosure) and `-` are not reported: no
  row. An explicit 0 is kept. Negative numbers and other text raise.
- origin == destination (the reporter's own row, e.g. returning citizens) is dropped. A repeated
  (year, origin, destination, source) with the same figure is kept once (Russia publishes China
  2005-2007 under both "China" and "China (including Hong Kong ...)"); with different figures it
  raises, as does a repeated Type x Coverage x OdName row in a sheet.
Every problem raises SourceFileError/CountryCodeError naming the file, the sheet, the worksheet row
and the fix.
"""

import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
from openpyxl.utils.exceptions import InvalidFileException

from ..countries import to_iso3
from ..schemas import RAW, Coverage
from .files import WORLD_POPULATION, file_error, to_number
from .raw import raw_asset

TABLE = RAW["imfsc_flows"]
KEY = list(TABLE.key)

FOLDER = "observed_flows/un_imfsc_2015"
REPORTERS = [
    "Armenia", "Australia", "Austria", "Azerbaijan", "Belarus", "Belgium", "Bulgaria", "Canada", "Croatia", "Cyprus",
    "Czech Republic", "Denmark", "Estonia", "Finland", "France", "Germany._migration", "Greece", "Hungary", "Iceland",
    "Ireland", "Italy", "Kazakhstan", "Kyrgyzstan", "Latvia", "Liechtenstein", "Lithuania", "Luxembourg", "Malta",
    "Netherlands", "New Zealand", "Norway", "Poland", "Portugal", "Republic of Moldova", "Romania",
    "Russian Federation", "Slovakia", "Slovenia", "Spain", "Sweden", "Switzerland", "TfYR of Macedonia", "Ukraine",
    "United Kingdom", "United States of America",
]
FILES = [f"{FOLDER}/{name}.xlsx" for name in REPORTERS]

CRITERIA = {"residence": "residence", "citizenship": "citizenship", "place of birth": "birth"}
TYPES = {"Immigrants": "immigrants", "Emigrants": "emigrants"}
COVERAGES = {"Both": "", "Foreigners": "_foreigners", "Citizens": "_citizens"}  # in order of preference
MARKERS = ("..", "", "D", "-")  # not reported; D and - are the US (DHS) markers
HEADER_WITHIN = 40  # the header row is looked for in the first rows of a sheet
EMPTY_RUN = 50  # reading a sheet stops after this many empty rows (the data is followed by ~800 formatted ones)
SOURCE_PATTERN = r"^imfsc_(?:residence|citizenship|birth)_(?:immigrants|emigrants)(?:_foreigners|_citizens)?$"
AS_PUBLISHED = "use the UN DESA workbook as published (MANIFEST.md section 6d): fetch it again"
FETCH = (f"run `migration-fetch --only '{FOLDER}/*'`, or download the country workbooks from "
         "https://www.un.org/development/desa/pd/data/international-migration-flows into this folder")


def expectations() -> list:
    import great_expectations.expectations as gxe  # here, not at import: GX takes 3 s to load

    return [
        gxe.ExpectColumnValuesToNotBeNull(column="flow",
                                          meta={"fix": "drop unreported years instead of leaving them empty"}),
        gxe.ExpectColumnValuesToBeBetween(column="flow", min_value=0,
                                          meta={"fix": "flows count persons: negative values are errors"}),
        gxe.ExpectColumnValuesToNotBeNull(column="source", meta={"fix": "name the criterion and type of every row"}),
        gxe.ExpectColumnValuesToMatchRegex(column="source", regex=SOURCE_PATTERN,
                                           meta={"fix": "source is imfsc_<criterion>_<type>[_<coverage>]"}),
    ]


# the publisher's current release: a release holding less (rows, years, codes per code column) stops
# before it lands, unless the withdrawal is stated (sources/raw.py)
COVERAGE = Coverage.span(1980, 2013, rows=341_849, codes=229)

asset = raw_asset(TABLE, ["origin", "destination"], expectations)


def _sheet(where: str, rows: list[tuple]) -> pd.DataFrame | None:
    """year, origin, destination, flow, source, file, row of one country sheet; None for a regions sheet."""
    head = next((i for i, r in enumerate(rows[:HEADER_WITHIN]) if r and r[0] == "Type"), None)
    if head is None:
        raise file_error(where, f"no header row `Type, Coverage, OdName, ..., 1980, ...` in the first {HEADER_WITHIN} "
                                "rows", AS_PUBLISHED)
    header = ["" if c is None else str(c).strip() for c in rows[head]]
    if "OdName" not in header:
        return None  # regional aggregates
    years = {int(h): j for j, h in enumerate(header) if h.isdigit()}
    if "Coverage" not in header or not years:
        raise file_error(where, f"the header has no `Coverage` or no year columns (found {header[:12]}...)",
                         AS_PUBLISHED, row=head + 1)
    titles = dict(map(str.strip, r[0].split(":", 1))  # `Reporting country: Austria`, `Criterion: Residence`
                  for r in rows[:head] if r and isinstance(r[0], str) and ":" in r[0])
    criterion = CRITERIA.get(titles.get("Criterion", "").casefold())
    if not titles.get("Reporting country") or criterion is None:
        raise file_error(where, "the title rows do not state `Reporting country: <name>` and `Criterion: Residence`, "
                                "`Citizenship` or `Place of birth`", AS_PUBLISHED, row=head + 1)
    reporter = to_iso3(pd.Series([titles["Reporting country"]]), file=where, column="Reporting country")[0]

    first = head + 2  # worksheet row of the first data row
    body = pd.DataFrame(rows[head + 1:], dtype=object).reindex(columns=range(len(header)))
    body.index = pd.RangeIndex(first, first + len(body))
    values = pd.DataFrame({y: to_number(body[j], where, str(y), first, MARKERS, maximum=WORLD_POPULATION)
                           for y, j in years.items()})
    negative = values.lt(0).any(axis=1)
    if negative.any():
        line = negative.idxmax()
        year = values.loc[line].lt(0).idxmax()
        raise file_error(where, f"column `{year}` is negative ({values.at[line, year]:g})",
                         "flows count persons and cannot be negative: correct the cell or fetch the workbook again",
                         row=line)

    listed = pd.DataFrame({"type": body[0], "coverage": body[header.index("Coverage")],
                           "name": body[header.index("OdName")]})
    listed = listed[listed["type"].notna() | listed["name"].notna()]
    bad = ~listed["type"].isin(TYPES) | ~listed["coverage"].isin(COVERAGES) | listed["name"].isna()
    if bad.any():
        line = bad.idxmax()
        raise file_error(where, f"unexpected row {tuple(listed.loc[line])}",
                         f"Type must be one of {list(TYPES)}, Coverage one of {list(COVERAGES)}, OdName a name",
                         row=line)
    repeated = listed.duplicated()
    if repeated.any():
        line = repeated.idxmax()
        again = listed.loc[line]
        earlier = listed.index[(listed == again).all(axis=1)][0]
        raise file_error(where, f"{again['type']} {again['coverage']} {again['name']!r} is given twice (rows {earlier} "
                                f"and {line})", "keep one row per Type, Coverage and OdName: fetch the workbook again",
                         row=line)

    listed["code"] = to_iso3(listed["name"], file=where, column="OdName")
    countries = listed[listed["code"].notna() & (listed["code"] != reporter)]
    best = countries.groupby("type")["coverage"].agg(lambda c: min(c, key=list(COVERAGES).index))
    chosen = listed[listed["code"].notna() & (listed["coverage"] == listed["type"].map(best))]

    cells = (values.loc[chosen.index].rename_axis("row").reset_index()
             .melt(id_vars="row", var_name="year", value_name="flow").dropna(subset=["flow"]))
    meta = chosen.loc[cells["row"]]
    immigrants = (meta["type"] == "Immigrants").to_numpy()
    out = pd.DataFrame({
        "year": cells["year"].to_numpy(),
        "origin": np.where(immigrants, meta["code"], reporter),
        "destination": np.where(immigrants, reporter, meta["code"]),
        "flow": cells["flow"].to_numpy(),
        "source": (f"imfsc_{criterion}_" + meta["type"].map(TYPES) + meta["coverage"].map(COVERAGES)).to_numpy(),
        "file": where,
        "row": cells["row"].to_numpy(),
    })
    return out[out["origin"] != out["destination"]]


def _rows(sheet) -> list[tuple]:
    """The sheet's rows (row 1 first) up to a run of EMPTY_RUN empty rows: not parsing the formatted empty
    rows below the data more than halves the reading time."""
    rows, empty = [], 0
    for row in sheet.iter_rows(values_only=True):
        empty = empty + 1 if all(c is None for c in row) else 0
        if empty > EMPTY_RUN:
            break
        rows.append(row)
    return rows


def read_workbook(path: Path) -> pd.DataFrame:
    """The flows of one reporter's workbook, with the `file` (and sheet) and worksheet `row` of each cell."""
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, EOFError, ValueError) as err:
        raise file_error(path, f"not a complete .xlsx workbook ({type(err).__name__}: {err})",
                         "the download was truncated: fetch it again") from err
    try:
        sheets = [_sheet(f"{path}, sheet {name!r}", _rows(book[name])) for name in book.sheetnames]
    finally:
        book.close()
    sheets = [s for s in sheets if s is not None]
    if not sheets:
        raise file_error(path, "no country sheet (a header row with `OdName`)", AS_PUBLISHED)
    return pd.concat(sheets, ignore_index=True)


def _unique(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per key: a figure repeated under two names of a country is kept once, two figures raise."""
    frame = frame.drop_duplicates([*KEY, "flow"])
    repeated = frame.duplicated(KEY)
    if repeated.any():
        again = frame[repeated].iloc[0]
        first = frame[(frame[KEY] == again[KEY]).all(axis=1)].iloc[0]
        raise file_error(again["file"], f"{again['origin']} -> {again['destination']} in {again['year']} "
                                        f"({again['source']}) is {again['flow']:g} here and {first['flow']:g} in "
                                        f"{first['file']}, line {first['row']}",
                         "keep one figure per country and year: remove the extra row, or the second copy of the "
                         "workbook", row=again["row"])
    return frame


def read(root: Path) -> pd.DataFrame:
    """Flows reported by the 45 countries, by criterion, type and coverage (see the module docstring)."""
    folder = Path(root) / FOLDER
    paths = sorted(p for p in folder.glob("*.xlsx") if not p.name.startswith("~$"))  # ~$: Excel lock files
    if not paths:
        raise file_error(folder, "no .xlsx workbook (the folder is missing or empty)", FETCH)
    frame = _unique(pd.concat([read_workbook(p) for p in paths], ignore_index=True))
    return TABLE.conform(frame.sort_values(["source", "year", "destination", "origin"], kind="stable"))
