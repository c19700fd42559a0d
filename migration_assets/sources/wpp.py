"""UN World Population Prospects 2024 readers shared by `demography` and `net_migration`, and the
long-CSV reader shared by the covariate files of the paper's repository (`read_long`).

Two WPP layouts are understood, both giving the calendar years FIRST_YEAR..LAST_YEAR for the 236
countries/areas of WPP 2024 (Holy See is not a WPP location), in persons:

1. The publisher's own download, preferred when present: `wpp/WPP2024_Demographic_Indicators_Medium.csv`
   (or `.csv.gz`): long, one row per location and year, values in thousands. Countries are the rows
   with `LocTypeID == 4` and an `ISO3_code` (regions, income groups and the World have other types).
   Columns used: `TPopulation1Jan`, `Births`, `Deaths`, `LEx`, `NetMigrations`.
2. The wide tab-separated text files of the `wpp2024` R package, `wpp/wpp2024/*.txt` (`country_code`
   = M49, `country`, one column per year, sometimes a trailing `last.observed`), in thousands.
   Countries are the M49 codes whose `location_type` is 4 in `wpp/wpp2024/UNlocations.txt`; every
   other row (World 900, SDG regions, income groups...) is an aggregate and dropped. M49 codes are
   mapped to ISO3 with `countries.to_iso3(kind="m49")` (Kosovo is M49 412 -> XKX via aliases.csv).
   These files hold no population totals for past years: population on 1 January is rebuilt exactly
   (MANIFEST section 2a) from `popprojMed` (population on 31 December of each projection year),
   `PopChangeprojMed` and `PopChange` (P(31 Dec t) - P(1 Jan t)):
   P(1 Jan 2024) = P(31 Dec 2023) = popprojMed[2024] - PopChangeprojMed[2024], and backwards
   P(1 Jan t) = P(1 Jan t+1) - PopChange[t].

Counts are published in thousands with three decimals, i.e. to the person: they are multiplied by
1,000 and rounded to whole persons (which also removes the float noise of values such as
43337.6910000001). Life expectancy is in years and left as published.

Every problem raises SourceFileError (or CountryCodeError) naming the file, the line and the fix;
line numbers count the header as line 1.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from ..countries import to_iso3
from .files import WORLD_POPULATION, file_error, read_bytes, read_csv, require, to_number

FIRST_YEAR, LAST_YEAR = 1990, 2023  # LAST_YEAR: WPP 2024's last estimated year (`last.observed`)
YEARS = list(range(FIRST_YEAR, LAST_YEAR + 1))
PROJECTED_THROUGH = 2030  # demography reads the medium-variant projection up to here (nowcast years)
WITH_PROJECTION = list(range(FIRST_YEAR, PROJECTED_THROUGH + 1))

TXT_DIR = "wpp/wpp2024"
LOCATIONS = f"{TXT_DIR}/UNlocations.txt"
TXT = {  # indicator -> file of the wpp2024 package
    "births": f"{TXT_DIR}/births.txt",
    "deaths": f"{TXT_DIR}/deaths.txt",
    "life_expectancy": f"{TXT_DIR}/e0B.txt",
    "net_migration": f"{TXT_DIR}/migration.txt",
    "pop_change": f"{TXT_DIR}/PopChange.txt",
    "pop_projected": f"{TXT_DIR}/popprojMed.txt",
    "pop_change_projected": f"{TXT_DIR}/PopChangeprojMed.txt",
    "births_projected": f"{TXT_DIR}/birthsprojMed.txt",
    "deaths_projected": f"{TXT_DIR}/deathsprojMed.txt",
    "life_expectancy_projected": f"{TXT_DIR}/e0Bproj.txt",
}
UN_CSV = ("wpp/WPP2024_Demographic_Indicators_Medium.csv", "wpp/WPP2024_Demographic_Indicators_Medium.csv.gz")
UN_COLUMNS = {  # our name -> the UN file's column (thousands, except LEx in years)
    "population": "TPopulation1Jan",
    "births": "Births",
    "deaths": "Deaths",
    "life_expectancy": "LEx",
    "net_migration": "NetMigrations",
}
COUNTS = {"population", "births", "deaths", "net_migration"}
NONNEGATIVE = {"population", "births", "deaths", "life_expectancy", "pop_projected", "births_projected",
               "deaths_projected", "life_expectancy_projected"}


def un_csv(root: Path) -> Path | None:
    """The publisher's Demographic Indicators download under `root`, if there is one."""
    for name in UN_CSV:
        if (root / name).exists():
            return root / name
    return None


def _lines(frame: pd.DataFrame, header_line: int = 1) -> pd.DataFrame:
    """Index a freshly read frame by file line numbers, so messages can name the line."""
    frame.index = pd.RangeIndex(header_line + 1, header_line + 1 + len(frame))
    return frame


def _first(mask: pd.Series) -> int:
    return int(mask.index[mask.to_numpy()][0])


def integers(values: pd.Series, path: Path, column: str) -> pd.Series:
    """Whole numbers (years, M49 codes) from a column that may hold `1990.0`; anything else raises."""
    numbers = to_number(values, path, column, first_data_line=int(values.index[0]) if len(values) else 2)
    bad = numbers.isna() | (numbers != numbers.round())
    if bad.any():
        line = _first(bad)
        raise file_error(path, f"column `{column}` must hold whole numbers, found {values[line]!r}",
                         "correct the cell or fetch the file again", row=line)
    return numbers.astype("int64")


# ---------------------------------------------------------------------------------------------
# wide text files of the wpp2024 package


def locations(root: Path) -> pd.DataFrame:
    """UNlocations.txt: `m49`, `location_type`, indexed by line."""
    path = root / LOCATIONS
    frame = _lines(read_csv(path, required=["name", "country_code", "location_type"], sep="\t"))
    return pd.DataFrame({"m49": integers(frame["country_code"], path, "country_code"),
                         "location_type": pd.to_numeric(frame["location_type"], errors="coerce")})


def read_wide(root: Path, indicator: str, years: list[int], countries: set[int], known: set[int]) -> pd.DataFrame:
    """One wide WPP text file: rows = the M49 codes in `countries`, columns = `years`, in the file's
    unit (thousands or years), with a `line` column. A code absent from UNlocations (`known`), a
    missing cell or a negative count raises."""
    path = root / TXT[indicator]
    columns = [str(y) for y in years]
    frame = _lines(read_csv(path, required=["country_code", "country", *columns], sep="\t"))
    codes = integers(frame["country_code"], path, "country_code")
    duplicated = codes.duplicated()
    if duplicated.any():
        line = _first(duplicated)
        raise file_error(path, f"M49 code {codes[line]} appears twice", "keep one row per location", row=line)
    unlocated = ~codes.isin(known)
    if unlocated.any():
        line = _first(unlocated)
        raise file_error(path, f"M49 code {codes[line]} ({frame.at[line, 'country']!r}) is not in {LOCATIONS}, so it "
                         "cannot be told apart from an aggregate", "use the UNlocations.txt of the same release",
                         row=line)
    keep = codes.isin(countries)
    values = pd.DataFrame({y: to_number(frame[c], path, c) for y, c in zip(years, columns)}, index=frame.index)[keep]
    missing = values.isna()
    if missing.to_numpy().any():
        line = _first(missing.any(axis=1))
        year = missing.columns[missing.loc[line].to_numpy()][0]
        raise file_error(path, f"no value for {frame.at[line, 'country']!r} (M49 {codes[line]}) in {year}",
                         "the file is truncated or altered: fetch it again", row=line)
    if indicator in NONNEGATIVE and (values < 0).to_numpy().any():
        line = _first((values < 0).any(axis=1))
        year = values.columns[(values.loc[line] < 0).to_numpy()][0]
        raise file_error(path, f"negative value {values.at[line, year]} for {frame.at[line, 'country']!r} in {year}",
                         f"{indicator} cannot be negative: correct the cell or fetch the file again", row=line)
    values.insert(0, "m49", codes[keep])
    values["line"] = values.index
    return values.set_index("m49")


def read_txt(root: Path, indicators: list[str], years: list[int] = YEARS) -> dict[str, pd.DataFrame]:
    """Several wide files over the same countries: {indicator: frame indexed by M49}, plus
    "iso3": a Series M49 -> ISO3. A country present in one file and absent from another raises."""
    for name in indicators:  # name the data file first when it is the one missing
        require(root / TXT[name])
    loc = locations(root)
    countries = set(loc.loc[loc["location_type"] == 4, "m49"])
    known = set(loc["m49"])
    out = {}
    projected = [y for y in years if y > LAST_YEAR]
    for name in indicators:
        if name in ("pop_projected", "pop_change_projected"):  # 31 December: the years before each 1 January
            want = sorted({LAST_YEAR + 1, *(y - 1 for y in projected if y > LAST_YEAR + 1)})
        else:
            want = projected if name.endswith("_projected") else [y for y in years if y <= LAST_YEAR]
        out[name] = read_wide(root, name, want, countries, known)
    present = set().union(*(set(f.index) for f in out.values()))
    for name, frame in out.items():
        lacking = sorted(present - set(frame.index))
        if lacking:
            raise file_error(root / TXT[name], f"{len(lacking)} countries present in the other WPP files are "
                             f"missing (M49 {lacking[:10]})", "the file is truncated: fetch it again")
    first = next(iter(out.values()))
    codes = pd.Series(first.index.astype(str), index=first["line"].to_numpy())
    iso3 = to_iso3(codes, file=str(root / TXT[indicators[0]]), column="country_code", kind="m49")
    iso3 = pd.Series(iso3.to_numpy(), index=first.index)
    dropped = iso3.isna()  # a code aliases.csv marks as an aggregate ('-')
    if dropped.any():
        out = {name: frame[~frame.index.isin(iso3.index[dropped])] for name, frame in out.items()}
    out["iso3"] = iso3[~dropped]
    return out


def _long(frame: pd.DataFrame, iso3: pd.Series, name: str) -> pd.Series:
    values = frame.drop(columns="line")
    values.index = iso3.reindex(values.index).to_numpy()
    return values.stack().rename(name).rename_axis(["country", "year"])


def population_txt(root: Path, parts: dict[str, pd.DataFrame], years: list[int] = YEARS) -> pd.DataFrame:
    """Population on 1 January (thousands) rebuilt from PopChange, popprojMed and PopChangeprojMed;
    after LAST_YEAR, popprojMed of the year before (population on 31 December)."""
    first = LAST_YEAR + 1
    end = parts["pop_projected"][first] - parts["pop_change_projected"].reindex(parts["pop_projected"].index)[first]
    change = parts["pop_change"].reindex(end.index)[[y for y in years if y <= LAST_YEAR]]
    # P(1 Jan t) = P(31 Dec LAST) - sum of the changes of the years t..LAST
    later = change.iloc[:, ::-1].cumsum(axis=1).iloc[:, ::-1]
    january = later.rsub(end, axis=0)
    if (january <= 0).to_numpy().any():
        m49 = _first((january <= 0).any(axis=1))
        raise file_error(root / TXT["pop_projected"], f"the population rebuilt for M49 {m49} is not positive",
                         f"{TXT['pop_projected']}, {TXT['pop_change_projected']} and {TXT['pop_change']} must come "
                         "from the same WPP release: fetch them again",
                         row=int(parts["pop_projected"].at[m49, "line"]))
    for year in (y for y in years if y > LAST_YEAR):
        january[year] = end if year == first else parts["pop_projected"][year - 1].reindex(end.index)
    january["line"] = 0
    return january


def indicators_txt(root: Path, names: list[str], years: list[int] = YEARS) -> pd.DataFrame:
    """year, country (ISO3) and the indicators `names` (persons; life expectancy in years) from the text files."""
    files = [n for n in names if n != "population"]
    if "population" in names:
        files += ["pop_change", "pop_projected", "pop_change_projected"]
    if years[-1] > LAST_YEAR:  # the medium-variant projection of the other indicators
        files += [f"{n}_projected" for n in names if n != "population"]
    parts = read_txt(root, files, years)
    series = [_long(population_txt(root, parts, years), parts["iso3"], "population")] if "population" in names else []
    for n in names:
        if n != "population":
            later = parts.get(f"{n}_projected")
            wide = parts[n] if later is None else pd.concat([parts[n].drop(columns="line"), later], axis=1)
            series.append(_long(wide, parts["iso3"], n))
    return _persons(pd.concat(series, axis=1).reset_index(), names)


def _persons(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    for n in names:
        if n in COUNTS:
            frame[n] = (frame[n] * 1000).round()
    frame = frame[["year", "country", *names]]
    return frame.sort_values(["year", "country"], kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# the publisher's Demographic Indicators CSV


def indicators_un_csv(path: Path, names: list[str], years: list[int] = YEARS) -> pd.DataFrame:
    """year, country and the indicators `names` (persons; life expectancy in years) from the UN CSV."""
    wanted = {"LocTypeID", "ISO3_code", "Location", "Time", *(UN_COLUMNS[n] for n in names)}
    raw = read_bytes(path)
    try:
        raw.decode("utf-8")
        encoding = "utf-8-sig"
    except UnicodeDecodeError:
        encoding = "latin-1"  # some UN exports are Latin-1
    frame = _lines(read_csv(path, required=sorted(wanted), data=raw, encoding=encoding,
                            usecols=lambda c: c in wanted, dtype={"ISO3_code": str}, keep_default_na=False))
    loc_type = integers(frame["LocTypeID"], path, "LocTypeID")
    iso = frame["ISO3_code"].str.strip()
    countries = (loc_type == 4) & (iso != "")
    time = integers(frame["Time"], path, "Time")
    rows = countries & time.between(years[0], years[-1])
    out = pd.DataFrame({"year": time[rows]})
    out["country"] = to_iso3(iso[rows], file=str(path), column="ISO3_code", kind="iso3")
    rows &= out["country"].reindex(frame.index).notna()  # codes aliases.csv marks as aggregates ('-')
    out = out[out["country"].notna()]
    for n in names:
        column = UN_COLUMNS[n]
        values = to_number(frame[column], path, column)[rows]
        if values.isna().any():
            line = _first(values.isna())
            raise file_error(path, f"no `{column}` for {frame.at[line, 'Location']!r} in {time[line]}",
                             "the file is truncated or altered: fetch it again", row=line)
        if n in NONNEGATIVE and (values < 0).any():
            line = _first(values < 0)
            raise file_error(path, f"negative `{column}` {values[line]} for {frame.at[line, 'Location']!r} in "
                             f"{time[line]}", f"{column} cannot be negative: fetch the file again", row=line)
        out[n] = values
    duplicated = out.duplicated(["year", "country"])
    if duplicated.any():
        line = _first(duplicated)
        raise file_error(path, f"{out.at[line, 'country']} {out.at[line, 'year']} appears twice (two variants?)",
                         "use the Medium-variant file, one row per location and year", row=line)
    counts = out.groupby("country")["year"].nunique()
    short = counts[counts < len(years)]
    if len(short):
        raise file_error(path, f"{len(short)} countries lack some of the years {years[0]}-{years[-1]} "
                         f"(e.g. {list(short.index[:5])})", "the file is truncated: fetch it again")
    return _persons(out, names)


def indicators(root: Path, names: list[str], years: list[int] = YEARS) -> pd.DataFrame:
    """WPP 2024 indicators per country and year: the publisher's CSV when present, else the text files."""
    path = un_csv(root)
    if path is not None:
        return indicators_un_csv(path, names, years)
    return indicators_txt(root, names, years)


# ---------------------------------------------------------------------------------------------
# long CSVs of the paper's repository (gdp/, gravity/, net_migration/, ucdp/)


def read_long(path: Path, keys: dict[str, str], values: dict[str, str], *, nonnegative: tuple[str, ...] = (),
              flags: tuple[str, ...] = (), allow_missing: tuple[str, ...] = (),
              persons: tuple[str, ...] = ()) -> pd.DataFrame:
    """A long CSV with an unnamed leading pandas index column, `Year` possibly stored as float
    (`1990.0`) and ISO3 country columns. `keys`/`values` map file columns to output names; key
    columns named `year` become integers, the others ISO3 codes. Returns the renamed columns,
    indexed by file line. Raises on a missing column, a non-number, an empty cell (unless allowed),
    a negative value in `nonnegative`, a value other than 0/1 in `flags`, a count in `persons` larger
    than the world's population, an infinite value, a malformed country code and a duplicated key."""
    frame = read_csv(require(path), required=[*keys, *values], keep_default_na=False, na_values=[""],
                     dtype={c: str for c, n in keys.items() if n != "year"})
    frame = _lines(frame.drop(columns=[c for c in frame.columns if re.match(r"^Unnamed: 0", str(c))]))
    out = pd.DataFrame(index=frame.index)
    for column, name in keys.items():
        if name == "year":
            out[name] = integers(frame[column], path, column)
            continue
        text = frame[column]
        if text.isna().any():
            line = _first(text.isna())
            raise file_error(path, f"empty `{column}`", "every row needs an ISO3 code", row=line)
        out[name] = to_iso3(text.str.strip(), file=str(path), column=column, kind="iso3")
    for column, name in values.items():
        numbers = to_number(frame[column], path, column, maximum=WORLD_POPULATION if name in persons else None)
        if name not in allow_missing and numbers.isna().any():
            line = _first(numbers.isna())
            raise file_error(path, f"empty `{column}`", "the file is truncated or altered: fetch it again", row=line)
        if name in nonnegative and (numbers < 0).any():
            line = _first(numbers < 0)
            raise file_error(path, f"`{column}` is negative ({numbers[line]})",
                             f"{column} cannot be negative: correct the cell or fetch the file again", row=line)
        if name in flags and (numbers.notna() & ~numbers.isin([0.0, 1.0])).any():
            line = _first(numbers.notna() & ~numbers.isin([0.0, 1.0]))
            raise file_error(path, f"`{column}` must be 0 or 1, found {numbers[line]}",
                             "correct the cell or fetch the file again", row=line)
        out[name] = numbers
    duplicated = out.duplicated(list(keys.values()))
    if duplicated.any():
        line = _first(duplicated)
        key = ", ".join(f"{k}={out.at[line, k]}" for k in keys.values())
        raise file_error(path, f"{key} appears twice", "keep one row per key", row=line)
    return out

