"""UNHCR refugees and asylum-seekers by origin and asylum country, end of year.

Files read (relative to the raw folder):

- `unhcr/unhcr_2020.csv` (long; `year, orig, dest, refugees, asylum_seekers`; ISO3; persons at
  31 December): years 1995-2018 and 2020 (2019 is missing from the file and stays missing).
  Dropped: rows with an empty `orig` (unknown or stateless origin, 1,307 rows) or `dest` (5 rows),
  the UNHCR pseudo-code XXA (stateless, via aliases.csv), rows where both counts are `NA` (6
  rows: Venezuelans in Caribbean territories, 2018/2020: not reported), and origin == asylum
  (658 rows, 28 of them nonzero: mostly asylum-seekers registered in their own country). TIB (Tibetan) is
  counted as China (aliases.csv), as UNHCR's own name file does; it is summed with CHN.
- `unhcr/unhcr_popstats_export_persons_of_concern_all_data.csv.gz` (UNHCR Population Statistics
  export of 2015-08-11; 3 preamble lines, header on line 4; UNHCR names): used only for the years
  the first file lacks (1990-1994; the newer file wins wherever both have a year). Names are mapped
  with `countries.to_iso3` ("Serbia and Kosovo (S/RES/1244 (1999))" = SRB, "Tibetan" = CHN,
  "Palestinian" = PSE; "Various/Unknown" and "Stateless" are dropped). `*` marks a confidential
  count of 1-4 persons and is read as 2 (`CONFIDENTIAL`); an empty cell is 0 (not reported).
  Rows of other years are not checked (e.g. its one negative asylum-seeker cell, -1 in 2013, is
  never read because 2013 comes from the newer file).

Harmonization: refugees = refugees (incl. refugee-like situations) + asylum-seekers (pending
cases) under UNHCR's mandate at the end of `year` (a missing component counts as 0); years >= 1990;
duplicated (year, origin, asylum) after name mapping are summed; only positive counts are kept (a
pair that is absent means no refugees reported, which the panel reads as 0). Historic codes stay as
reported (e.g. SDN before 2011 includes South Sudan); the panel maps them (countries/successors.csv).
Both sources report asylum-seekers only from 2000 on.

UNHCR's refugees package (`unhcr/refugees_package/<version>/population.rda`, MANIFEST.md §5b), when
a release is present, replaces both files: the release chosen by MIGRATION_UNHCR_RELEASE, else the
newest version present. Its `population` tibble (end-of-year stocks; `coo_iso`/`coa_iso` ISO3,
UNK = unknown and XXA = stateless dropped, TIB = CHN) gives every year from 1990 to the release's
last, 2019 included: `refugees` = refugees + asylum_seekers as above, `asylum_seekers` alone, and
`oip` (other people in need of international protection, from 2018, e.g. Venezuelans abroad; not in
`refugees`). The older files give `asylum_seekers` as reported and `oip` = 0 (not collected).

A release revises earlier years. A pair (or a country) it no longer lists is a revision to zero (UNHCR lists only
pairs with people), not a withdrawal: `raw_asset(..., absent_is_zero=True)` reports such rows in the
landing's metadata instead of stopping.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from ..countries import to_iso3
from ..preflight import UNHCR_PACKAGE, unhcr_release, unhcr_versions as package_versions
from ..schemas import RAW, Coverage
from .files import file_error, read_csv, read_rda, require, to_number
from .raw import raw_asset

TABLE = RAW["refugees"]

UNHCR_2020 = "unhcr/unhcr_2020.csv"
POPSTATS = "unhcr/unhcr_popstats_export_persons_of_concern_all_data.csv.gz"
FILES = [UNHCR_2020, POPSTATS]  # without a package release (files(root) says which are read)
PACKAGE = UNHCR_PACKAGE
POPULATION = "population.rda"
POPULATION_COLUMNS = ["year", "coo_iso", "coa_iso", "refugees", "asylum_seekers", "oip"]

FIRST_YEAR = 1990
CONFIDENTIAL = 2.0  # UNHCR's `*`: 1-4 persons, not disclosed
POPSTATS_HEADER_LINE = 4  # 3 preamble lines (title, extraction date, blank)
POPSTATS_COLUMNS = {
    "Year": "year",
    "Country / territory of asylum/residence": "asylum",
    "Origin": "origin",
    "Refugees (incl. refugee-like situations)": "refugees",
    "Asylum-seekers (pending cases)": "asylum_seekers",
}


def expectations() -> list:
    import great_expectations.expectations as gxe  # here, not at import: GX takes 3 s to load

    return [
        gxe.ExpectColumnValuesToBeBetween(column="refugees", min_value=0,
                                          meta={"fix": "refugee counts cannot be negative"}),
        gxe.ExpectColumnValuesToNotBeNull(column="refugees",
                                          meta={"fix": "drop pairs that are not reported instead of leaving them empty"}),
        *[gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0, meta={"fix": f"{c} cannot be negative"})
          for c in ("asylum_seekers", "oip")],
    ]


# the publisher's current release: a release holding less (rows, years, codes per code column) stops
# before it lands, unless the withdrawal is stated (sources/raw.py)
COVERAGE = Coverage.span(1990, 2020, rows=94_867, codes=184, missing=(2019,))

asset = raw_asset(TABLE, ['origin', 'asylum'], expectations, absent_is_zero=True)


def package_release(root: Path) -> str | None:
    """The package version to read: MIGRATION_UNHCR_RELEASE, else the newest present (None: no package)."""
    present = package_versions(root)
    wanted = unhcr_release()
    if wanted and wanted not in present:
        raise file_error(Path(root) / PACKAGE / wanted / POPULATION, "file not found (MIGRATION_UNHCR_RELEASE="
                         f"{wanted}; releases present: {', '.join(present) or 'none'})",
                         "fetch that release (migration-fetch --only 'unhcr/refugees_package/*') or unset "
                         "MIGRATION_UNHCR_RELEASE to read the newest present")
    return wanted or (present[-1] if present else None)


def files(root: Path) -> list[str]:
    """The files `read(root)` reads: the chosen package release's population.rda, or the two older files."""
    version = package_release(root)
    return [f"{PACKAGE}/{version}/{POPULATION}"] if version else FILES


def package_codes(frame: pd.DataFrame, path: Path, columns: tuple[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """ISO3 of the package's origin and asylum code columns (unknown and stateless as None); unknown
    codes raise naming the file and the row (`frame`'s index + 1: the row number R prints)."""
    def codes(column: str) -> np.ndarray:
        values = frame[column].astype(object).where(frame[column].notna(), None)
        return to_iso3(values.set_axis(values.index + 1), file=str(path), column=column, kind="iso3").to_numpy(dtype=object)

    return codes(columns[0]), codes(columns[1])


def package_numbers(frame: pd.DataFrame, path: Path, columns: list[str]) -> dict[str, pd.Series]:
    """The count columns as floats (R's NA: not reported, 0); a negative or non-finite count raises
    naming the file and the row (`frame`'s index + 1)."""
    out = {}
    for column in columns:
        numbers = pd.to_numeric(frame[column], errors="coerce").astype(float)
        bad = ~np.isfinite(numbers.fillna(0.0)) | (numbers < 0) | (numbers.isna() & frame[column].notna())
        if bad.any():
            p = _first(bad)
            raise file_error(path, f"`{column}` of row {frame.index[p] + 1} is {frame[column].iloc[p]} (year "
                             f"{frame['year'].iloc[p]:g})", "counts of persons are finite and not negative: "
                             "fetch the release again (migration-fetch)")
        out[column] = numbers.fillna(0.0)
    return out


def read_package(root: Path, version: str) -> pd.DataFrame:
    """year, origin, asylum, refugees, asylum_seekers, oip of one package release, 1990 on."""
    path = Path(root) / PACKAGE / version / POPULATION
    raw = read_rda(path, "population", POPULATION_COLUMNS)
    raw = raw[pd.to_numeric(raw["year"], errors="coerce") >= FIRST_YEAR]  # the index + 1 is R's row number
    origin, asylum = package_codes(raw, path, ("coo_iso", "coa_iso"))
    counts = package_numbers(raw, path, ["refugees", "asylum_seekers", "oip"])
    return pd.DataFrame({"year": raw["year"].astype(int), "origin": origin, "asylum": asylum,
                         "refugees": counts["refugees"] + counts["asylum_seekers"],
                         "asylum_seekers": counts["asylum_seekers"], "oip": counts["oip"]})


def _first(mask: pd.Series) -> int:
    return int(np.flatnonzero(mask.to_numpy())[0])


def _codes(values: pd.Series, first_data_line: int, path: Path, column: str, kind: str) -> np.ndarray:
    """ISO3 codes of `values` (indexed by position in the file), unknown ones reported by file line."""
    lines = values.set_axis(values.index + first_data_line)
    return to_iso3(lines, file=str(path), column=column, kind=kind).to_numpy(dtype=object)


def _nonnegative(numbers: pd.Series, path: Path, column: str, first_data_line: int) -> None:
    negative = numbers < 0
    if negative.any():
        p = _first(negative)
        raise file_error(path, f"`{column}` is negative ({numbers.iloc[p]:g})",
                         "counts of persons cannot be negative: correct the cell or fetch the file again",
                         row=first_data_line + p)


def read_unhcr_2020(root: Path) -> tuple[pd.DataFrame, dict]:
    """year, origin, asylum, refugees (refugees + asylum-seekers) of unhcr_2020.csv, and what was dropped."""
    path = require(Path(root) / UNHCR_2020)
    raw = read_csv(path, required=["year", "orig", "dest", "refugees", "asylum_seekers"], dtype=str,
                   keep_default_na=False)
    year = to_number(raw["year"], path, "year", markers=())
    refugees = to_number(raw["refugees"], path, "refugees", markers=("NA", ""))
    asylum = to_number(raw["asylum_seekers"], path, "asylum_seekers", markers=("NA", ""))
    _nonnegative(refugees, path, "refugees", 2)
    _nonnegative(asylum, path, "asylum_seekers", 2)
    orig, dest = raw["orig"].str.strip(), raw["dest"].str.strip()
    repeated = pd.concat([year, orig, dest], axis=1).duplicated()
    if repeated.any():
        p = _first(repeated)
        raise file_error(path, f"{orig.iloc[p]} -> {dest.iloc[p]} in {raw['year'].iloc[p]} appears twice",
                         "keep one row per year, origin and asylum country: fetch the file again", row=2 + p)
    empty = (orig == "") | (dest == "")
    unreported = refugees.isna() & asylum.isna()
    keep = ~empty & ~unreported
    frame = pd.DataFrame({
        "year": year[keep],
        "origin": _codes(orig[keep], 2, path, "orig", "iso3"),
        "asylum": _codes(dest[keep], 2, path, "dest", "iso3"),
        "refugees": refugees[keep].fillna(0.0) + asylum[keep].fillna(0.0),
        "asylum_seekers": asylum[keep].fillna(0.0),
    })
    dropped = {"empty orig": int((orig == "").sum()), "empty dest": int((dest == "").sum()),
               "both counts NA": int((unreported & ~empty).sum()),
               "not a country (XXA)": int((frame["origin"].isna() | frame["asylum"].isna()).sum())}
    return frame.dropna(subset=["origin", "asylum"]), dropped


def read_popstats(root: Path, exclude: set[int] = frozenset(), first_year: int = FIRST_YEAR) -> pd.DataFrame:
    """year, origin, asylum, refugees (refugees + asylum-seekers) of the 2015 export, for the years
    from `first_year` on that are not in `exclude`; rows of other years are not checked."""
    path = require(Path(root) / POPSTATS)
    first = POPSTATS_HEADER_LINE + 1
    raw = read_csv(path, required=list(POPSTATS_COLUMNS), header_line=POPSTATS_HEADER_LINE,
                   skiprows=POPSTATS_HEADER_LINE - 1, dtype=str, keep_default_na=False,
                   skip_blank_lines=False).rename(columns=POPSTATS_COLUMNS)
    year = to_number(raw["year"], path, "Year", first_data_line=first, markers=())
    used = (year >= first_year) & ~year.isin(exclude)
    counts = {}
    for column, label in [("refugees", "Refugees (incl. refugee-like situations)"),
                          ("asylum_seekers", "Asylum-seekers (pending cases)")]:
        text = raw[column].where(used, "").str.strip()  # other years are not read
        numbers = to_number(text.replace("*", str(CONFIDENTIAL)), path, label, first_data_line=first, markers=("",))
        _nonnegative(numbers, path, label, first)
        counts[column] = numbers.fillna(0.0)
    rows = raw[used]
    frame = pd.DataFrame({
        "year": year[used],
        "origin": _codes(rows["origin"].str.strip(), first, path, "Origin", "name"),
        "asylum": _codes(rows["asylum"].str.strip(), first, path, "Country / territory of asylum/residence", "name"),
        "refugees": counts["refugees"][used] + counts["asylum_seekers"][used],
        "asylum_seekers": counts["asylum_seekers"][used],
    })
    return frame.dropna(subset=["origin", "asylum"])


def read(root: Path) -> pd.DataFrame:
    """Refugees + asylum-seekers (and, apart, other people in need of international protection) by
    (year, origin, asylum), 1990 on: the chosen release of UNHCR's refugees package; without one,
    unhcr_2020.csv and the 2015 popstats export for the earlier years it lacks."""
    version = package_release(root)
    if version:
        frame = read_package(root, version)
    else:
        new, _ = read_unhcr_2020(root)
        new = new[new["year"] >= FIRST_YEAR]
        old = read_popstats(root, exclude=set(new["year"].astype(int)))  # the newer file wins
        frame = pd.concat([new, old], ignore_index=True).assign(oip=0.0)
    frame = frame.dropna(subset=["origin", "asylum"])
    frame = frame[frame["origin"] != frame["asylum"]]
    frame = frame.groupby(["year", "origin", "asylum"], as_index=False)[["refugees", "asylum_seekers", "oip"]].sum()
    frame = frame[(frame["refugees"] > 0) | (frame["oip"] > 0)].sort_values(["year", "origin", "asylum"])
    return TABLE.conform(frame)
