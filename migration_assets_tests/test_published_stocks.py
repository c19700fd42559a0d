"""Published-files readers of UN DESA bilateral migrant stocks and their totals.

Fixture tests use the tiny made-up files in fixtures/undesa/ (bundle layout) and UN-style
workbooks written here with openpyxl; the bundle tests read the real files (skipped without them).
"""

import json
import shutil
import time
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from migration_assets.countries import CountryCodeError
from migration_assets.quality.gx import contract, run_suite
from migration_assets.sources import migrant_stock_totals, migrant_stocks, undesa
from migration_assets.sources.files import SourceFileError

from .conftest import FIXTURES

CSV = migrant_stocks.REV2019_CSV
JSON = migrant_stocks.REV2020_JSON
T2020 = migrant_stock_totals.TOTALS_2020
T2019 = migrant_stock_totals.TOTALS_2019


@pytest.fixture
def root(tmp_path) -> Path:
    """A writable copy of the fixture bundle."""
    shutil.copytree(FIXTURES / "undesa", tmp_path / "raw")
    return tmp_path / "raw"


def cell(frame: pd.DataFrame, year: int, birth: str, residence: str):
    hit = frame[(frame["year"] == year) & (frame["birth"] == birth) & (frame["residence"] == residence)]
    assert len(hit) <= 1
    return None if hit.empty else float(hit["stock"].iloc[0])


def residences(frame: pd.DataFrame, year: int) -> set[str]:
    return set(frame.loc[frame["year"] == year, "residence"])


# ------------------------------------------------------------------------------- UN-style workbooks

LONG_HEADER = ["Index", "Region, development group, country or area of destination", "Notes of destination",
               "Location code of destination", "Type of data of destination",
               "Region, development group, country or area of origin", "Location code of origin"]


def _titles(ws, edition: int, what: str) -> None:
    ws["E2"] = f"International Migrant Stock {edition}: {what}"
    ws["E3"] = (f"Table 1: International migrant stock at mid-year by sex and by region, country or area of "
                f"destination and origin, 1990-{edition}")
    ws["E4"] = f"POP/DB/MIG/Stock/Rev.{edition}"
    ws["E5"] = f"Suggested citation: United Nations Department of Economic and Social Affairs, Population Division ({edition})."
    ws["E6"] = "Copyright © by United Nations, made available under a Creative Commons license CC BY 3.0 IGO"


def long_workbook(path: Path, edition: int, years: list[int], rows: list[tuple], header=LONG_HEADER) -> Path:
    """The 2020/2024 layout: title rows, block titles on row 10, header on row 11, one row per
    (destination, origin): name, notes, code, type, origin name, origin code, then both sexes /
    males / females year blocks. `rows`: (dest, notes, dest_code, type, origin, origin_code, both)
    with males = both // 2 and females = the rest where numeric."""
    book = openpyxl.Workbook()
    book.active.title = "Table of contents"
    book.active["B11"] = "Table number"
    ws = book.create_sheet("Table 1")
    _titles(ws, edition, "Destination and origin")
    n, first = len(years), len(header) + 1
    for k, title in enumerate(["both sexes combined", "males", "females"]):
        ws.cell(10, first + k * n, f"International migrant stock at mid-year, {title}")
    for c, v in enumerate([*header, *years * 3], start=1):
        ws.cell(11, c, v)
    for r, (dest, notes, dcode, kind, orig, ocode, both) in enumerate(rows, start=12):
        male = [v // 2 if isinstance(v, int) else v for v in both]
        female = [v - m if isinstance(v, int) else v for v, m in zip(both, male)]
        for c, v in enumerate([r - 11, dest, notes, dcode, kind, orig, ocode, *both, *male, *female], start=1):
            ws.cell(r, c, v)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


ROWS_2024 = [
    ("WORLD", None, 900, "", "WORLD", 900, [153000000, 281000000, 304000000]),
    ("  Northern America", None, 918, "", "Mexico", 484, [4400000, 11200000, 11000000]),
    ("   United States of America*", 24, 840, "B", "WORLD", 900, [23300000, 50600000, 52400000]),
    ("   United States of America*", 24, 840, "B", "Other", 2003, [100000, 200000, 210000]),
    ("   United States of America*", 24, 840, "B", "Mexico", 484, [4298014, 10931939, 10700000]),
    ("   United States of America*", 24, 840, "B", "Germany", 276, [711929, "..", 530000]),
    ("   United States of America*", 24, 840, "B", "Channel Islands", 830, [0, 0, 350]),
    ("   Germany", 7, 276, "B R", "Serbia", 688, [50000, 230000, 240000]),
    ("   China, Taiwan Province of China*", None, 158, "", "Mexico", 484, ["..", "..", ".."]),
]


def wide_workbook(path: Path, rows: list[tuple], origins: list[str]) -> Path:
    """The 2019 layout: title rows, header on row 15 ("Year", "Sort order", destination, "Notes",
    "Code", "Type of data (a)", "Total", "Other North", "Other South", origins...), then the male
    block repeating the origin names. `rows`: (year, dest, code, type, values for `origins`)."""
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Table 1"
    ws["E5"], ws["E6"] = "United Nations", "Population Division"
    ws["E10"] = "Table 1 - International migrant stock at mid-year by sex and by major area, region, country or area"
    header = ["Year", "Sort\norder", "Major area, region, country or area of destination", "Notes", "Code",
              "Type of data (a)"]
    for c, v in enumerate([*header, *origins, *origins], start=1):
        ws.cell(15, c, v)
    for r, (year, dest, code, kind, values) in enumerate(rows, start=16):
        for c, v in enumerate([year, r - 15, dest, None, code, kind, *values, *values], start=1):
            ws.cell(r, c, v)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


WIDE_ORIGINS = ["Total", "Other North", "Other South", "Mexico", "Germany", "Northern America", "Channel Islands"]
WIDE_ROWS = [
    (2019, "WORLD", 900, None, [271642105, 1000, 2000, 11800000, 4000000, 3000000, 60000]),
    (2019, "UN development groups", None, None, [".."] * 7),
    (2019, "Northern America", 918, None, [58600000, 500, 600, 11500000, 1100000, 1300000, 300]),
    (2019, "United States of America", 840, "B", [50661149, 400, 500, 11489684, 1068430, 900000, 320]),
    (2019, "Germany", 276, "B R", [13132146, 100, 100, 18500, "..", 300000, 60]),
    (2015, "United States of America", 840, "B", [48178877, 400, 500, 12050031, 1092020, 880000, 310]),
]


# --------------------------------------------------------------------------------- fixture readers


def test_rev2019_csv_values_codes_markers_and_aggregates():
    cells = undesa.parse_wide_csv(FIXTURES / "undesa" / CSV)
    assert set(cells["year"]) == {2005, 2010, 2019}
    assert cell(cells, 2019, "MEX", "USA") == 11_500_000  # persons, as published
    assert cell(cells, 2019, "DEU", "MEX") is None  # `..` = not reported: no row
    assert cell(cells, 2010, "CHI", "BES") == 0  # a published zero is a reported value
    assert (cells["birth"] != cells["residence"]).all()
    # the region row "Caribbean" is dropped; CHI and VAT (as birth) keep their non-canonical codes
    assert "CHI" in set(cells["residence"]) and "VAT" in set(cells["birth"])
    # whole-zero destination rows (contained in a predecessor; the Holy See) are not reported
    assert {"CUW", "MNE", "VAT"}.isdisjoint(residences(cells, 2005))
    assert "VAT" not in set(cells["residence"]) and {"CUW", "MNE"} <= residences(cells, 2010)
    # per the UN notes the 2005 rows of Bonaire... and Serbia cover the Netherlands Antilles and
    # Serbia and Montenegro while Curaçao and Montenegro are not reported
    assert cell(cells, 2005, "CUW", "ANT") == 5000 and {"BES", "SRB"}.isdisjoint(residences(cells, 2005))
    assert cell(cells, 2005, "DEU", "SCG") == 3000
    assert cell(cells, 2010, "CUW", "BES") == 4000 and cell(cells, 2010, "DEU", "SRB") == 3100


def test_rev2020_json_values_regions_and_unreported_columns():
    cells = undesa.parse_chord_json(FIXTURES / "undesa" / JSON)
    assert set(cells["year"]) == {2005, 2010, 2020}
    assert cell(cells, 2020, "MEX", "USA") == 11_000_000
    assert cell(cells, 2020, "DEU", "MEX") == 5500 and cell(cells, 2020, "CHI", "MEX") == 0
    assert set(cells["birth"]) == {"CHI", "DEU", "MNE", "SRB", "VAT", "BES", "CUW", "MEX", "USA"}  # no regions
    assert cell(cells, 2020, "VAT", "USA") == 3
    # all-zero destination columns: Vatican City and Caribbean Netherlands always, successors before 2010
    assert {"VAT", "BES"}.isdisjoint(set(cells["residence"]))
    assert {"MNE", "CUW"}.isdisjoint(residences(cells, 2005)) and {"MNE", "CUW"} <= residences(cells, 2010)
    assert cell(cells, 2005, "MNE", "SCG") == 14000 and "SRB" not in residences(cells, 2005)
    # per year, every reported destination has a cell for every other country (zeros included)
    assert len(cells[cells["year"] == 2020]) == 7 * 8


def test_revisions_combined_newest_wins_older_fills(root):
    frame = migrant_stocks.read(root)
    assert list(frame.columns) == ["year", "birth", "residence", "stock"]
    assert frame.dtypes["year"] == np.int64 and frame.dtypes["stock"] == np.float64
    assert not frame.duplicated(["year", "birth", "residence"]).any()
    assert cell(frame, 2010, "DEU", "SRB") == 3150  # Rev.2020 (JSON) wins over Rev.2019 (3100)
    assert cell(frame, 2005, "CUW", "ANT") == 5000  # only Rev.2019 reports the Netherlands Antilles
    assert cell(frame, 2010, "CUW", "BES") == 4000  # Rev.2020's Caribbean Netherlands column is empty
    assert cell(frame, 2019, "MEX", "USA") == 11_500_000 and cell(frame, 2020, "MEX", "USA") == 11_000_000
    summary = migrant_stocks.revision_of_cells(root)
    assert set(summary.loc[summary["year"] == 2019, "revision"]) == {"2019"}
    by = summary.set_index(["year", "revision"])
    assert by.loc[(2005, "2019"), "destinations"] == 1 and by.loc[(2005, "2019"), "stock"] == 5710
    assert by.loc[(2010, "2020"), "cells"] == 56 and by.loc[(2010, "2019"), "cells"] == 8
    with_revision = migrant_stocks.read_with_revision(root)
    pd.testing.assert_frame_equal(migrant_stocks.TABLE.conform(with_revision), frame)


def test_older_revision_never_fills_an_overlapping_predecessor():
    def cells(rows):
        return pd.DataFrame(rows, columns=["year", "birth", "residence", "stock"])
    newer = cells([(2005, "DEU", "SRB", 10.0), (2005, "DEU", "MNE", 2.0)])
    older = cells([(2005, "DEU", "SCG", 12.0), (2005, "USA", "SCG", 1.0), (2000, "DEU", "SCG", 9.0),
                   (2005, "USA", "SRB", 4.0)])
    out = undesa.combine_revisions({"2024": newer, "2020": older})
    assert set(zip(out["year"], out["residence"], out["revision"])) == {
        (2005, "SRB", "2024"), (2005, "MNE", "2024"), (2000, "SCG", "2020"), (2005, "SRB", "2020")}


def test_un_workbooks_2024_and_2020_are_preferred(root):
    long_workbook(root / migrant_stocks.REV2024_XLSX, 2024, [1990, 2020, 2024], ROWS_2024)
    cells = undesa.parse_workbook(root / migrant_stocks.REV2024_XLSX)
    assert set(zip(cells["birth"], cells["residence"])) == {("MEX", "USA"), ("DEU", "USA"), ("CHI", "USA"),
                                                           ("SRB", "DEU")}  # World, Other, regions, Taiwan '..' dropped
    assert cell(cells, 2020, "MEX", "USA") == 10_931_939  # the both-sexes block, not males/females
    assert cell(cells, 2020, "DEU", "USA") is None and cell(cells, 1990, "CHI", "USA") == 0
    frame = migrant_stocks.read_with_revision(root)
    assert cell(frame, 2024, "MEX", "USA") == 10_700_000
    assert cell(frame, 2020, "MEX", "USA") == 10_931_939  # 2024 edition wins
    assert cell(frame, 2020, "DEU", "USA") == 1_100_000  # its `..` is filled from Rev.2020
    assert set(frame.loc[frame["year"] == 1990, "revision"]) == {"2024"}

    # the Rev.2020 workbook replaces the chord JSON
    long_workbook(root / migrant_stocks.REV2020_XLSX, 2020, [2010, 2020],
                  [("   Mexico", None, 484, "B", "United States of America", 840, [600000, 650000])])
    revisions = migrant_stocks.read_revisions(root)
    assert set(zip(revisions["2020"]["year"], revisions["2020"]["birth"], revisions["2020"]["residence"])) == {
        (2010, "USA", "MEX"), (2020, "USA", "MEX")}


def test_un_workbook_wide_2019_layout(root):
    path = wide_workbook(root / migrant_stocks.REV2019_XLSX, WIDE_ROWS, WIDE_ORIGINS)
    cells = undesa.parse_workbook(path)
    # "Total", "Other North/South" and the region column are not origins; WORLD, label and region rows are dropped
    assert set(cells["birth"]) == {"MEX", "DEU", "CHI"} and set(cells["residence"]) == {"USA", "DEU"}
    assert cell(cells, 2019, "MEX", "USA") == 11_489_684 and cell(cells, 2015, "DEU", "USA") == 1_092_020
    assert cell(cells, 2019, "DEU", "DEU") is None and cell(cells, 2019, "CHI", "DEU") == 60
    assert migrant_stocks.read_revisions(root)["2019"].equals(cells)  # preferred over the CSV


def test_totals_values_codes_and_revisions(root):
    frame = migrant_stock_totals.read(root)
    assert list(frame.columns) == ["year", "residence", "foreign_born", "population"]
    by = frame.set_index(["year", "residence"])
    assert by.loc[(2005, "DEU"), "foreign_born"] == 331000  # Rev.2020 wins (Rev.2019: 330000)
    assert by.loc[(2005, "MEX"), "foreign_born"] == 520000  # Rev.2019 fills
    assert by.loc[(2005, "BES"), "foreign_born"] == 14399  # Rev.2019's fb > population row superseded
    assert by.loc[(2019, "CHI"), "population"] == 170000  # 'CISL' / NA alpha3 -> M49 830 -> CHI
    assert by.loc[(2010, "CHI"), "foreign_born"] == 1400
    assert (2005, "MNE") not in by.index  # fb NA: not reported
    assert set(frame["year"]) == {2005, 2010, 2019, 2020} and len(frame) == 18  # WORLD, Caribbean dropped
    assert (frame["population"] >= frame["foreign_born"]).all()
    revision = migrant_stock_totals.read_with_revision(root).set_index(["year", "residence"])["revision"]
    assert revision[(2019, "USA")] == "2019" and revision[(2010, "SRB")] == "2020"


def test_stocks_vs_totals(root):
    out = undesa.stocks_vs_totals(migrant_stocks.read(root), migrant_stock_totals.read(root))
    row = out.set_index(["year", "residence"])
    assert row.loc[(2019, "MEX"), "bilateral"] == 760000 and row.loc[(2019, "MEX"), "origins"] == 7
    assert row.loc[(2019, "MEX"), "ratio"] == pytest.approx(0.95)
    assert np.isnan(row.loc[(2005, "ANT"), "ratio"]) and np.isnan(row.loc[(2010, "VAT"), "bilateral"])


# ------------------------------------------------------------------------------------- bad inputs


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _fails(call, *fragments, error=SourceFileError) -> str:
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    assert "Fix:" in message
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_missing_files(root):
    (root / JSON).unlink()
    _fails(lambda: migrant_stocks.read(root), "stock.json", "file not found")
    (root / T2019).unlink()
    _fails(lambda: migrant_stock_totals.read(root), "stock_totals.csv", "file not found")


def test_truncated_json_and_workbook(root):
    data = (root / JSON).read_bytes()
    (root / JSON).write_bytes(data[: len(data) // 2])
    _fails(lambda: migrant_stocks.read(root), "stock.json", "line 1", "truncated")
    path = long_workbook(root / migrant_stocks.REV2024_XLSX, 2024, [1990, 2020, 2024], ROWS_2024)
    path.write_bytes(path.read_bytes()[:3000])
    _fails(lambda: undesa.parse_workbook(path), path.name, "truncated")


def test_json_matrix_of_wrong_shape_or_negative(root):
    data = json.loads((root / JSON).read_text())
    data["matrix"]["2010"][3] = data["matrix"]["2010"][3][:5]
    (root / JSON).write_text(json.dumps(data))
    _fails(lambda: undesa.parse_chord_json(root / JSON), "stock.json", "matrix 2010", "row 3 has 5 cells")
    data["matrix"]["2010"][3] = [0] * 12
    data["matrix"]["2010"][9][11] = -4
    (root / JSON).write_text(json.dumps(data))
    _fails(lambda: undesa.parse_chord_json(root / JSON), "stock.json", "negative", "'Mexico'", "'United States'")


def test_missing_columns(root):
    _edit(root / CSV, "Year,Dest,", "Year,Destination,")
    _fails(lambda: undesa.parse_wide_csv(root / CSV), CSV.split("/")[-1], "line 1", "['Dest']")
    _edit(root / T2020, ",fb,pop,", ",foreign,pop,")
    _fails(lambda: migrant_stock_totals.read(root), "stock_totals_2020.csv", "line 1", "['fb']")
    header = [h if h != "Location code of origin" else "Location" for h in LONG_HEADER]
    path = long_workbook(root / migrant_stocks.REV2024_XLSX, 2024, [1990, 2020, 2024], ROWS_2024, header=header)
    _fails(lambda: undesa.parse_workbook(path), path.name, "Location code of origin", "line 11")


def test_non_numbers(root):
    _edit(root / CSV, "2010,Mexico,0,0,0,..,", "2010,Mexico,0,0,0,12a,")
    _fails(lambda: undesa.parse_wide_csv(root / CSV), "line 17", "'Germany'", "'12a'")
    _edit(root / T2019, "DEU,Germany,276,2019,320000,", "DEU,Germany,276,2019,32O000,")
    _fails(lambda: migrant_stock_totals.read(root), "stock_totals.csv", "line 9", "'fb'", "'32O000'")
    rows = [*ROWS_2024[:4], ("   United States of America*", 24, 840, "B", "Mexico", 484, [4298014, "n/a", 1])]
    path = long_workbook(root / migrant_stocks.REV2024_XLSX, 2024, [1990, 2020, 2024], rows)
    _fails(lambda: undesa.parse_workbook(path), path.name, "sheet 'Table 1'", "line 16", "'n/a'")


def test_negative_values(root):
    _edit(root / CSV, "2019,Serbia,0,0,0,3200,", "2019,Serbia,0,0,0,-3200,")
    _fails(lambda: undesa.parse_wide_csv(root / CSV), "line 29", "negative", "'Germany'")
    _edit(root / T2020, "DEU,Germany,276,2020,345000,83700000", "DEU,Germany,276,2020,345000,-83700000")
    _fails(lambda: migrant_stock_totals.read(root), "stock_totals_2020.csv", "line 8", "negative")
    rows = [("   Germany", 7, 276, "B R", "Serbia", 688, [50000, -230000, 240000])]
    path = long_workbook(root / migrant_stocks.REV2024_XLSX, 2024, [1990, 2020, 2024], rows)
    _fails(lambda: undesa.parse_workbook(path), path.name, "line 12", "negative")


def test_unknown_countries(root):
    _edit(root / CSV, ",Mexico,Montenegro,", ",Atlantis,Montenegro,")
    _fails(lambda: undesa.parse_wide_csv(root / CSV), "Atlantis", CSV.split("/")[-1], "aliases.csv",
           error=CountryCodeError)
    shutil.copy(FIXTURES / "undesa" / CSV, root / CSV)
    _edit(root / CSV, "2019,Montenegro,", "2019,Montenegr,")
    _fails(lambda: undesa.parse_wide_csv(root / CSV), "'Montenegr'", "line 28")
    _edit(root / JSON, '"Curacao"', '"Curacoa Island"')
    _fails(lambda: undesa.parse_chord_json(root / JSON), "Curacoa Island", "stock.json", error=CountryCodeError)
    rows = [("   Atlantis", None, 123, "B", "Mexico", 484, [1, 2, 3])]
    path = long_workbook(root / migrant_stocks.REV2024_XLSX, 2024, [1990, 2020, 2024], rows)
    _fails(lambda: undesa.parse_workbook(path), path.name, "'123'", "row 12", error=CountryCodeError)


def test_duplicated_destination_row(root):
    text = (root / CSV).read_text(encoding="utf-8")
    line = next(x for x in text.splitlines() if x.startswith("2019,Germany,"))
    (root / CSV).write_text(text + line + "\n", encoding="utf-8")
    _fails(lambda: undesa.parse_wide_csv(root / CSV), "appears 2 times", "line 32")


# ------------------------------------------------------------------------------------ real bundle


def _suite(module, frame):
    table = module.TABLE
    codes = [c for c in ("birth", "residence") if c in table.column_names]
    fix = f"give {module.FILES} exactly the columns {table.column_names}"
    return run_suite(f"raw_{table.name}", frame, contract(table.column_names, list(table.key), codes, fix)
                     + module.expectations(), key=table.key)


@pytest.fixture(scope="module")
def real(bundle):
    start = time.perf_counter()
    revisions = migrant_stocks.read_revisions(bundle)
    combined = undesa.combine_revisions(revisions)
    stocks_seconds = time.perf_counter() - start
    start = time.perf_counter()
    totals = migrant_stock_totals.read(bundle)
    totals_seconds = time.perf_counter() - start
    return {"revisions": revisions, "combined": combined, "stocks": migrant_stocks.TABLE.conform(combined),
            "totals": totals, "seconds": (stocks_seconds, totals_seconds)}


def test_bundle_rev2019(real, bundle):
    rev = real["revisions"]["2019"]
    assert sorted(set(rev["year"])) == [1990, 1995, 2000, 2005, 2010, 2015, 2019]
    assert rev["birth"].nunique() == 232
    # 232 destinations: without the Holy See (no bilateral data), plus ANT and SCG for 1990-2005
    assert set(rev["residence"]) ^ set(rev["birth"]) == {"VAT", "ANT", "SCG"}
    world = rev.groupby("year")["stock"].sum()
    assert world[2019] == 260_283_744
    # MANIFEST's 270.05 M for 2019 also counts the five region rows this reader drops
    raw = pd.read_csv(bundle / CSV, dtype=str, keep_default_na=False)
    regions = raw[raw["Dest"].isin(["Caribbean", "Melanesia", "Micronesia", "Polynesia", "South America"])
                  & (raw["Year"] == "2019")]
    region_sum = regions.iloc[:, 2:].apply(pd.to_numeric, errors="coerce").sum().sum()
    assert world[2019] + region_sum == pytest.approx(270.05e6, abs=0.01e6)
    assert cell(rev, 1990, "CUW", "ANT") > 0 and "BES" not in residences(rev, 2005)
    assert {"SSD", "CUW", "MNE"}.isdisjoint(residences(rev, 2005)) and "SSD" in residences(rev, 2010)


def test_bundle_rev2020(real):
    rev = real["revisions"]["2020"]
    assert sorted(set(rev["year"])) == [1990, 1995, 2000, 2005, 2010, 2015, 2020]
    assert rev["birth"].nunique() == 232
    world = rev.groupby("year")["stock"].sum()
    assert world[2020] == pytest.approx(267.9e6, rel=1e-3) and world[2020] == 267_940_954
    assert {"VAT", "BES"}.isdisjoint(set(rev["residence"]))
    assert residences(rev, 2020) >= {"USA", "DEU", "SSD", "CUW", "MNE", "SRB", "CHI"}


def test_bundle_combined_stocks(real):
    stocks, combined = real["stocks"], real["combined"]
    assert sorted(set(stocks["year"])) == [1990, 1995, 2000, 2005, 2010, 2015, 2019, 2020]
    assert len(stocks) == 423_192 and stocks["birth"].nunique() == 232 and stocks["residence"].nunique() == 233
    assert (stocks["birth"] != stocks["residence"]).all()
    assert cell(stocks, 2020, "MEX", "USA") == pytest.approx(10.9e6, rel=0.01)  # persons, not thousands
    result = _suite(migrant_stocks, stocks)
    assert not result.critical, result.markdown()
    summary = undesa.revision_summary(combined).set_index(["year", "revision"])
    assert set(combined.loc[combined["year"] == 2019, "revision"]) == {"2019"}
    # Rev.2019 fills only what Rev.2020 leaves empty: the Netherlands Antilles 1990-2005 and the
    # Caribbean Netherlands 2010-2015
    filled = combined[(combined["revision"] == "2019") & (combined["year"] != 2019)]
    assert set(zip(filled["year"], filled["residence"])) == {
        (1990, "ANT"), (1995, "ANT"), (2000, "ANT"), (2005, "ANT"), (2010, "BES"), (2015, "BES")}
    assert summary.loc[(2020, "2020"), "destinations"] == 230
    assert max(real["seconds"]) < 20


def test_bundle_totals(real):
    totals = real["totals"]
    assert sorted(set(totals["year"])) == [1990, 1995, 2000, 2005, 2010, 2015, 2019, 2020]
    assert totals["residence"].nunique() == 232 and len(totals) == 1841
    world = totals.groupby("year")["foreign_born"].sum()
    assert world[2020] == 280_598_105 and world[2019] == 271_642_105
    by = totals.set_index(["year", "residence"])
    assert by.loc[(2020, "CHN"), "population"] > 1.4e9  # persons, not thousands
    assert by.loc[(2020, "CHI"), "foreign_born"] == 84087
    assert by.loc[(2015, "DEU"), "foreign_born"] == pytest.approx(10.2e6, rel=0.01)  # the UN break 2015-2020
    assert by.loc[(2020, "DEU"), "foreign_born"] == pytest.approx(15.8e6, rel=0.01)
    result = _suite(migrant_stock_totals, totals)
    assert not result.critical, result.markdown()


def test_bundle_bilateral_sums_within_un_totals(real):
    check = undesa.stocks_vs_totals(real["stocks"], real["totals"])
    ratio = check["ratio"].dropna()
    assert len(ratio) == 1824
    assert (ratio <= 1 + 1e-9).all()  # bilateral sums never exceed the UN totals
    assert (ratio >= 0.5).mean() > 0.97  # unknown origins are usually a small share
    assert 0.94 < ratio.median() < 0.96
    # where there is no ratio, the destination is relabelled (ANT, SCG vs BES, SRB) or has no bilateral data (VAT)
    assert set(check.loc[check["ratio"].isna(), "residence"]) == {"ANT", "BES", "SCG", "SRB", "VAT"}
