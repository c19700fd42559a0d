"""UN DESA International Migrant Stock: parsers of the publisher's file formats, shared by
`migrant_stocks` and `migrant_stock_totals`.

Formats understood (paths are documented in those two modules and in MANIFEST.md section 1):

1. `parse_wide_csv`: the Rev.2019 bilateral CSV `UN_MigrantStockByOriginAndDestination_2019_clean.csv`:
   `Year, Dest, <origin names...>`, UN names, UN markers `..` / `-` for "not available". The region
   rows mixed in as destinations ("Caribbean", "Melanesia", "Micronesia", "Polynesia", "South
   America") are recognised by the file's own structure: the matrix is square over countries, so a
   destination that is not also an origin column is an aggregate and is dropped.
2. `parse_chord_json`: the chord-diagram JSON of Rev.2020 (`stock.json`): `names`, `regions`
   (indices of region rows/columns, dropped), `matrix[year][i][j]` = born in names[i], living in
   names[j]. Names are mapped with `countries.to_iso3`.
3. `parse_workbook`: the UN workbook "by destination and origin" as the publisher distributes it
   (sheet "Table 1", title rows, then a header row). Two layouts are recognised from the header:
   - long (the 2020 and 2024 editions, `undesa_pd_20xx_ims_stock_by_sex_destination_and_origin.xlsx`):
     one row per destination and origin; columns "Index", "Region, development group, country or
     area of destination", "Notes of destination", "Location code of destination", "Type of data of
     destination", "Region, development group, country or area of origin", "Location code of
     origin", then one column per year for both sexes, followed by the same years for males and for
     females (only the first, both-sexes block is read);
   - wide (the 2019 edition `UN_MigrantStockByOriginAndDestination_2019.xlsx`, and any sheet in that
     style): one row per year and destination; columns "Year", "Sort order"/"Index", "... of
     destination", "Notes", "Location code"/"Code", "Type of data", then one column per origin named
     by country (a repeated origin name starts the male/female blocks, which are not read).
   Destinations and origins are identified by their M49 location code where the sheet has one;
   aggregates are the rows with no code (label rows such as "UN development groups") or a code of
   900 or more (World, regions, development and income groups, "Other" origins). A blank "Type of
   data" does not mark an aggregate by itself: the UN also leaves it blank for countries without any
   estimate (Taiwan, M49 158, all `..` in Rev.2020), whose cells are dropped as not reported anyway.
   Origin columns of the wide layout are names: those equal to an aggregate row's name, and the
   UN's "Total", "Other North", "Other South" (aliases.csv: '-'), are dropped.
4. `parse_totals_csv`: the per-destination totals `stock_totals*.csv` (`alpha3`, `country_code`
   (M49), `year`, `fb` foreign-born, `pop` total population, persons).

Harmonization shared by every bilateral format (`finish`):
- cells with a UN marker (`..`, `-`, em dash, `~`, blank) are not reported: no row;
- birth == residence cells are dropped (the published diagonal is empty or zero);
- zero is a reported value and kept, EXCEPT where a destination's whole row (Rev.2019 CSV) or column
  (matrices) is zero in a year: the UN then does not report that destination separately (South
  Sudan, Curaçao, Sint Maarten, Montenegro before 2010, "contained in the predecessor state"; Holy
  See; Vatican City and Caribbean Netherlands in the Rev.2020 JSON), so all its cells that year are
  treated as not reported and dropped;
- predecessor rows: per the publisher's notes, the destination "Bonaire, Sint Eustatius and Saba"
  1990-2005 refers to the former Netherlands Antilles (Rev.2019 note 13, Rev.2020 note 16) and
  "Serbia" 1990-2005 to Serbia and Montenegro (Rev.2019 note 24). Where the successor named in
  `PREDECESSOR_ROWS` (Curaçao, resp. Montenegro) is not reported as a destination in the same year
  and the year is before 2010, those destination rows are labelled with the historic code (ANT,
  resp. SCG), which the panel splits among the successors (countries/successors.csv). "Sudan"
  1990-2005 also covers South Sudan; it stays SDN because successors.csv already splits SDN
  before 2011. Origins are published separately for every successor in all years and keep their codes;
- every problem (missing or truncated file, missing column, non-number, negative value, unknown
  country name, duplicated cell) raises SourceFileError/CountryCodeError naming the file, the line
  (file line, or worksheet row for .xlsx) and the fix.

`combine_revisions` merges revisions newest first, cell by cell (a cell = year, birth, residence),
older revisions filling the gaps; `stocks_vs_totals` compares bilateral sums with the UN totals.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from ..countries import ISO3, to_iso3
from .files import WORLD_POPULATION, file_error, read_csv, read_json, refuse_impossible, require

#: UN cell markers meaning "not available / not reported separately" (and the blank cell).
MARKERS = frozenset({"..", "-", "", "\u2014", "\u2013", "~", "NA", "nan", "NaN", "None", "\u2026", "..."})

FIRST_AGGREGATE_M49 = 900  # M49 codes from 900 up are World, regions and groups

#: (published destination, historic code, successor whose absence as a destination shows that the
#: row covers the former state); applied to years before PREDECESSOR_UNTIL.
PREDECESSOR_ROWS = (("BES", "ANT", "CUW"), ("SRB", "SCG", "MNE"))
PREDECESSOR_UNTIL = 2010

#: residence codes that cover each other in a year (a predecessor and the successors it contains);
#: an older revision never fills a cell whose residence overlaps one the newer revision reports.
OVERLAPS = {"ANT": {"BES", "CUW"}, "BES": {"ANT"}, "CUW": {"ANT"},
            "SCG": {"SRB", "MNE"}, "SRB": {"SCG"}, "MNE": {"SCG"}}

#: UN DESA aggregate rows (regions, development and income groups) as named in the Rev.2019 and
#: Rev.2020 workbooks, lower case; used only where a file has no codes (the Rev.2019 CSV) to confirm
#: that a destination row which is not an origin column is an aggregate and not a misspelt country.
UN_AGGREGATE_NAMES = frozenset({
    "world", "un development groups", "more developed regions", "developed regions", "less developed regions",
    "less developed regions, excluding least developed countries", "less developed regions, excluding china",
    "least developed countries", "land-locked developing countries (lldc)", "small island developing states (sids)",
    "world bank income groups", "high-income countries", "middle-income countries", "upper-middle-income countries",
    "lower-middle-income countries", "low-income countries", "no income group available", "geographic regions",
    "sustainable development goal (sdg) regions", "africa", "asia", "europe", "latin america and the caribbean",
    "northern america", "oceania", "sub-saharan africa", "northern africa and western asia", "central and southern asia",
    "eastern and south-eastern asia", "europe and northern america", "eastern africa", "middle africa",
    "northern africa", "southern africa", "western africa", "central asia", "southern asia", "eastern asia",
    "south-eastern asia", "western asia", "caribbean", "central america", "south america",
    "australia / new zealand", "australia and new zealand", "oceania (excluding australia and new zealand)",
    "melanesia", "micronesia", "polynesia", "eastern europe", "northern europe", "southern europe", "western europe",
})

KEY = ["year", "birth", "residence"]
CELLS = [*KEY, "stock", "line"]


# ---------------------------------------------------------------------------------------------
# cells


def parse_cells(block: pd.DataFrame, path: Path, where: str = "") -> pd.DataFrame:
    """Numbers from a block of cells indexed by file line (or worksheet row), columns = labels.

    Markers and empty cells become NaN; text that is not a number, or a negative number, raises
    naming the line and the column. `where` (e.g. "sheet 'Table 1', ") prefixes the column name.
    """
    if block.empty:
        return block.astype(float)
    flat = pd.Series(block.to_numpy(dtype=object).ravel())
    text = flat.map(lambda v: v.strip() if isinstance(v, str) else v)
    blank = text.isna() | text.map(lambda v: isinstance(v, str) and v in MARKERS)
    numbers = pd.to_numeric(text.where(~blank), errors="coerce").astype(float)
    width = block.shape[1]
    bad = numbers.isna() & ~blank
    if bad.any():
        p = int(np.flatnonzero(bad.to_numpy())[0])
        line, column = block.index[p // width], block.columns[p % width]
        raise file_error(path, f"{where}column {column!r} holds {flat.iloc[p]!r}, which is not a number "
                               f"({int(bad.sum())} such cell(s))",
                         "correct the cell (UN markers `..` and `-` mean not available) or fetch the file again",
                         row=int(line))
    negative = numbers < 0
    if negative.any():
        p = int(np.flatnonzero(negative.to_numpy())[0])
        line, column = block.index[p // width], block.columns[p % width]
        raise file_error(path, f"{where}column {column!r} holds the negative value {flat.iloc[p]!r} "
                               f"({int(negative.sum())} such cell(s)); migrant stocks and populations count persons",
                         "replace it by the published figure or a UN marker (`..`), or fetch the file again",
                         row=int(line))
    out = pd.DataFrame(numbers.to_numpy().reshape(block.shape), index=block.index, columns=block.columns)
    for column in out.columns:
        refuse_impossible(out[column], block[column], block.index, path, f"{where}{column}", WORLD_POPULATION)
    return out


def whole_numbers(values: pd.Series, path: Path, column: str, where: str = "") -> pd.Series:
    """Years or M49 codes (index = lines): whole numbers, NaN where blank; text raises."""
    numbers = parse_cells(values.to_frame(column), path, where)[column]
    bad = numbers.notna() & (numbers != numbers.round())
    if bad.any():
        line = int(values.index[bad.to_numpy()][0])
        raise file_error(path, f"{where}column {column!r} must hold whole numbers, found {values[line]!r}",
                         "correct the cell or fetch the file again", row=line)
    return numbers


def _long(values: pd.DataFrame, years: pd.Series, residence: pd.Series, births: list[str]) -> pd.DataFrame:
    """Wide block (rows = year x destination, columns = origins) -> long cells with lines."""
    n, k = values.shape
    return pd.DataFrame({
        "year": np.repeat(years.to_numpy(dtype=np.int64), k),
        "birth": np.tile(np.asarray(births, dtype=object), n),
        "residence": np.repeat(residence.to_numpy(dtype=object), k),
        "stock": values.to_numpy(dtype=float).ravel(),
        "line": np.repeat(values.index.to_numpy(dtype=np.int64), k),
    })


def finish(cells: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Apply the shared harmonization (module docstring) to parsed cells (CELLS columns, stock NaN
    where not reported). Returns only reported cells, with the `line` column kept for messages."""
    cells = cells[cells["birth"] != cells["residence"]]
    # a destination-year whose reported cells are all zero is not reported separately
    reported = cells["stock"].notna()
    positive = (cells["stock"] > 0).groupby([cells["year"], cells["residence"]]).transform("any")
    cells = cells[reported & positive].copy()
    # destination rows that cover a former state (UN notes), before its successors are reported
    present = set(zip(cells["year"], cells["residence"]))
    for published, historic, successor in PREDECESSOR_ROWS:
        absent = np.fromiter(((y, successor) not in present for y in cells["year"]), bool, len(cells))
        covers = (cells["residence"] == published).to_numpy() & (cells["year"] < PREDECESSOR_UNTIL).to_numpy() & absent
        cells.loc[covers, "residence"] = historic
    duplicated = cells.duplicated(KEY)
    if duplicated.any():
        first = cells[duplicated].iloc[0]
        times = int(((cells["year"] == first["year"]) & (cells["birth"] == first["birth"])
                     & (cells["residence"] == first["residence"])).sum())
        raise file_error(path, f"the cell born in {first['birth']}, living in {first['residence']}, {first['year']} "
                               f"appears {times} times (two names or rows for the same country?)",
                         "keep one row/column per country, or correct aliases.csv if two names map to one code",
                         row=None if pd.isna(first["line"]) or first["line"] < 0 else int(first["line"]))
    return cells[CELLS].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# 1. Rev.2019 wide CSV


def parse_wide_csv(path: Path) -> pd.DataFrame:
    """`Year, Dest, <origin names>` (rows = year x destination). Returns harmonized cells."""
    frame = read_csv(path, required=["Year", "Dest"], dtype=str, keep_default_na=False, encoding="utf-8")
    frame.index = pd.RangeIndex(2, 2 + len(frame))  # file lines (header = line 1)
    origins = [c for c in frame.columns if c not in ("Year", "Dest")]
    if not origins:
        raise file_error(path, "no origin columns after `Year, Dest`", "use the file documented in MANIFEST.md", row=1)
    dest = frame["Dest"].str.strip()
    # the matrix is square over countries: a destination that is not an origin column is a region row
    birth = to_iso3(pd.Series(origins, index=[1] * len(origins)), file=str(path), column="origin names (header)")
    extra = ~dest.isin({o.strip() for o in origins})
    unknown = extra & ~dest.str.casefold().isin(UN_AGGREGATE_NAMES)
    if unknown.any():
        line = int(dest.index[unknown.to_numpy()][0])
        raise file_error(path, f"destination {dest[line]!r} is neither an origin column nor a UN region",
                         "spell the destination as its origin column, or fetch the file again", row=line)
    frame = frame[~extra]
    keep = birth.notna().to_numpy()  # aggregates ("Total", "Other South") are dropped
    origins = [o for o, k in zip(origins, keep) if k]
    births = list(birth[keep])
    years = whole_numbers(frame["Year"], path, "Year")
    if years.isna().any():
        line = int(years.index[years.isna().to_numpy()][0])
        raise file_error(path, "row without a Year", "fill the Year or fetch the file again", row=line)
    residence = to_iso3(frame["Dest"].str.strip(), file=str(path), column="Dest")
    values = parse_cells(frame[origins], path)
    cells = _long(values, years, residence, births)
    return finish(cells[cells["residence"].notna()], path)


# ---------------------------------------------------------------------------------------------
# 2. chord JSON


def parse_chord_json(path: Path) -> pd.DataFrame:
    """Chord-diagram JSON (`names`, `regions`, `matrix[year]` N x N, rows = birth, columns =
    residence). Returns harmonized cells (line = -1: a JSON cell has no useful line)."""
    data = read_json(path)
    missing = [k for k in ("names", "regions", "matrix") if not isinstance(data, dict) or k not in data]
    if missing:
        raise file_error(path, f"missing key(s) {missing}", "use the chord JSON documented in MANIFEST.md section 1b")
    names = [str(n) for n in data["names"]]
    n = len(names)
    try:
        regions = {int(i) for i in data["regions"]}
    except (TypeError, ValueError) as err:
        raise file_error(path, f"`regions` must list row indices ({err})", "fetch the file again") from err
    if any(i < 0 or i >= n for i in regions):
        raise file_error(path, f"`regions` holds indices outside 0..{n - 1}", "fetch the file again")
    countries = [i for i in range(n) if i not in regions]
    codes = to_iso3(pd.Series([names[i] for i in countries], index=countries), file=str(path),
                    column="names ('row' = position in `names`)")
    keep = [i for i, c in zip(countries, codes) if c is not None]
    iso = np.asarray([c for c in codes if c is not None], dtype=object)
    if not isinstance(data["matrix"], dict):
        raise file_error(path, "`matrix` must map years to tables", "fetch the file again")
    frames = []
    for key, matrix in data["matrix"].items():
        try:
            year = int(str(key))
        except ValueError as err:
            raise file_error(path, f"matrix key {key!r} is not a year", "fetch the file again") from err
        try:
            values = np.asarray(matrix, dtype=float)
        except (TypeError, ValueError) as err:
            raise file_error(path, f"matrix {year} is not an {n} x {n} table of numbers ({_first_bad(matrix, n)})",
                             "the download was truncated or altered: fetch it again") from err
        if values.shape != (n, n):
            raise file_error(path, f"matrix {year} has shape {values.shape}, expected {n} x {n} like `names`",
                             "the download was truncated or altered: fetch it again")
        if (values < 0).any():
            i, j = (int(x[0]) for x in np.nonzero(values < 0))
            raise file_error(path, f"matrix {year} holds the negative value {values[i, j]} (born in {names[i]!r}, "
                                   f"living in {names[j]!r}); stocks count persons",
                             "fetch the file again or correct that cell")
        impossible = np.isinf(values) | (values > WORLD_POPULATION)
        if impossible.any():
            i, j = (int(x[0]) for x in np.nonzero(impossible))
            raise file_error(path, f"matrix {year} holds {values[i, j]:g} persons (born in {names[i]!r}, living in "
                                   f"{names[j]!r}, row {i}, column {j}), above the world's population; nothing was "
                                   "written", "fetch the file again or put the published figure in that cell")
        block = values[np.ix_(keep, keep)]
        k = len(keep)
        frames.append(pd.DataFrame({"year": np.full(k * k, year, dtype=np.int64),
                                    "birth": np.repeat(iso, k), "residence": np.tile(iso, k),
                                    "stock": block.ravel(), "line": np.full(k * k, -1, dtype=np.int64)}))
    if not frames:
        raise file_error(path, "`matrix` holds no year", "fetch the file again")
    return finish(pd.concat(frames, ignore_index=True), path)


def _first_bad(matrix, n: int) -> str:
    if not isinstance(matrix, list) or len(matrix) != n:
        return f"{len(matrix) if isinstance(matrix, list) else type(matrix).__name__} rows"
    for i, row in enumerate(matrix):
        if not isinstance(row, list) or len(row) != n:
            return f"row {i} has {len(row) if isinstance(row, list) else type(row).__name__} cells"
        for j, v in enumerate(row):
            if v is not None and not isinstance(v, (int, float)):
                try:
                    float(v)
                except (TypeError, ValueError):
                    return f"row {i}, column {j} holds {v!r}"
    return "unreadable cells"


# ---------------------------------------------------------------------------------------------
# 3. the UN workbook "by destination and origin"

SHEET = "Table 1"
HEADER_SEARCH_ROWS = 40


def label(value) -> str:
    """A header cell, normalised: lower case, single spaces, no footnote marker like ' (a)'."""
    text = re.sub(r"\s+", " ", str(value if value is not None else "")).strip().casefold()
    return re.sub(r"\s*\([a-z0-9]\)$", "", text)


def _year(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and float(value).is_integer() and 1950 <= value <= 2100:
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*(19[5-9]\d|20\d\d)(\.0)?\s*", value):
        return int(float(value))
    return None


def _find(labels: dict[int, str], *tests) -> int | None:
    for test in tests:
        for col, text in labels.items():
            if test(text):
                return col
    return None


def read_sheet(path: Path, sheet: str = SHEET) -> list[tuple]:
    """All rows of one worksheet as value tuples (row 1 first), via openpyxl in read-only mode."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    require(path)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, EOFError, ValueError) as err:
        raise file_error(path, f"not a complete .xlsx workbook ({type(err).__name__}: {err})",
                         "the download was truncated: fetch it again") from err
    try:
        if sheet not in book.sheetnames:
            raise file_error(path, f"no sheet {sheet!r} (sheets: {book.sheetnames})",
                             "use the UN workbook 'by destination and origin' as published")
        try:
            return list(book[sheet].iter_rows(values_only=True))
        except (zipfile.BadZipFile, KeyError, OSError, EOFError, ValueError) as err:
            raise file_error(path, f"sheet {sheet!r} cannot be read ({type(err).__name__}: {err})",
                             "the download was truncated: fetch it again") from err
    finally:
        book.close()


def parse_workbook(path: Path, sheet: str = SHEET) -> pd.DataFrame:
    """The UN bilateral workbook (long 2020/2024 layout or wide 2019 layout; see module docstring).
    Returns harmonized cells; `line` = worksheet row."""
    rows = read_sheet(path, sheet)
    where = f"sheet {sheet!r}, "
    # the header row: several labels, one of them ending "... of destination" (titles mention
    # "destination and origin, 1990-2024" but do not end so and stand alone on their row)
    header = next((r for r in range(min(len(rows), HEADER_SEARCH_ROWS))
                   if sum(1 for v in rows[r] if label(v)) >= 3
                   and any(label(v).endswith("of destination") for v in rows[r])), None)
    if header is None:
        raise file_error(path, f"{where}no header row with a '... of destination' column in the first "
                               f"{HEADER_SEARCH_ROWS} rows",
                         "use the UN workbook 'by destination and origin' as published (sheet 'Table 1')")
    width = max(len(r) for r in rows)
    table = pd.DataFrame([tuple(r) + (None,) * (width - len(r)) for r in rows[header + 1:]],
                         index=pd.RangeIndex(header + 2, header + 2 + len(rows) - header - 1), dtype=object)
    labels = {c: label(v) for c, v in enumerate(rows[header]) if v is not None and label(v)}
    if _find(labels, lambda t: t.endswith("of origin") or t == "location code of origin") is not None:
        return _parse_long(path, rows, header, table, labels, where)
    if _find(labels, lambda t: t == "year") is not None:
        return _parse_wide(path, rows, header, table, labels, where)
    raise file_error(path, f"{where}the header (row {header + 1}) has neither '... of origin' columns (long layout) "
                           f"nor a 'Year' column (wide layout): {list(labels.values())[:10]}",
                     "use the UN workbook 'by destination and origin' as published", row=header + 1)


def _need(path: Path, where: str, header: int, col: int | None, name: str) -> int:
    if col is None:
        raise file_error(path, f"{where}missing column {name!r} in the header (row {header + 1})",
                         "use the UN workbook 'by destination and origin' as published", row=header + 1)
    return col


def _codes(table: pd.DataFrame, col: int, path: Path, where: str, name: str) -> tuple[pd.Series, pd.Series]:
    """(M49 codes as float, NaN where blank; ISO3 or None for aggregates and blanks)."""
    m49 = whole_numbers(table[col].rename(name), path, name, where)
    country = m49.notna() & (m49 < FIRST_AGGREGATE_M49)
    iso = pd.Series(None, index=table.index, dtype=object)
    if country.any():
        iso[country] = to_iso3(m49[country].astype(np.int64).astype(str), file=f"{path} ({where.strip(', ')})",
                               column=name, kind="m49")
    return m49, iso


def _parse_long(path, rows, header, table, labels, where) -> pd.DataFrame:
    dest = _need(path, where, header, _find(labels, lambda t: t == "location code of destination",
                                            lambda t: "code" in t and "destination" in t), "Location code of destination")
    orig = _need(path, where, header, _find(labels, lambda t: t == "location code of origin",
                                            lambda t: "code" in t and "origin" in t), "Location code of origin")
    years, seen = {}, set()
    for c in range(max(dest, orig) + 1, table.shape[1]):
        y = _year(rows[header][c]) if c < len(rows[header]) else None
        if y is None and header + 1 < len(rows) and c < len(rows[header + 1]):
            y = _year(rows[header + 1][c])  # two-row headers: years under a block title
        if y is None:
            continue
        if y in seen:
            break  # the male and female blocks repeat the years
        seen.add(y)
        years[c] = y
    if not years:
        raise file_error(path, f"{where}no year columns after 'Location code of origin' in the header (row {header + 1})",
                         "use the UN workbook 'by destination and origin' as published", row=header + 1)
    _, residence = _codes(table, dest, path, where, "Location code of destination")
    _, birth = _codes(table, orig, path, where, "Location code of origin")
    keep = residence.notna() & birth.notna()
    block = table.loc[keep, list(years)].rename(columns={c: str(labels.get(c, y)) for c, y in years.items()})
    values = parse_cells(block, path, where)
    values.columns = list(years.values())
    stacked = values.stack(future_stack=True)
    lines = stacked.index.get_level_values(0)
    cells = pd.DataFrame({"year": stacked.index.get_level_values(1).astype(np.int64),
                          "birth": birth[lines].to_numpy(), "residence": residence[lines].to_numpy(),
                          "stock": stacked.to_numpy(dtype=float), "line": np.asarray(lines, dtype=np.int64)})
    return finish(cells, path)


def _parse_wide(path, rows, header, table, labels, where) -> pd.DataFrame:
    year = _need(path, where, header, _find(labels, lambda t: t == "year"), "Year")
    name = _need(path, where, header, _find(labels, lambda t: "of destination" in t and "code" not in t),
                 "Region, development group, country or area of destination")
    dest = _need(path, where, header, _find(labels, lambda t: t in ("location code", "code", "country code",
                                                                    "location code of destination")),
                 "Location code")
    kind = _find(labels, lambda t: t.startswith("type of data"))
    notes = _find(labels, lambda t: t.startswith("notes"))
    order = _find(labels, lambda t: t in ("sort order", "index"))
    last = max(c for c in (year, name, dest, kind, notes, order) if c is not None)
    m49, residence = _codes(table, dest, path, where, "Location code")
    aggregates = {label(v) for v in table.loc[m49.isna() | (m49 >= FIRST_AGGREGATE_M49), name] if v is not None}
    origins: dict[int, str] = {}
    for c in range(last + 1, table.shape[1]):
        text = rows[header][c] if c < len(rows[header]) else None
        if text is None or not str(text).strip():
            continue
        text = re.sub(r"\s+", " ", str(text)).strip()
        if text in origins.values():
            break  # the male and female blocks repeat the origins
        origins[c] = text
    countries = {c: t for c, t in origins.items() if label(t) not in aggregates}
    codes = to_iso3(pd.Series(list(countries.values()), index=[c + 1 for c in countries]),
                    file=f"{path} ({where.strip(', ')})",
                    column=f"origin names in the header (row {header + 1}; 'row' below = spreadsheet column number)")
    codes = codes[codes.notna()]
    codes.index = codes.index - 1
    if codes.empty:
        raise file_error(path, f"{where}no origin country columns after the destination columns",
                         "use the UN workbook 'by destination and origin' as published", row=header + 1)
    keep = residence.notna()
    years = whole_numbers(table.loc[keep, year].rename("Year"), path, "Year", where)
    if years.isna().any():
        line = int(years.index[years.isna().to_numpy()][0])
        raise file_error(path, f"{where}country row without a Year", "fill the Year or fetch the file again", row=line)
    block = table.loc[keep, list(codes.index)]
    block.columns = [countries[c] for c in codes.index]
    values = parse_cells(block, path, where)
    cells = _long(values, years, residence[keep], list(codes))
    return finish(cells, path)


# ---------------------------------------------------------------------------------------------
# combining revisions


def combine_revisions(revisions: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Cells of several revisions, given newest first: the newest value of each cell (year, birth,
    residence) wins, older revisions fill the cells the newer ones do not report, except where the
    older cell's residence overlaps a residence the newer ones report that year (OVERLAPS: a
    predecessor and its successors). Returns year, birth, residence, stock, revision."""
    out = pd.DataFrame(columns=[*KEY, "stock", "revision"])
    for name, cells in revisions.items():
        cells = cells[[*KEY, "stock"]].assign(revision=name)
        if len(out):
            reported = out[["year", "residence"]].drop_duplicates()
            blocked = set()
            for y, r in zip(reported["year"], reported["residence"]):
                blocked.update((y, o) for o in OVERLAPS.get(r, ()))
            if blocked:
                cells = cells[[(y, r) not in blocked for y, r in zip(cells["year"], cells["residence"])]]
            have = pd.MultiIndex.from_frame(out[KEY])
            cells = cells[~pd.MultiIndex.from_frame(cells[KEY]).isin(have)]
        out = pd.concat([out, cells], ignore_index=True) if len(out) else cells.reset_index(drop=True)
    out["year"] = out["year"].astype(np.int64)
    out["stock"] = out["stock"].astype(float)
    return out.sort_values(KEY, kind="stable").reset_index(drop=True)


def revision_summary(combined: pd.DataFrame) -> pd.DataFrame:
    """Per year and revision: cells, destinations and persons taken from that revision."""
    return (combined.groupby(["year", "revision"], as_index=False)
            .agg(cells=("stock", "size"), destinations=("residence", "nunique"), stock=("stock", "sum")))


# ---------------------------------------------------------------------------------------------
# 4. totals per destination

TOTALS_COLUMNS = ["alpha3", "country_code", "year", "fb", "pop"]


def parse_totals_csv(path: Path) -> pd.DataFrame:
    """`stock_totals*.csv`: year, residence, foreign_born, population (persons), rows with a
    reported foreign-born total. Aggregates (M49 >= 900: World, regions, groups) are dropped;
    residence comes from the M49 code (`alpha3` is NA for the Channel Islands in the Rev.2020 file
    and 'CISL' in the Rev.2019 file), and must agree with `alpha3` where that is an ISO3 code."""
    frame = read_csv(path, required=TOTALS_COLUMNS, dtype=str, keep_default_na=False, encoding="utf-8")
    frame.index = pd.RangeIndex(2, 2 + len(frame))
    m49 = whole_numbers(frame["country_code"], path, "country_code")
    if m49.isna().any():
        line = int(m49.index[m49.isna().to_numpy()][0])
        raise file_error(path, "row without a country_code (M49)", "fill the code or fetch the file again", row=line)
    frame = frame[m49 < FIRST_AGGREGATE_M49]
    m49 = m49[m49 < FIRST_AGGREGATE_M49]
    residence = to_iso3(m49.astype(np.int64).astype(str), file=str(path), column="country_code", kind="m49")
    alpha3 = frame["alpha3"].str.strip()
    clash = alpha3.str.fullmatch(ISO3.pattern.strip("^$")) & residence.notna() & (alpha3 != residence)
    if clash.any():
        line = int(alpha3.index[clash.to_numpy()][0])
        raise file_error(path, f"alpha3 {alpha3[line]!r} disagrees with country_code {int(m49[line])} "
                               f"({residence[line]})", "correct one of the two codes", row=line)
    years = whole_numbers(frame["year"], path, "year")
    if years.isna().any():
        line = int(years.index[years.isna().to_numpy()][0])
        raise file_error(path, "row without a year", "fill the year or fetch the file again", row=line)
    values = parse_cells(frame[["fb", "pop"]], path)
    out = pd.DataFrame({"year": years.astype(np.int64), "residence": residence,
                        "foreign_born": values["fb"], "population": values["pop"], "line": frame.index})
    out = out[out["residence"].notna() & out["foreign_born"].notna()]
    duplicated = out.duplicated(["year", "residence"], keep=False)
    if duplicated.any():
        line = int(out.loc[duplicated, "line"].iloc[1])
        raise file_error(path, f"{out.loc[duplicated, 'residence'].iloc[0]} appears twice for "
                               f"{out.loc[duplicated, 'year'].iloc[0]}", "keep one row per destination and year", row=line)
    return out.reset_index(drop=True)


def combine_totals(revisions: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Totals of several revisions, newest first: the newest row of each (year, residence) wins."""
    frames = [f.assign(revision=name) for name, f in revisions.items()]
    out = pd.concat(frames, ignore_index=True).drop_duplicates(["year", "residence"], keep="first")
    return out.sort_values(["year", "residence"], kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# cross-check

#: Proposed tolerance for "bilateral sums against the UN totals" (ratio = bilateral / total per
#: destination and year). On the bundle (Rev.2020 + Rev.2019, 1,824 destination-years) the ratio
#: never exceeds 1 (max 1.000000; 3 % exactly 1: no unknown origins), median 0.951, 5th percentile
#: 0.63, 2.4 % below 0.5 (e.g. Equatorial Guinea, Angola, Tonga, Somalia 2000: mostly unknown
#: origins). Hard limit: ratio <= RATIO_MAX (rounding, and revisions mixed by the cell-wise combination);
#: warning: ratio >= RATIO_LOW for at least RATIO_LOW_MOSTLY of the destination-years.
RATIO_MAX = 1.005
RATIO_LOW = 0.5
RATIO_LOW_MOSTLY = 0.95


def stocks_vs_totals(stocks: pd.DataFrame, totals: pd.DataFrame) -> pd.DataFrame:
    """Per year and residence: `bilateral` (sum of the bilateral stocks over countries of birth),
    `origins` (cells summed), `foreign_born` (the UN total, unknown origins included) and `ratio` =
    bilateral / foreign_born (NaN where either side is missing or the total is 0).

    The bilateral sums leave out the UN's unknown-origin categories ("Other South", "Other North"),
    so the ratio is at most 1 where both come from the same revision (see RATIO_MAX, RATIO_LOW).
    Destinations relabelled in the stocks (ANT, SCG for 1990-2005) have no total, and the totals of
    BES/SRB in those years no bilateral sum: their ratio is NaN."""
    bilateral = (stocks.groupby(["year", "residence"], as_index=False)
                 .agg(bilateral=("stock", "sum"), origins=("stock", "size")))
    out = bilateral.merge(totals[["year", "residence", "foreign_born"]], on=["year", "residence"], how="outer")
    out["origins"] = out["origins"].fillna(0).astype(np.int64)
    total = out["foreign_born"].where(out["foreign_born"] > 0)
    out["ratio"] = out["bilateral"] / total
    return out[["year", "residence", "bilateral", "origins", "foreign_born", "ratio"]].sort_values(
        ["year", "residence"]).reset_index(drop=True)
