"""Published-files readers of the covariates: demography, net migration, GDP, gravity, EU membership
and conflict (migration_assets/sources/{demography,net_migration,gdp,gravity,union_membership,
conflict,wpp}.py).

Part (a) builds a tiny bundle with made-up numbers in each publisher's format under tmp_path and
checks values, units, codes, dropped aggregates and every bad-input case; part (b) runs the readers
on the real bundle (skipped when it is absent) and checks the GX suites and known facts.
"""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.io import netcdf_file

from migration_assets.countries import CountryCodeError, known_codes
from migration_assets.quality.gx import contract, coverage, run_suite
from migration_assets.sources import conflict, demography, gdp, gravity, net_migration, union_membership, wpp
from migration_assets.sources.files import SourceFileError
from migration_assets.sources.published import PublishedSource

GDP_CSV = "gdp/GDP_data.csv"  # in the paper's repository beside the netCDF file; not read

YEARS = list(range(1990, 2024))
WITH_PROJECTION = list(range(1990, 2031))  # demography: WPP's estimates, then its medium variant to 2030

# ---------------------------------------------------------------------------------------------
# (a) a tiny bundle in the publishers' formats

# M49, name, location_type (UNlocations.txt): two aggregates, four countries, and the Holy See,
# which is a location but has no row in the WPP data files (as in the real release).
LOCATIONS = [(900, "World", 0), (908, "Europe", 2), (250, "France", 4), (566, "Nigeria", 4), (616, "Poland", 4),
             (412, "Kosovo (under UNSC res. 1244)", 4), (336, "Holy See", 4)]
DATA_ROWS = [loc for loc in LOCATIONS if loc[0] != 336]
ISO = {250: "FRA", 566: "NGA", 616: "POL", 412: "XKX"}
FACTOR = {900: 100.0, 908: 10.0, 250: 1.0, 566: 2.0, 616: 0.5, 412: 0.125}

# values in thousands (three decimals = persons), per M49 and year
PROJ_POP_2024 = {m: 60000.5 * f for m, f in FACTOR.items()}   # population on 31 Dec 2024
PROJ_CHANGE_2024 = {m: 200.25 * f for m, f in FACTOR.items()}  # change during 2024
CHANGE = {m: 100.125 * f for m, f in FACTOR.items()}           # change during each year to 2023


def january(m49: int, year: int) -> float:
    """Population on 1 January, persons, implied by the fixture."""
    return round((PROJ_POP_2024[m49] - PROJ_CHANGE_2024[m49] - CHANGE[m49] * (2024 - year)) * 1000)


def births(m49: int, year: int) -> float:
    return round(700 * FACTOR[m49] + 0.001 * (year - 1990), 3)


def deaths(m49: int, year: int) -> float:
    return round(500 * FACTOR[m49] + 0.002 * (year - 1990), 3)


def e0(m49: int, year: int) -> float:
    return 60 + FACTOR[m49] / 100 + (year - 1990) / 10


def migration(m49: int, year: int) -> float:
    return round(CHANGE[m49] - births(m49, year) + deaths(m49, year), 3)


def write_wide(path: Path, years: list[int], value, last_observed: bool = False) -> None:
    header = ["country_code", "country", *map(str, years)] + (["last.observed"] if last_observed else [])
    lines = ["\t".join(header)]
    for m49, name, _ in DATA_ROWS:
        cells = [str(m49), name, *(repr(float(value(m49, y))) for y in years)] + (["2023"] if last_observed else [])
        lines.append("\t".join(cells))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_wpp_txt(root: Path) -> None:
    folder = root / "wpp" / "wpp2024"
    folder.mkdir(parents=True, exist_ok=True)
    loc = ["name\tcountry_code\treg_code\treg_name\tarea_code\tarea_name\tlocation_type"]
    loc += [f"{name}\t{m49}\t-1\t\t-1\t\t{kind}" for m49, name, kind in LOCATIONS]
    (folder / "UNlocations.txt").write_text("\n".join(loc) + "\n", encoding="utf-8")
    past = list(range(1985, 2024))  # a few years before 1990, which the readers skip
    write_wide(folder / "births.txt", past, births)
    write_wide(folder / "deaths.txt", past, deaths)
    write_wide(folder / "e0B.txt", past, e0, last_observed=True)
    write_wide(folder / "migration.txt", past, migration, last_observed=True)
    write_wide(folder / "PopChange.txt", past, lambda m, y: CHANGE[m])
    future = list(range(2024, 2032))
    write_wide(folder / "popprojMed.txt", future, lambda m, y: PROJ_POP_2024[m] + 10 * (y - 2024))
    write_wide(folder / "PopChangeprojMed.txt", future, lambda m, y: PROJ_CHANGE_2024[m])
    write_wide(folder / "birthsprojMed.txt", future, births)
    write_wide(folder / "deathsprojMed.txt", future, deaths)
    write_wide(folder / "e0Bproj.txt", future, e0)


UN_HEADER = ("SortOrder,LocID,Notes,ISO3_code,ISO2_code,SDMX_code,LocTypeID,LocTypeName,ParentID,Location,VarID,"
             "Variant,Time,TPopulation1Jan,TPopulation1July,TPopulationMale1July,TPopulationFemale1July,PopDensity,"
             "PopSexRatio,MedianAgePop,NatChange,NatChangeRT,PopChange,PopGrowthRate,DoublingTime,Births,Births1519,"
             "CBR,TFR,NRR,MAC,SRB,Deaths,DeathsMale,DeathsFemale,CDR,LEx,LExMale,LExFemale,NetMigrations,CNMR")
UN_ROWS = [  # LocID, ISO3, ISO2, LocTypeID, LocTypeName, Location
    (900, "", "", 1, "World", "World"),
    (908, "", "", 2, "Geographic region", "Europe"),
    (250, "FRA", "FR", 4, "Country/Area", "France"),
    (566, "NGA", "NG", 4, "Country/Area", "Nigeria"),
    (412, "XKX", "XK", 4, "Country/Area", "Kosovo (under UNSC res. 1244)"),
]


def un_value(loc: int, year: int, column: str) -> float:
    base = {"TPopulation1Jan": 5000.123, "Births": 80.5, "Deaths": 40.25, "LEx": 70.5, "NetMigrations": -3.5}[column]
    return round(base * (1 + loc / 1000) + (year - 1990) * 0.001, 3)


def un_csv_text() -> str:
    columns = UN_HEADER.split(",")
    lines = [UN_HEADER]
    for year in range(1989, 2032):  # 1989 and the projections after 2030 are outside the range read
        for i, (loc, iso3, iso2, kind, kind_name, name) in enumerate(UN_ROWS):
            row = dict.fromkeys(columns, "")
            row.update(SortOrder=str(i + 1), LocID=str(loc), ISO3_code=iso3, ISO2_code=iso2, SDMX_code=iso2,
                       LocTypeID=str(kind), LocTypeName=kind_name, ParentID="900", Location=f'"{name}"', VarID="2",
                       Variant="Medium", Time=str(year))
            for column in ["TPopulation1Jan", "Births", "Deaths", "LEx", "NetMigrations"]:
                row[column] = repr(un_value(loc, year, column))
            lines.append(",".join(row[c] for c in columns))
    return "\n".join(lines) + "\n"


def un_expected(loc: int, year: int, column: str) -> float:
    value = un_value(loc, year, column)
    return value if column == "LEx" else round(value * 1000)


COVARIATE_COUNTRIES = ["DZA", "FRA", "NGA"]


def paper_csv(path: Path, frame: pd.DataFrame) -> None:
    """Write like the paper's repository: pandas index as an unnamed first column."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path)


def country_years(value_name: str, value, float_year: bool = False) -> pd.DataFrame:
    rows = [(float(y) if float_year else y, c, value(c, y)) for y in YEARS for c in COVARIATE_COUNTRIES]
    return pd.DataFrame(rows, columns=["Year", "Country ISO", value_name])


def gdp_value(country: str, year: int) -> float:
    return {"DZA": 4000.0, "FRA": 35000.0, "NGA": 2000.0}[country] + (year - 1990) * 10.5


def growth_value(country: str, year: int) -> float:
    return {"DZA": 2.5, "FRA": -1.25, "NGA": 3.0}[country]


COLONY = {("DZA", "FRA")}  # Algeria was a colony of France


def write_paper_files(root: Path) -> None:
    nat = pd.DataFrame([(float(y), c, v) for y in YEARS for c, v in [("FRA", 1234.0), ("POL", -999.0)]],
                       columns=["Year", "Country ISO", "Net Number of Migrants"])
    paper_csv(root / net_migration.NATIONAL, nat)
    paper_csv(root / net_migration.WPP_CSV,
              pd.DataFrame([(float(y), iso, 1000.0 * round(migration(m, y))) for y in range(1950, 2025)
                            for m, iso in ISO.items()] + [(float(y), "VAT", 0.0) for y in range(1950, 2025)],
                           columns=["Year", "Country ISO", "Net Number of Migrants"]))
    paper_csv(root / conflict.UCDP, country_years("Conflict deaths", lambda c, y: 7.0 if c == "NGA" else 0.0))
    paper_csv(root / union_membership.EU, country_years("EU", lambda c, y: 1.0 if c == "FRA" else 0.0))
    pairs = [(o, d) for o in COVARIATE_COUNTRIES for d in COVARIATE_COUNTRIES]
    values = {
        "gravity/dist.csv": ("distw_harmonic", lambda o, d: 0.0 if o == d else 1000.0 + len(o + d) * ord(o[0]) * ord(d[0]) % 997),
        "gravity/lang.csv": ("csl", lambda o, d: 1.5 if o == d else (0.75 if "FRA" in (o, d) else 0.0)),
        "gravity/relig.csv": ("Religious similarity", lambda o, d: 1.0 if o == d else 0.25),
        "gravity/col.csv": ("colony_of_destination_ever", lambda o, d: 1.0 if (o, d) in COLONY else 0.0),
    }
    for name, (column, value) in values.items():
        paper_csv(root / name, pd.DataFrame([(o, d, value(o, d)) for o, d in pairs],
                                            columns=["Origin ISO", "Destination ISO", column]))
    # GDP: the gap-filled netCDF, and the CSV with a gap that is never read
    years = list(range(1985, 2024))
    csv = pd.DataFrame([(y, c, gdp_value(c, y), growth_value(c, y)) for y in years for c in COVARIATE_COUNTRIES],
                       columns=["Year", "Country ISO", "GDP/capita (2015 USD)", "GDP % annual growth"])
    csv.loc[(csv["Country ISO"] == "DZA") & (csv["Year"] == 2000), ["GDP/capita (2015 USD)", "GDP % annual growth"]] = np.nan
    paper_csv(root / GDP_CSV, csv)
    write_gdp_netcdf(root / gdp.NETCDF, years)


def write_gdp_netcdf(path: Path, years: list[int], per_capita=gdp_value) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    f = netcdf_file(path, "w")
    f.createDimension("Year", len(years))
    f.createDimension("Country ISO", len(COVARIATE_COUNTRIES))
    f.createDimension("string3", 3)
    f.createVariable("Year", "i", ("Year",))[:] = years
    f.createVariable("Country ISO", "c", ("Country ISO", "string3"))[:] = np.array(
        [[ch.encode() for ch in c] for c in COVARIATE_COUNTRIES])
    f.createVariable("GDP/capita (2015 USD)", "d", ("Year", "Country ISO"))[:] = [
        [per_capita(c, y) for c in COVARIATE_COUNTRIES] for y in years]
    f.createVariable("GDP % annual growth", "d", ("Year", "Country ISO"))[:] = [
        [growth_value(c, y) for c in COVARIATE_COUNTRIES] for y in years]
    f.createVariable("GDP deflator", "d", ("Year", "Country ISO"))[:] = np.nan
    f.close()


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    root = tmp_path / "raw"
    write_wpp_txt(root)
    write_paper_files(root)
    return root


def edit_line(path: Path, line: int, edit) -> None:
    """Replace line `line` (1-based) of a text file by edit(old_line)."""
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[line - 1] = edit(lines[line - 1])
    path.write_text("\n".join(lines), encoding="utf-8")


def set_cell(path: Path, line: int, column: str, value: str, sep: str = ",") -> None:
    header = path.read_text(encoding="utf-8").split("\n")[0].split(sep)
    position = header.index(column)

    def edit(old: str) -> str:
        cells = old.split(sep)
        cells[position] = value
        return sep.join(cells)

    edit_line(path, line, edit)


def assert_names(err: pytest.ExceptionInfo, path: Path, line: int | None = None, word: str = "line") -> None:
    message = str(err.value)
    assert str(path) in message, message
    assert "Fix:" in message, message
    if line is not None:
        assert f"{word} {line}" in message, message


# --- values, units, codes, dropped aggregates


def test_demography_from_wpp_text_files(tiny):
    frame = demography.read(tiny)
    assert list(frame.columns) == demography.TABLE.column_names
    assert sorted(frame["country"].unique()) == ["FRA", "NGA", "POL", "XKX"]  # aggregates and Holy See absent
    assert sorted(frame["year"].unique()) == WITH_PROJECTION
    got = frame.set_index(["country", "year"])
    # after WPP's last estimate (2023), its medium variant, flagged: 1 January t = popprojMed of t - 1
    assert (got["projected"] == (got.index.get_level_values("year") > 2023)).all()
    assert got.loc[("FRA", 2024), "population"] == january(250, 2024)
    assert got.loc[("NGA", 2027), "population"] == round((PROJ_POP_2024[566] + 20) * 1000)
    assert got.loc[("POL", 2030), "births"] == round(births(616, 2030) * 1000)
    assert got.loc[("XKX", 2025), "life_expectancy"] == pytest.approx(e0(412, 2025))
    got = got[got["projected"] == 0]
    for m49, iso in ISO.items():
        for year in [1990, 2005, 2023]:
            row = got.loc[(iso, year)]
            assert row["population"] == january(m49, year)  # persons on 1 January, rebuilt backwards
            assert row["births"] == round(births(m49, year) * 1000)
            assert row["deaths"] == round(deaths(m49, year) * 1000)
            assert row["life_expectancy"] == pytest.approx(e0(m49, year))
    assert got.loc[("FRA", 2023), "population"] == pytest.approx((60000.5 - 200.25 - 100.125) * 1000)
    assert got.loc[("FRA", 1990), "population"] == 56_396_000  # (60000.5 - 200.25 - 34 x 100.125) thousand
    # consecutive 1 January values differ by the year's change
    fra = got.loc["FRA", "population"]
    assert (fra.diff().dropna() == 100_125).all()


def test_demography_prefers_the_publishers_csv(tiny):
    path = tiny / wpp.UN_CSV[0]
    path.write_text(un_csv_text(), encoding="utf-8")
    frame = demography.read(tiny).set_index(["country", "year"])
    assert sorted(frame.index.get_level_values(0).unique()) == ["FRA", "NGA", "XKX"]  # World, Europe dropped
    assert sorted(frame.index.get_level_values(1).unique()) == WITH_PROJECTION  # 1989 and after 2030 dropped
    assert frame.loc[("NGA", 2030), "births"] == un_expected(566, 2030, "Births")
    assert frame.loc[("NGA", 2030), "projected"] == 1 and frame.loc[("NGA", 2023), "projected"] == 0
    assert frame.loc[("FRA", 2000), "population"] == un_expected(250, 2000, "TPopulation1Jan")
    assert frame.loc[("NGA", 1990), "births"] == un_expected(566, 1990, "Births")
    assert frame.loc[("XKX", 2023), "deaths"] == un_expected(412, 2023, "Deaths")
    assert frame.loc[("FRA", 2010), "life_expectancy"] == pytest.approx(un_value(250, 2010, "LEx"))
    # and the same from the gzipped download
    path.rename(tiny / wpp.UN_CSV[1])
    (tiny / wpp.UN_CSV[1]).write_bytes(gzip.compress(un_csv_text().encode()))
    again = demography.read(tiny).set_index(["country", "year"])
    pd.testing.assert_frame_equal(again, frame)
    # net migration takes WPP from the same file
    net = net_migration.read(tiny).set_index(["country", "year"])["net_migration"]
    assert net[("NGA", 2001)] == un_expected(566, 2001, "NetMigrations")


def test_net_migration_national_wins_except_poland(tiny):
    frame = net_migration.read(tiny)
    assert list(frame.columns) == net_migration.TABLE.column_names
    assert len(frame) == 4 * len(YEARS) and not frame.duplicated(["year", "country"]).any()
    got = frame.set_index(["country", "year"])["net_migration"]
    assert (got["FRA"] == 1234.0).all()  # national statistics
    assert got[("POL", 2000)] == round(migration(616, 2000) * 1000)  # national POL dropped for WPP
    assert got[("NGA", 1995)] == round(migration(566, 1995) * 1000)  # WPP, thousands -> persons
    assert got[("XKX", 2023)] == round(migration(412, 2023) * 1000)
    origin = net_migration.net_migration_origin(tiny).set_index("country")["source"]
    assert origin.to_dict() == {"FRA": "national statistics", "NGA": "UN WPP 2024", "POL": "UN WPP 2024",
                                "XKX": "UN WPP 2024"}


def test_net_migration_falls_back_to_the_rounded_wpp_csv(tiny):
    (tiny / wpp.TXT["net_migration"]).unlink()
    got = net_migration.read(tiny).set_index(["country", "year"])["net_migration"]
    assert got[("NGA", 1995)] == 1000.0 * round(migration(566, 1995))
    assert got[("VAT", 1990)] == 0.0
    assert sorted(got.index.get_level_values(1).unique()) == YEARS


def test_gdp_reads_the_gap_filled_netcdf_and_never_falls_back_to_the_csv(tiny):
    frame = gdp.read(tiny)
    assert list(frame.columns) == gdp.TABLE.column_names
    assert sorted(frame["year"].unique()) == YEARS and len(frame) == 3 * len(YEARS)
    got = frame.set_index(["country", "year"])
    assert got.loc[("DZA", 2000), "gdp_per_capita"] == gdp_value("DZA", 2000)
    assert got.loc[("FRA", 1990), "gdp_growth"] == -1.25
    (tiny / gdp.NETCDF).unlink()  # the CSV beside it has gaps: a missing netCDF file is an error, not a fallback
    with pytest.raises(SourceFileError) as err:
        gdp.read(tiny)
    assert "file not found" in str(err.value) and gdp.NETCDF in str(err.value)


def test_gravity_drops_the_diagonal_and_keeps_orientation(tiny):
    frame = gravity.read(tiny)
    assert list(frame.columns) == gravity.TABLE.column_names
    assert len(frame) == 6 and not (frame["origin"] == frame["destination"]).any()
    got = frame.set_index(["origin", "destination"])
    assert got.loc[("DZA", "FRA"), "colonial_tie"] == 1.0  # Algeria was a colony of France
    assert got.loc[("FRA", "DZA"), "colonial_tie"] == 0.0
    assert got.loc[("NGA", "FRA"), "common_language"] == 0.75
    assert got.loc[("NGA", "DZA"), "religious_similarity"] == 0.25
    assert (got["distance_km"] > 0).all()


def test_union_membership_and_conflict(tiny):
    eu = union_membership.read(tiny).set_index(["country", "year"])["member"]
    assert len(eu) == 3 * len(YEARS) and eu[("FRA", 1990)] == 1.0 and eu[("DZA", 2023)] == 0.0
    deaths_ = conflict.read(tiny).set_index(["country", "year"])["conflict_deaths"]
    assert deaths_[("NGA", 2010)] == 7.0 and deaths_[("FRA", 2010)] == 0.0
    assert deaths_.index.get_level_values(1).dtype == np.int64


# --- bad inputs

READERS = [demography.read, net_migration.read, gdp.read, gravity.read, union_membership.read, conflict.read]


@pytest.mark.parametrize("reader", READERS, ids=lambda r: r.__module__.rsplit(".", 1)[1])
def test_missing_file(tmp_path, reader):
    with pytest.raises(SourceFileError) as err:
        reader(tmp_path)
    assert "file not found" in str(err.value) and str(tmp_path) in str(err.value) and "Fix:" in str(err.value)


# (reader, file, line, edit of that line, expected words in the message)
def _cut(line: str) -> str:
    return line[: len(line) // 2]


TEXT_CASES = {
    # truncated: the last data row cut in the middle
    "wpp truncated": (demography.read, wpp.TXT["births"], 7, _cut, "no value"),
    "wpp malformed row": (demography.read, wpp.TXT["deaths"], 4, lambda s: s + "\t1\t2\t3", "cannot be parsed"),
    "wpp not a number": (demography.read, wpp.TXT["life_expectancy"], 5,
                         lambda s: "\t".join(s.split("\t")[:10] + ["x1"] + s.split("\t")[11:]), "not numbers"),
    "wpp negative births": (demography.read, wpp.TXT["births"], 4,
                            lambda s: "\t".join(s.split("\t")[:12] + ["-5.0"] + s.split("\t")[13:]), "negative"),
    "paper truncated": (conflict.read, conflict.UCDP, 103, _cut, "empty"),
    "paper not a number": (union_membership.read, union_membership.EU, 10,
                           lambda s: ",".join(s.split(",")[:3] + ["yes"]), "not numbers"),
    "paper negative": (conflict.read, conflict.UCDP, 50, lambda s: ",".join(s.split(",")[:3] + ["-3.0"]), "negative"),
    "paper not a flag": (union_membership.read, union_membership.EU, 12, lambda s: ",".join(s.split(",")[:3] + ["2.0"]),
                         "0 or 1"),
    "national fractional year": (net_migration.read, net_migration.NATIONAL, 6,
                               lambda s: ",".join([s.split(",")[0], "1990.5"] + s.split(",")[2:]), "whole numbers"),
    "gravity negative": (gravity.read, "gravity/relig.csv", 3, lambda s: ",".join(s.split(",")[:3] + ["-0.5"]),
                         "negative"),
    "gravity malformed": (gravity.read, "gravity/lang.csv", 4, lambda s: s + ",1,2", "cannot be parsed"),
    "duplicate key": (conflict.read, conflict.UCDP, 3, lambda s: ",".join(["1"] + s.split(",")[1:2] + ["DZA"] +
                                                                         s.split(",")[3:]), "twice"),
}


@pytest.mark.parametrize("case", list(TEXT_CASES))
def test_bad_cell(tiny, case):
    reader, name, line, edit, words = TEXT_CASES[case]
    path = tiny / name
    edit_line(path, line, edit)
    with pytest.raises(SourceFileError) as err:
        reader(tiny)
    assert words in str(err.value)
    assert_names(err, path, line)


def test_wpp_country_missing_from_one_file(tiny):
    path = tiny / wpp.TXT["deaths"]
    lines = path.read_text().split("\n")
    path.write_text("\n".join(lines[:-2]) + "\n")  # the last country's row is lost
    with pytest.raises(SourceFileError) as err:
        demography.read(tiny)
    assert "missing" in str(err.value)
    assert_names(err, path)


@pytest.mark.parametrize("name,column", [(wpp.TXT["births"], "1999"), (wpp.LOCATIONS, "location_type"),
                                         (conflict.UCDP, "Conflict deaths"), ("gravity/col.csv", "Origin ISO"),
                                         (net_migration.NATIONAL, "Net Number of Migrants")])
def test_missing_column(tiny, name, column):
    path = tiny / name
    sep = "\t" if name.endswith(".txt") else ","
    edit_line(path, 1, lambda s: sep.join("renamed" if c == column else c for c in s.split(sep)))
    reader = {"wpp": demography.read, "ucdp": conflict.read, "gravity": gravity.read,
              "net_migration": net_migration.read}[name.split("/")[0]]
    with pytest.raises(SourceFileError) as err:
        reader(tiny)
    assert "missing column" in str(err.value) and column in str(err.value)
    assert_names(err, path, 1)


def test_unknown_m49_code(tiny):
    # a code UNlocations calls a country but no mapping knows
    loc = tiny / wpp.LOCATIONS
    loc.write_text(loc.read_text() + "Atlantis\t898\t-1\t\t-1\t\t4\n")
    for name in ["births", "deaths", "life_expectancy", "pop_change", "pop_projected", "pop_change_projected",
                 "births_projected", "deaths_projected", "life_expectancy_projected"]:
        path = tiny / wpp.TXT[name]
        first = path.read_text().split("\n")[3].split("\t")
        path.write_text(path.read_text() + "\t".join(["898", "Atlantis", *first[2:]]) + "\n")
    with pytest.raises(CountryCodeError) as err:
        demography.read(tiny)
    assert "898" in str(err.value)
    assert_names(err, tiny / wpp.TXT["births"], 8, word="row")


def test_wpp_code_not_in_unlocations(tiny):
    path = tiny / wpp.TXT["births"]
    edit_line(path, 3, lambda s: s.replace("908\t", "907\t", 1))
    with pytest.raises(SourceFileError) as err:
        demography.read(tiny)
    assert "907" in str(err.value)
    assert_names(err, path, 3)


@pytest.mark.parametrize("reader,name,line", [(conflict.read, conflict.UCDP, 4),
                                              (gravity.read, "gravity/dist.csv", 6),
                                              (net_migration.read, net_migration.NATIONAL, 2)])
def test_unknown_iso3_code(tiny, reader, name, line):
    path = tiny / name
    edit_line(path, line, lambda s: s.replace(s.split(",")[2], "X1Z", 1))
    with pytest.raises(CountryCodeError) as err:
        reader(tiny)
    assert "X1Z" in str(err.value)
    assert_names(err, path, line, word="row")


def test_un_csv_bad_inputs(tiny):
    path = tiny / wpp.UN_CSV[0]
    path.write_text(un_csv_text())
    # a non-number: line 2 + 5 locations (1989) + 2 (1990 France)
    set_cell(path, 9, "Births", "n/a")
    with pytest.raises(SourceFileError) as err:
        demography.read(tiny)
    assert_names(err, path, 9)
    path.write_text(un_csv_text())
    set_cell(path, 10, "TPopulation1Jan", "-1.0")
    with pytest.raises(SourceFileError) as err:
        demography.read(tiny)
    assert "negative" in str(err.value)
    assert_names(err, path, 10)
    path.write_text(un_csv_text())
    set_cell(path, 11, "ISO3_code", "K0S")
    with pytest.raises(CountryCodeError) as err:
        demography.read(tiny)
    assert_names(err, path, 11, word="row")
    path.write_text(un_csv_text().replace("TPopulation1Jan", "TPop1Jan"))
    with pytest.raises(SourceFileError) as err:
        demography.read(tiny)
    assert "TPopulation1Jan" in str(err.value)
    assert_names(err, path, 1)
    # truncated: the file stops inside 2005
    text = un_csv_text()
    cut = text.index('"France",2,Medium,2005,') + 30  # inside France's 2005 row, in TPopulation1Jan
    path.write_text(text[:cut])
    with pytest.raises(SourceFileError) as err:
        demography.read(tiny)
    assert_names(err, path)
    # a truncated gzip download
    path.unlink()
    gz = tiny / wpp.UN_CSV[1]
    data = gzip.compress(un_csv_text().encode())
    gz.write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceFileError) as err:
        demography.read(tiny)
    assert "gzip" in str(err.value)
    assert_names(err, gz)


def test_gdp_netcdf_bad_inputs(tiny):
    path = tiny / gdp.NETCDF
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceFileError) as err:
        gdp.read(tiny)
    assert "netCDF" in str(err.value)
    assert_names(err, path)
    path.write_bytes(b"<html>not found</html>")
    with pytest.raises(SourceFileError) as err:
        gdp.read(tiny)
    assert_names(err, path)
    write_gdp_netcdf(path, YEARS, per_capita=lambda c, y: -5.0 if (c, y) == ("NGA", 2001) else 100.0)
    with pytest.raises(SourceFileError) as err:
        gdp.read(tiny)
    assert "NGA" in str(err.value) and "2001" in str(err.value)
    assert_names(err, path)
    path.unlink()
    f = netcdf_file(path, "w")
    f.createDimension("Year", 2)
    f.createVariable("Year", "i", ("Year",))[:] = [1990, 1991]
    f.close()
    with pytest.raises(SourceFileError) as err:
        gdp.read(tiny)
    assert "missing variable" in str(err.value)
    assert_names(err, path)


def test_gravity_pair_missing_from_one_file(tiny):
    path = tiny / "gravity/col.csv"
    lines = path.read_text().split("\n")
    path.write_text("\n".join(lines[:4] + lines[5:]))  # FRA -> DZA lost
    with pytest.raises(SourceFileError) as err:
        gravity.read(tiny)
    assert "missing" in str(err.value)
    assert_names(err, path)


# ---------------------------------------------------------------------------------------------
# (b) the real bundle

MODULES = {"demography": demography, "net_migration": net_migration, "gdp": gdp, "gravity": gravity,
           "union_membership": union_membership, "conflict": conflict}
CODES = {"gravity": ["origin", "destination"]}


@pytest.fixture(scope="module")
def real(bundle) -> dict[str, pd.DataFrame]:
    out = {}
    for name, module in MODULES.items():
        start = time.perf_counter()
        out[name] = module.read(bundle)
        assert time.perf_counter() - start < 20, f"{name} took too long"
    return out


@pytest.mark.parametrize("name", list(MODULES))
def test_bundle_passes_its_suite(real, name):
    module = MODULES[name]
    table = module.TABLE
    frame = table.conform(real[name])
    pd.testing.assert_frame_equal(frame, real[name])
    fix = f"give {module.FILES} exactly the columns {table.column_names}"
    codes = CODES.get(name, ["country"])
    result = run_suite(f"raw_{name}", frame, contract(table.column_names, list(table.key), codes, fix, known_codes())
                       + coverage(module.COVERAGE, codes) + module.expectations(), key=table.key)
    assert not result.critical, result.markdown()


def test_bundle_demography(real, bundle):
    d = real["demography"]
    assert len(d) == 236 * 41 and d["country"].nunique() == 236
    assert sorted(d["year"].unique()) == WITH_PROJECTION and (d["projected"] == (d["year"] > 2023)).all()
    assert {"XKX", "GGY", "JEY", "BLM", "MAF"} <= set(d["country"]) and "VAT" not in set(d["country"])
    assert not d.isna().any().any()
    # the mean of consecutive 1 January populations is WPP's mid-year population (WDI SP.POP.TOTL)
    wdi = pd.read_csv(bundle / "wdi/wdi_hdr_2025-10-13.csv", usecols=["Country Code", "year", "population"])
    wdi = wdi.set_index(["Country Code", "year"])["population"]
    pop = d.set_index(["country", "year"])["population"]
    for country in ["IND", "NGA", "ARG"]:
        for year in [1990, 2000, 2022]:
            mid = (pop[(country, year)] + pop[(country, year + 1)]) / 2
            assert mid == pytest.approx(wdi[(country, year)], rel=0.005)
    assert 1.4e9 < pop[("IND", 2023)] < 1.45e9  # persons, not thousands


def test_bundle_net_migration(real, bundle):
    n = real["net_migration"]
    assert len(n) == 236 * 34 and not n.duplicated(["year", "country"]).any()
    origin = net_migration.net_migration_origin(bundle).set_index("country")["source"]
    national = set(origin[origin == "national statistics"].index)
    assert len(national) == 29 and "POL" not in national and {"USA", "DEU", "TWN"} <= national
    got = n.set_index(["country", "year"])["net_migration"]
    nat = pd.read_csv(bundle / net_migration.NATIONAL, index_col=0)
    usa = nat[(nat["Country ISO"] == "USA") & (nat["Year"] == 2010.0)]["Net Number of Migrants"].iloc[0]
    assert got[("USA", 2010)] == usa
    wide = pd.read_csv(bundle / wpp.TXT["net_migration"], sep="\t").set_index("country_code")
    assert got[("POL", 2000)] == round(wide.at[616, "2000"] * 1000)
    assert got[("IND", 2015)] == round(wide.at[356, "2015"] * 1000)


def test_bundle_covariates(real):
    g, eu, ucdp, gravity_ = real["gdp"], real["union_membership"], real["conflict"], real["gravity"]
    for frame in [g, eu, ucdp]:
        assert len(frame) == 7854 and frame["country"].nunique() == 231
    assert set(g["country"]) == set(eu["country"]) == set(ucdp["country"]) == set(gravity_["origin"])
    assert not g[["gdp_per_capita", "gdp_growth"]].isna().any().any()  # the netCDF is gap-filled
    assert g.set_index(["country", "year"]).at[("USA", 2015), "gdp_per_capita"] == pytest.approx(57040.2, rel=1e-4)
    assert len(gravity_) == 231 * 230
    pairs = gravity_.set_index(["origin", "destination"])
    assert pairs.at[("IND", "GBR"), "colonial_tie"] == 1 and pairs.at[("GBR", "IND"), "colonial_tie"] == 0
    assert gravity_["colonial_tie"].sum() == 254
    members = eu.groupby("year")["member"].sum()
    assert members[1990] == 12 and members[2013] == 28 and members[2023] == 27
    flags = eu.set_index(["country", "year"])["member"]
    assert flags[("GBR", 2019)] == 1 and flags[("GBR", 2020)] == 0
    assert ucdp.set_index(["country", "year"]).at[("RWA", 1994), "conflict_deaths"] == 772463


def test_published_source_reads_these_tables(bundle):
    source = PublishedSource(root=str(bundle))
    assert len(source.table("conflict")) == 7854
    assert str(bundle / "wpp/wpp2024/PopChange.txt") in source.origin("demography")
