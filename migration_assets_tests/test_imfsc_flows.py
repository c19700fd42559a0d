"""The UN DESA flows workbooks (observed_flows/un_imfsc_2015): reader on small workbooks written here in
the publisher's layout (made-up numbers), broken inputs, and the real bundle (skipped without it)."""

import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from migration_assets.countries import CountryCodeError
from migration_assets.quality.gx import contract, run_suite
from migration_assets.schemas import RAW
from migration_assets.sources import imfsc_flows
from migration_assets.sources.files import SourceFileError

TABLE = RAW["imfsc_flows"]
YEARS = range(1980, 2014)
HEADER = ["Type", "Coverage", "OdName", "AREA", "AreaName", "REG", "RegName", "DEV", "DevName", *YEARS]
FIRST = 22  # worksheet row of the first data row, below 20 title rows and the header


def titles(reporter: str, criterion: str) -> list:
    """Rows 1-20 as in the UN workbooks (empty rows included)."""
    rows = [None] * 20
    rows[4:7] = ["United Nations", "Population Division", "Department of Economic and Social Affairs"]
    rows[8] = "International Migration Flows to and from Selected Countries: The 2015 Revision"
    rows[10] = "POP/DB/MIG/Flow/Rev.2015"
    rows[12] = "Suggested citation: United Nations, Department of Economic and Social Affairs, Population Division."
    rows[16], rows[17] = f"Reporting country: {reporter}", f"Criterion: {criterion}"
    rows[19] = "Classification"
    return rows


def write_workbook(path: Path, reporter: str, sheets: dict[str, tuple[str, list]]) -> None:
    """sheets: name -> (criterion, [(Type, Coverage, OdName, {year: cell})]); unlisted years are `..`. A
    `Regions by <criterion>` sheet with aggregates (to be skipped) precedes each country sheet."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, (criterion, rows) in sheets.items():
        regions = book.create_sheet(f"Regions by {criterion}")
        for line in [*titles(reporter, criterion), ["Type", "Coverage", "AreaName", "RegName", *YEARS]]:
            regions.append(line if isinstance(line, list) else [line])
        regions.append(["Immigrants", "Both", "Europe", "Western Europe", *[999] * len(YEARS)])
        sheet = book.create_sheet(name)
        for line in [*titles(reporter, criterion), HEADER]:
            sheet.append(line if isinstance(line, list) else [line])
        for kind, coverage, od, cells in rows:
            sheet.append([kind, coverage, od, 908, "Europe", 926, "Western Europe", 901, "Developed regions",
                          *[cells.get(y, "..") for y in YEARS]])
        for _ in range(3):  # formatted empty rows below the data, as in the UN files
            sheet.append([None] * len(HEADER))
    book.save(path)


AUSTRIA = {
    "Austria by Residence": ("Residence", [
        ("Emigrants", "Both", "Italy", {1980: 5, 2013: 7}),  # row 22
        ("Emigrants", "Both", "Total", {1980: 50, 2013: 70}),
        ("Emigrants", "Both", "Unknown", {1980: 45}),
        ("Immigrants", "Both", "Germany", {2000: 100, 2001: 0, 2003: None}),  # row 25; 2002 is `..`
        ("Immigrants", "Both", "Austria", {2000: 3}),  # the reporter itself
        ("Immigrants", "Both", "Stateless", {2000: 2}),
        ("Immigrants", "Both", "Total", {2000: 105}),
        ("Immigrants", "Foreigners", "Germany", {2000: 60}),  # Both is given: not read
    ]),
    "Austria by Citizenship": ("Citizenship", [
        ("Emigrants", "Foreigners", "Turkey", {2010: 12}),  # no Both rows for emigrants
        ("Emigrants", "Foreigners", "Total", {2010: 12}),
        ("Emigrants", "Citizens", "Austria", {2010: 30}),
        ("Immigrants", "Both", "Total", {2010: 300}),  # Both only as a total, as in the UN files
        ("Immigrants", "Citizens", "Austria", {2010: 200}),
        ("Immigrants", "Foreigners", "Germany", {2010: 60}),
        ("Immigrants", "Foreigners", "Serbia and Montenegro", {1995: 8}),
        ("Immigrants", "Foreigners", "Total", {2010: 100}),
    ]),
}
NEW_ZEALAND = {"NZ by Residence": ("Residence", [
    ("Emigrants", "Citizens", "Australia", {1990: 40}),
    ("Immigrants", "Both", "New Zealand", {1990: 1}),  # Both names no other country: Foreigners is read
    ("Immigrants", "Foreigners", "China (including Hong Kong Special Administrative Region)", {1990: 9}),
    ("Immigrants", "Foreigners", "Total", {1990: 9}),
])}
USA = {"USA by Place of birth": ("Place Of Birth", [
    ("Immigrants", "Foreigners", "Mexico", {2011: 1000, 2012: "D", 2013: "-"}),  # US markers: not reported
    ("Immigrants", "Foreigners", "Unknown", {2011: 5}),
])}

EXPECTED = [  # sorted by source, year, destination, origin
    (2011, "MEX", "USA", 1000.0, "imfsc_birth_immigrants_foreigners"),
    (2010, "AUT", "TUR", 12.0, "imfsc_citizenship_emigrants_foreigners"),
    (1995, "SCG", "AUT", 8.0, "imfsc_citizenship_immigrants_foreigners"),
    (2010, "DEU", "AUT", 60.0, "imfsc_citizenship_immigrants_foreigners"),
    (1980, "AUT", "ITA", 5.0, "imfsc_residence_emigrants"),
    (2013, "AUT", "ITA", 7.0, "imfsc_residence_emigrants"),
    (1990, "NZL", "AUS", 40.0, "imfsc_residence_emigrants_citizens"),
    (2000, "DEU", "AUT", 100.0, "imfsc_residence_immigrants"),
    (2001, "DEU", "AUT", 0.0, "imfsc_residence_immigrants"),
    (1990, "CHN", "NZL", 9.0, "imfsc_residence_immigrants_foreigners"),
]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / imfsc_flows.FOLDER
    folder.mkdir(parents=True)
    write_workbook(folder / "Austria.xlsx", "Austria", AUSTRIA)
    write_workbook(folder / "nz download.xlsx", "New Zealand", NEW_ZEALAND)  # any file name
    write_workbook(folder / "USA.xlsx", "United States of America", USA)
    return tmp_path


def _set(path: Path, sheet: str, row: int, column: int, value) -> None:
    book = openpyxl.load_workbook(path)
    book[sheet].cell(row, column).value = value
    book.save(path)


def _year_column(year: int) -> int:
    return HEADER.index(year) + 1


def test_reader_sides_criteria_coverage_and_markers(root: Path) -> None:
    frame = imfsc_flows.read(root)
    expected = TABLE.conform(pd.DataFrame(EXPECTED, columns=TABLE.column_names))
    pd.testing.assert_frame_equal(frame, expected)


def test_an_identical_copy_of_a_workbook_is_read_once(root: Path) -> None:
    folder = root / imfsc_flows.FOLDER
    shutil.copy(folder / "Austria.xlsx", folder / "Austria (1).xlsx")
    expected = TABLE.conform(pd.DataFrame(EXPECTED, columns=TABLE.column_names))
    pd.testing.assert_frame_equal(imfsc_flows.read(root), expected)


AT = f"{imfsc_flows.FOLDER}/Austria.xlsx"
RES, CIT = "Austria by Residence", "Austria by Citizenship"


def _copy_with_other_figure(root: Path) -> None:
    folder = root / imfsc_flows.FOLDER
    shutil.copy(folder / "Austria.xlsx", folder / "Austria 2015.xlsx")
    _set(folder / "Austria 2015.xlsx", RES, FIRST, _year_column(1980), 6)


BAD = [  # id, mutate(root), error, file, sheet, line, words
    ("negative", lambda r: _set(r / AT, RES, 25, _year_column(2000), -5), SourceFileError, AT, RES, "line 25",
     "negative"),
    ("text", lambda r: _set(r / AT, CIT, 27, _year_column(2010), "60 persons"), SourceFileError, AT, CIT, "line 27",
     "not numbers"),
    ("unknown-name", lambda r: _set(r / AT, RES, FIRST, 3, "Atlantis"), CountryCodeError, AT, RES, "row 22",
     "aliases.csv"),
    ("no-header-row", lambda r: _set(r / AT, CIT, 21, 1, "Kind"), SourceFileError, AT, CIT, None, "no header row"),
    ("repeated-row", lambda r: _set(r / AT, RES, 23, 3, "Italy"), SourceFileError, AT, RES, "line 23", "given twice"),
    ("two-figures", _copy_with_other_figure, SourceFileError, AT, RES, "line 22", "AUT -> ITA in 1980"),
]


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_bad_input_names_file_sheet_row_and_fix(root: Path, case) -> None:
    _, mutate, error, rel, sheet, line, words = case
    mutate(root)
    with pytest.raises(error) as info:
        imfsc_flows.read(root)
    message = str(info.value)
    for part in [str(root / rel), f"sheet {sheet!r}", "Fix:", words, *([line] if line else [])]:
        assert part in message, message


def test_empty_folder_says_how_to_fetch(root: Path) -> None:
    for path in (root / imfsc_flows.FOLDER).glob("*.xlsx"):
        path.unlink()
    with pytest.raises(SourceFileError, match="migration-fetch --only 'observed_flows/un_imfsc_2015/\\*'"):
        imfsc_flows.read(root)


# ---------------------------------------------------------------------------------------------
# the real bundle

ROWS = {  # rows per source on the bundle
    "imfsc_birth_immigrants_foreigners": 6_494,
    "imfsc_citizenship_emigrants_foreigners": 74_194,
    "imfsc_citizenship_immigrants_foreigners": 87_588,
    "imfsc_residence_emigrants": 73_640,
    "imfsc_residence_emigrants_foreigners": 7_650,
    "imfsc_residence_immigrants": 84_633,
    "imfsc_residence_immigrants_foreigners": 7_650,
}


@pytest.fixture(scope="module")
def real(bundle: Path) -> pd.DataFrame:
    frame = imfsc_flows.read(bundle)
    immigrants = frame["source"].str.contains("_immigrants")
    return frame.assign(reporter=frame["destination"].where(immigrants, frame["origin"]))


def test_real_bundle_reporters_years_and_sources(bundle: Path, real: pd.DataFrame) -> None:
    folder = bundle / imfsc_flows.FOLDER
    assert sorted(str(p.relative_to(bundle)) for p in folder.glob("*.xlsx")) == sorted(imfsc_flows.FILES)
    assert len(imfsc_flows.FILES) == 45
    # 44 reporters give bilateral figures; France only its totals (Total and Unknown rows)
    assert real["reporter"].nunique() == 44 and "FRA" not in set(real["reporter"])
    assert imfsc_flows.read_workbook(folder / "France.xlsx").empty
    assert (real["year"].min(), real["year"].max()) == (1980, 2013)
    assert real.groupby("source").size().to_dict() == ROWS
    reporters = real.groupby("source")["reporter"].nunique().to_dict()
    assert reporters["imfsc_residence_immigrants"] == 40 and reporters["imfsc_citizenship_immigrants_foreigners"] == 34
    assert (real["origin"] != real["destination"]).all() and (real["flow"] >= 0).all()


def test_real_bundle_known_facts(real: pd.DataFrame) -> None:
    by_reporter = real.groupby("reporter")["source"].unique().map(sorted).to_dict()
    assert by_reporter["CAN"] == ["imfsc_citizenship_immigrants_foreigners"]  # MANIFEST: only by citizenship
    assert by_reporter["USA"] == ["imfsc_birth_immigrants_foreigners"]  # new permanent residents by birth
    assert by_reporter["NZL"] == ["imfsc_citizenship_emigrants_foreigners", "imfsc_citizenship_immigrants_foreigners",
                                  "imfsc_residence_emigrants_foreigners", "imfsc_residence_immigrants_foreigners"]
    columns = ["year", "origin", "destination", "source", "flow"]
    got = {tuple(r[:-1]): r[-1] for r in real[columns].itertuples(index=False)}
    assert got[(2013, "MEX", "USA", "imfsc_birth_immigrants_foreigners")] == 135_028  # DHS LPR 2013
    assert got[(2012, "CHN", "CAN", "imfsc_citizenship_immigrants_foreigners")] == 33_024
    # Russia gives China 2005-2007 under "China" and "China (including Hong Kong ...)": one row
    assert got[(2006, "CHN", "RUS", "imfsc_residence_immigrants")] == 499


def test_real_bundle_passes_the_suite(real: pd.DataFrame) -> None:
    frame = TABLE.conform(real)
    checks = contract(TABLE.column_names, list(TABLE.key), ["origin", "destination"],
                      f"give imfsc_flows exactly {TABLE.column_names}")
    result = run_suite("test_imfsc_flows", frame, checks + imfsc_flows.expectations(), key=TABLE.key)
    assert not result.failures, result.markdown()
