"""Published-files readers for refugees, observed flows and the anchors' published estimates.

Fixture tests run on a tiny bundle built in tmp_path from `fixtures/flows/` (hand-made, made-up
numbers; the .gz/.zip/.nc/chord JSON files are generated here). The last tests read the real
bundle (`bundle` fixture; skipped when it is absent).
"""

import gzip
import io
import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.io import netcdf_file

from migration_assets.countries import CountryCodeError
from migration_assets.quality.gx import contract, run_suite
from migration_assets.schemas import RAW, REFERENCE
from migration_assets.sources import chord, observed_flows, reference, refugees
from migration_assets.sources.files import SourceFileError

from .conftest import FIXTURES

FIX = FIXTURES / "flows"

UNHCR = refugees.UNHCR_2020
POPSTATS = refugees.POPSTATS
OECD = observed_flows.OECD
EUROSTAT = observed_flows.EUROSTAT
INDEX = reference.GASKIN_ABEL_INDEX
NET = reference.GASKIN_ABEL_NET

GA_NAMES = ["Europe", "Germany", "France", "North Africa", "Sudan", "Caribbean Netherlands"]
AC_NAMES = ["Africa", "Sudan*", "Sudan", "South Sudan", "Europe", "Serbia & Montenegro", "Serbia", "Germany"]


# ---------------------------------------------------------------------------------------------
# the fixture bundle


def _gaskin_matrix(year: int) -> list[list[int]]:
    m = np.zeros((6, 6), dtype=int)
    m[1, 2] = year - 1989  # Germany -> France: 1 in 1990 ... 34 in 2023
    m[2, 1] = 10  # France -> Germany
    m[5, 2] = 5  # Caribbean Netherlands -> France
    m[0, :] = 999  # region rows/columns hold aggregates (any numbers)
    m[:, 3] = 77
    return m.tolist()


def _abel_cohen_doc(scale: int) -> dict:
    def matrix(cells: dict[tuple[int, int], int]) -> list[list[int]]:
        m = np.zeros((8, 8), dtype=int)
        for (i, j), v in cells.items():
            m[i, j] = v * scale
        m[0, 7] = m[4, 0] = 12345  # region cells
        m[7, 7] = 999  # a diagonal cell: not a migration flow
        return m.tolist()

    return {
        "names": AC_NAMES, "regions": [0, 4], "threshold": 10000, "flags": [], "colours": [],
        "matrix": {
            "1990": matrix({(1, 7): 100, (5, 7): 200, (7, 1): 7}),  # Sudan* and Serbia & Montenegro
            "2010": matrix({(2, 7): 50, (3, 7): 5, (6, 7): 80}),  # Sudan, South Sudan, Serbia
        },
        "total_inflow": {}, "total_outflow": {},
    }


def _write_netcdf(path: Path, codes: list[str], mean: np.ndarray, std: np.ndarray) -> None:
    nc = netcdf_file(path, "w", version=2)
    nc.createDimension("Year", mean.shape[0])
    nc.createDimension("Country ISO", len(codes))
    nc.createDimension("string3", 3)
    year = nc.createVariable("Year", "i4", ("Year",))
    year[:] = np.arange(1990, 1990 + mean.shape[0])
    iso = nc.createVariable("Country ISO", "S1", ("Country ISO", "string3"))
    iso[:] = np.array([list(c) for c in codes], dtype="S1")
    for name, values in [("mean", mean), ("std", std)]:
        var = nc.createVariable(name, "f4", ("Year", "Country ISO"))
        var._FillValue = np.float32(np.nan)
        var[:] = values
    nc.close()


def make_bundle(root: Path) -> Path:
    """A tiny bundle with the real layout: text fixtures copied, binary formats generated."""
    for rel in [UNHCR, EUROSTAT, INDEX]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(FIX / rel, root / rel)
    (root / POPSTATS).write_bytes(gzip.compress((FIX / POPSTATS.removesuffix(".gz")).read_bytes()))
    (root / OECD).parent.mkdir(parents=True, exist_ok=True)
    member = OECD.removesuffix(".zip")
    with zipfile.ZipFile(root / OECD, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(Path(member).name, (FIX / member).read_bytes())
    (root / reference.GASKIN_ABEL / "flows").mkdir(parents=True, exist_ok=True)
    for year in range(1990, 2025):
        matrix = _gaskin_matrix(year) if year < 2024 else np.zeros((6, 6), dtype=int).tolist()
        (root / reference.gaskin_abel_flow_file(year)).write_text(json.dumps({"matrix": matrix}, indent=2))
    _write_netcdf(root / NET, ["DEU", "FRA", "BES"],
                  np.array([[100.0, -50.0, 1.0], [200.0, -100.0, np.nan]]),
                  np.array([[10.0, 5.0, 1.0], [20.0, 10.0, np.nan]]))
    for k, method in enumerate(reference.ABEL_COHEN_METHODS, start=1):
        path = root / reference.abel_cohen_file(method)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(json.dumps(_abel_cohen_doc(k)).encode()))
    return root


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_bundle(tmp_path)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _edit_gz(path: Path, old: str, new: str) -> None:
    text = gzip.decompress(path.read_bytes()).decode("utf-8")
    assert old in text
    path.write_bytes(gzip.compress(text.replace(old, new, 1).encode("utf-8")))


def _edit_zip(path: Path, old: str, new: str) -> None:
    with zipfile.ZipFile(path) as archive:
        name = archive.namelist()[0]
        text = archive.read(name).decode("utf-8")
    assert old in text
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(name, text.replace(old, new, 1))


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _key(frame: pd.DataFrame, columns: list[str]) -> dict:
    return {tuple(r[:-1]): r[-1] for r in frame[columns].itertuples(index=False)}


# ---------------------------------------------------------------------------------------------
# readers on the fixture bundle


def test_refugees_reader_fixture(root: Path) -> None:
    frame = refugees.read(root)
    assert list(frame.columns) == RAW["refugees"].column_names
    got = _key(frame, ["year", "origin", "asylum", "refugees"])
    assert got == {
        # 1990 from the 2015 popstats export (names; `*` = 2; empty = 0; Tibetan = CHN; Palestinian = PSE)
        (1990, "AFG", "PAK"): 3_253_000.0,
        (1990, "AFG", "IRN"): 2_900_002.0,
        (1990, "SRB", "DEU"): 2.0,
        (1990, "CHN", "IND"): 100.0,
        (1990, "PSE", "SYR"): 220.0,
        # 1995-1996 from unhcr_2020.csv (refugees + asylum-seekers; TIB summed into CHN; NA = 0)
        (1995, "AFG", "PAK"): 1050.0,
        (1995, "AFG", "IRN"): 2000.0,
        (1995, "CHN", "IND"): 123.0,
        (1996, "AFG", "PAK"): 940.0,
        (1996, "SDN", "KEN"): 12.0,
    }
    # dropped: 1989 (< 1990), popstats 1995 (newer file wins), Various/Unknown, empty orig/dest,
    # stateless XXA, self pairs, zero and NA-only rows
    assert frame["year"].min() == 1990 and 9999.0 not in set(frame["refugees"])
    _, dropped = refugees.read_unhcr_2020(root)
    assert dropped == {"empty orig": 1, "empty dest": 1, "both counts NA": 1, "not a country (XXA)": 1}


def test_observed_flows_reader_fixture(root: Path) -> None:
    frame = observed_flows.read(root)
    assert list(frame.columns) == RAW["observed_flows"].column_names
    got = _key(frame, ["year", "origin", "destination", "source", "flow"])
    assert got == {
        # OECD B11: thousands -> persons; empty Value, TOT/YUCS/NS, self pairs and other VARs dropped
        (2000, "MEX", "USA", "oecd_b11"): 173_493.0,
        (2000, "SCG", "AUT", "oecd_b11"): 6_462.0,
        (2000, "POL", "DEU", "oecd_b11"): 74_256.0,
        (2001, "POL", "DEU", "oecd_b11"): 0.0,  # an observed zero is kept
        # Eurostat: ISO2 (EL, GR, UK), OTHER and empty values dropped
        (2000, "POL", "DEU", "eurostat_prev_residence"): 70_000.0,
        (2010, "GRC", "DEU", "eurostat_prev_residence"): 500.0,
        (2010, "GRC", "AUT", "eurostat_prev_residence"): 20.0,
        (2008, "GBR", "IRL", "eurostat_prev_residence"): 3_000.0,
    }


def test_gaskin_abel_flows_reader_fixture(root: Path) -> None:
    frame = reference.read_gaskin_abel_flows(root)
    assert list(frame.columns) == REFERENCE["gaskin_abel_flows"].column_names
    assert sorted(frame["year"].unique()) == list(range(1990, 2024))  # 2024 (all zeros) not read
    assert len(frame) == 3 * 34  # region rows/columns and zero cells dropped
    assert set(frame["origin"]) | set(frame["destination"]) == {"DEU", "FRA", "BES"}
    got = _key(frame, ["year", "origin", "destination", "flow"])
    assert got[(1990, "DEU", "FRA")] == 1 and got[(2023, "DEU", "FRA")] == 34
    assert got[(2000, "FRA", "DEU")] == 10 and got[(2000, "BES", "FRA")] == 5
    assert frame.groupby("year")["flow"].sum()[1990] == 16


def test_gaskin_abel_net_migration_reader_fixture(root: Path) -> None:
    frame = reference.read_gaskin_abel_net_migration(root)
    assert list(frame.columns) == REFERENCE["gaskin_abel_net_migration"].column_names
    got = {(r.year, r.country): (r.mean, r.std) for r in frame.itertuples()}
    assert got == {(1990, "DEU"): (100.0, 10.0), (1990, "FRA"): (-50.0, 5.0), (1990, "BES"): (1.0, 1.0),
                   (1991, "DEU"): (200.0, 20.0), (1991, "FRA"): (-100.0, 10.0)}  # BES 1991 missing: left out


def test_abel_cohen_flows_reader_fixture(root: Path) -> None:
    frame = reference.read_abel_cohen_flows(root)
    assert list(frame.columns) == REFERENCE["abel_cohen_flows"].column_names
    assert sorted(frame["method"].unique()) == sorted(reference.ABEL_COHEN_METHODS)
    assert (frame["period_end"] == frame["period_start"] + 5).all()
    pb = frame[frame["method"] == "da_pb_closed"]  # the sixth method: scale 6
    got = _key(pb, ["period_start", "origin", "destination", "flow"])
    assert got == {
        (1990, "SDN", "DEU"): 600.0,  # "Sudan*"
        (1990, "SCG", "DEU"): 1200.0,  # "Serbia & Montenegro"
        (1990, "DEU", "SDN"): 42.0,
        (2010, "SDN", "DEU"): 300.0,
        (2010, "SSD", "DEU"): 30.0,
        (2010, "SRB", "DEU"): 480.0,
    }  # region cells (12345) and the diagonal (999) dropped
    assert len(frame) == 6 * 6


def test_chord_sums_names_mapping_to_one_code(tmp_path: Path) -> None:
    doc = {"names": ["Europe", "Sudan*", "Sudan", "Germany"], "regions": [0],
           "matrix": {"2005": [[0, 0, 0, 0], [0, 0, 0, 4], [0, 0, 0, 6], [0, 1, 2, 0]]}}
    parsed = chord.parse(doc, tmp_path / "x.json")
    long = chord.to_long(parsed, key="period_start")
    assert _key(long, ["period_start", "origin", "destination", "flow"]) == {
        (2005, "SDN", "DEU"): 10.0, (2005, "DEU", "SDN"): 3.0}


def test_published_source_names_the_files(root: Path) -> None:
    from migration_assets.sources.published import PublishedSource

    source = PublishedSource(root=str(root))
    assert "unhcr_2020.csv" in source.origin("refugees")
    assert "MIG_15082015002909613.csv.zip" in source.origin("observed_flows")
    assert "indexes-regions.json" in source.origin("gaskin_abel_flows")
    assert len(source.table("abel_cohen_flows")) == 36


# ---------------------------------------------------------------------------------------------
# bad inputs: every message names the file (and the line where there is one) and says the fix


def _readers():
    return {
        "refugees": refugees.read,
        "observed_flows": observed_flows.read,
        "gaskin_abel_flows": reference.read_gaskin_abel_flows,
        "gaskin_abel_net_migration": reference.read_gaskin_abel_net_migration,
        "abel_cohen_flows": reference.read_abel_cohen_flows,
    }


def _nc_without_std(path: Path) -> None:
    _write_netcdf(path, ["DEU"], np.array([[1.0]]), np.array([[1.0]]))
    data = path.read_bytes().replace(b"std", b"sdx")  # rename the variable in the header
    path.write_bytes(data)


def _nc_negative_std(path: Path) -> None:
    _write_netcdf(path, ["DEU"], np.array([[1.0]]), np.array([[-1.0]]))


def _json_edit(rel: str, change):
    def edit(root: Path) -> None:
        path = root / rel
        doc = json.loads(gzip.decompress(path.read_bytes()) if rel.endswith(".gz") else path.read_text())
        change(doc)
        text = json.dumps(doc).encode()
        path.write_bytes(gzip.compress(text) if rel.endswith(".gz") else text)
    return edit


def _set_cell(value, key="1990", i=1, j=2):
    def change(doc):
        matrix = doc["matrix"][key] if isinstance(doc["matrix"], dict) else doc["matrix"]
        matrix[i][j] = value
    return change


GA1995 = reference.gaskin_abel_flow_file(1995)
AC = reference.abel_cohen_file("mig_rate")

BAD = [
    # (id, table, mutation, error class, file named, line or None, words in the message)
    ("refugees-missing-file", "refugees", lambda r: (r / UNHCR).unlink(), SourceFileError, UNHCR, None, "file not found"),
    ("refugees-missing-popstats", "refugees", lambda r: (r / POPSTATS).unlink(), SourceFileError, POPSTATS, None,
     "file not found"),
    ("refugees-truncated-gz", "refugees", lambda r: _truncate(r / POPSTATS), SourceFileError, POPSTATS, None,
     "not a complete gzip file"),
    ("refugees-missing-column", "refugees", lambda r: _edit(r / UNHCR, ",asylum_seekers", ",asylum"),
     SourceFileError, UNHCR, 1, "missing column"),
    ("refugees-popstats-missing-column", "refugees", lambda r: _edit_gz(r / POPSTATS, ",Origin,", ",Source,"),
     SourceFileError, POPSTATS, 4, "missing column"),
    ("refugees-not-a-number", "refugees", lambda r: _edit(r / UNHCR, "1995,AFG,IRN,2000,0", "1995,AFG,IRN,2 000x,0"),
     SourceFileError, UNHCR, 3, "not numbers"),
    ("refugees-popstats-not-a-number", "refugees",
     lambda r: _edit_gz(r / POPSTATS, "1990,Pakistan,Afghanistan,3253000", "1990,Pakistan,Afghanistan,lots"),
     SourceFileError, POPSTATS, 6, "not numbers"),
    ("refugees-negative", "refugees", lambda r: _edit(r / UNHCR, "1996,AFG,PAK,900,40", "1996,AFG,PAK,-900,40"),
     SourceFileError, UNHCR, 10, "negative"),
    ("refugees-popstats-negative", "refugees",
     lambda r: _edit_gz(r / POPSTATS, "Afghanistan,2900000,*", "Afghanistan,2900000,-1"),
     SourceFileError, POPSTATS, 7, "negative"),
    ("refugees-duplicate", "refugees", lambda r: _edit(r / UNHCR, "1996,AFG,PAK,900,40", "1995,AFG,PAK,900,40"),
     SourceFileError, UNHCR, 10, "appears twice"),
    ("refugees-unknown-code", "refugees", lambda r: _edit(r / UNHCR, "1995,AFG,IRN", "1995,AF,IRN"),
     CountryCodeError, UNHCR, None, "['AF'] (row 3: 'AF')"),  # rows of CSV files are file lines
    ("refugees-unknown-name", "refugees", lambda r: _edit_gz(r / POPSTATS, "1990,India,Tibetan", "1990,India,Atlantis"),
     CountryCodeError, POPSTATS, None, "['Atlantis'] (row 12: 'Atlantis')"),
    ("oecd-missing-file", "observed_flows", lambda r: (r / OECD).unlink(), SourceFileError, OECD, None, "file not found"),
    ("oecd-truncated-zip", "observed_flows", lambda r: _truncate(r / OECD), SourceFileError, OECD, None,
     "not a complete zip archive"),
    ("oecd-missing-column", "observed_flows", lambda r: _edit_zip(r / OECD, '"VAR"', '"VARIABLE"'),
     SourceFileError, OECD, 1, "missing column"),
    ("oecd-not-a-number", "observed_flows", lambda r: _edit_zip(r / OECD, "74.256", "74.2.56"),
     SourceFileError, OECD, 8, "not numbers"),
    ("oecd-negative", "observed_flows", lambda r: _edit_zip(r / OECD, "6.462,", "-6.462,"),
     SourceFileError, OECD, 5, "negative"),
    ("oecd-unknown-country", "observed_flows", lambda r: _edit_zip(r / OECD, '"AUT","Austria","2000","2000",6.462',
                                                                    '"AU","Austria","2000","2000",6.462'),
     CountryCodeError, OECD, None, "['AU'] (row 5: 'AU')"),
    ("eurostat-missing-file", "observed_flows", lambda r: (r / EUROSTAT).unlink(), SourceFileError, EUROSTAT, None,
     "file not found"),
    ("eurostat-missing-column", "observed_flows", lambda r: _edit(r / EUROSTAT, "partner,geo", "partner,reporter"),
     SourceFileError, EUROSTAT, 1, "missing column"),
    ("eurostat-not-a-number", "observed_flows", lambda r: _edit(r / EUROSTAT, "2010,500.0", "2010,5OO"),
     SourceFileError, EUROSTAT, 3, "not numbers"),
    ("eurostat-negative", "observed_flows", lambda r: _edit(r / EUROSTAT, "2008,3000.0", "2008,-3000.0"),
     SourceFileError, EUROSTAT, 5, "negative"),
    ("eurostat-duplicate", "observed_flows", lambda r: _edit(r / EUROSTAT, "GR,AT,2010", "EL,DE,2010"),
     SourceFileError, EUROSTAT, 4, "appears twice"),
    ("eurostat-unknown-country", "observed_flows", lambda r: _edit(r / EUROSTAT, "UK,IE", "QQ,IE"),
     CountryCodeError, EUROSTAT, None, "['QQ'] (row 5: 'QQ')"),
    ("gaskin-missing-year", "gaskin_abel_flows", lambda r: (r / GA1995).unlink(), SourceFileError, GA1995, None,
     "file not found"),
    ("gaskin-missing-index", "gaskin_abel_flows", lambda r: (r / INDEX).unlink(), SourceFileError, INDEX, None,
     "file not found"),
    ("gaskin-truncated-json", "gaskin_abel_flows", lambda r: _truncate(r / GA1995), SourceFileError, GA1995, None,
     "invalid JSON"),
    ("gaskin-index-without-names", "gaskin_abel_flows", _json_edit(INDEX, lambda d: d.pop("names")),
     SourceFileError, INDEX, None, "`names`"),
    ("gaskin-not-a-number", "gaskin_abel_flows", _json_edit(GA1995, _set_cell("12")), SourceFileError, GA1995, None,
     "matrix['1995'][1][2] is not a number"),
    ("gaskin-negative", "gaskin_abel_flows", _json_edit(GA1995, _set_cell(-3)), SourceFileError, GA1995, None,
     "(Germany -> France) is negative"),
    ("gaskin-short-row", "gaskin_abel_flows", _json_edit(GA1995, lambda d: d["matrix"][4].pop()), SourceFileError,
     GA1995, None, "must have 6 cells"),
    ("gaskin-unknown-name", "gaskin_abel_flows", lambda r: _edit(r / INDEX, '"France"', '"Atlantis"'),
     CountryCodeError, INDEX, None, "['Atlantis'] (row 2: 'Atlantis')"),  # row = index in `names`
    ("net-missing-file", "gaskin_abel_net_migration", lambda r: (r / NET).unlink(), SourceFileError, NET, None,
     "file not found"),
    ("net-truncated", "gaskin_abel_net_migration", lambda r: _truncate(r / NET), SourceFileError, NET, None,
     "truncated"),
    ("net-missing-variable", "gaskin_abel_net_migration", lambda r: _nc_without_std(r / NET), SourceFileError, NET,
     None, "missing variable(s) ['std']"),
    ("net-negative-std", "gaskin_abel_net_migration", lambda r: _nc_negative_std(r / NET), SourceFileError, NET, None,
     "negative"),
    ("abel-cohen-missing-file", "abel_cohen_flows", lambda r: (r / AC).unlink(), SourceFileError, AC, None,
     "file not found"),
    ("abel-cohen-truncated-gz", "abel_cohen_flows", lambda r: _truncate(r / AC), SourceFileError, AC, None,
     "not a complete gzip file"),
    ("abel-cohen-not-a-number", "abel_cohen_flows", _json_edit(AC, _set_cell(None, "2010", 2, 7)), SourceFileError,
     AC, None, "matrix['2010'][2][7] is not a number"),
    ("abel-cohen-negative", "abel_cohen_flows", _json_edit(AC, _set_cell(-1, "2010", 2, 7)), SourceFileError, AC,
     None, "(Sudan -> Germany) is negative"),
    ("abel-cohen-bad-period", "abel_cohen_flows", _json_edit(AC, lambda d: d["matrix"].update(
        {"1990-1995": d["matrix"].pop("1990")})), SourceFileError, AC, None, "period start years"),
    ("abel-cohen-unknown-name", "abel_cohen_flows", _json_edit(AC, lambda d: d["names"].__setitem__(6, "Atlantis")),
     CountryCodeError, AC, None, "Atlantis"),
]


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_bad_input_is_reported_with_file_line_and_fix(root: Path, case) -> None:
    _, table, mutate, error, rel, line, words = case
    mutate(root)
    with pytest.raises(error) as info:
        _readers()[table](root)
    message = str(info.value)
    assert str(root / rel) in message, message
    assert "Fix:" in message, message
    assert words in message, message
    if line is not None:
        assert f"line {line}" in message, message


# ---------------------------------------------------------------------------------------------
# the real bundle


def _suite(name: str, frame: pd.DataFrame, module=None):
    table = RAW[name] if module is not None else REFERENCE[name]
    codes = [c for c in ("origin", "destination", "asylum", "country") if c in table.column_names]
    checks = contract(table.column_names, list(table.key), codes, f"give {name} exactly {table.column_names}")
    if module is not None:
        checks += module.expectations()
    result = run_suite(f"test_published_{name}", frame, checks, key=table.key)
    assert not result.critical, result.markdown()


def test_refugees_real_bundle(bundle: Path, tmp_path: Path) -> None:
    """The two files UNHCR's figures came from before its refugees package (test_unhcr_releases.py)."""
    for rel in (refugees.UNHCR_2020, refugees.POPSTATS):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).symlink_to(bundle / rel)
    frame = refugees.read(tmp_path)
    assert frame.equals(RAW["refugees"].conform(frame))
    _suite("refugees", frame, refugees)
    years = sorted(frame["year"].unique())
    assert years == [*range(1990, 2019), 2020]  # 2019 is in neither file
    assert frame["origin"].nunique() > 200 and frame["asylum"].nunique() > 180
    got = _key(frame, ["year", "origin", "asylum", "refugees"])
    assert got[(1990, "AFG", "PAK")] == 3_253_000  # 2015 popstats export
    assert got[(2018, "SYR", "TUR")] == 3_622_477  # unhcr_2020.csv: 3,622,366 refugees + 111 asylum-seekers
    totals = frame.groupby("year")["refugees"].sum()
    assert 14e6 < totals[1990] < 15.5e6 and 23e6 < totals[2020] < 25e6
    _, dropped = refugees.read_unhcr_2020(tmp_path)
    assert dropped["empty orig"] == 1307 and dropped["empty dest"] == 5


def test_observed_flows_real_bundle(bundle: Path) -> None:
    frame = observed_flows.read(bundle)
    assert frame.equals(RAW["observed_flows"].conform(frame))
    _suite("observed_flows", frame, observed_flows)
    oecd = frame[frame["source"] == "oecd_b11"]
    euro = frame[frame["source"] == "eurostat_prev_residence"]
    assert len(oecd) + len(euro) == len(frame) and (frame["origin"] != frame["destination"]).all()

    # MANIFEST: 94,418 B11 rows, 37,270 with an empty Value; 34 destinations, 2000-2012
    raw = pd.read_csv(io.BytesIO(zipfile.ZipFile(bundle / OECD).read("MIG_15082015002909613.csv")),
                      usecols=["CO2", "VAR", "COU", "YEA", "Value"], dtype=str, keep_default_na=False,
                      encoding="utf-8-sig")
    b11 = raw[raw["VAR"] == "B11"]
    assert len(b11) == 94_418 and (b11["Value"] == "").sum() == 37_270
    assert len(oecd) <= 94_418 - 37_270
    assert oecd["destination"].nunique() == 34 and (oecd["year"].min(), oecd["year"].max()) == (2000, 2012)
    assert not set(oecd["origin"]) & observed_flows.OECD_NOT_COUNTRIES
    # units: thousands in the file, persons here; the country rows add up to at most the reported total
    got = _key(oecd, ["year", "origin", "destination", "flow"])
    assert got[(2000, "MEX", "USA")] == 173_493
    total = b11[(b11["CO2"] == "TOT") & (b11["Value"] != "")].assign(
        year=lambda f: f["YEA"].astype(int), total=lambda f: f["Value"].astype(float) * 1000)
    sums = oecd.groupby(["year", "destination"])["flow"].sum().rename("sum").reset_index()
    check = total.merge(sums, left_on=["year", "COU"], right_on=["year", "destination"])
    ratio = check["sum"] / check["total"]  # GBR rounds to thousands: 2001 is 1.1 % over its total
    assert len(check) > 300 and (ratio <= 1.02).all() and ratio.median() > 0.9

    # MANIFEST: 29 reporting `geo` values of which one is OTHER; 1998-2023
    assert euro["destination"].nunique() == 28
    assert (euro["year"].min(), euro["year"].max()) == (1998, 2023)
    assert "GRC" in set(euro["origin"]) and "GBR" in set(euro["destination"])
    # the two systems agree where both report a corridor-year
    both = frame.pivot_table(index=["year", "origin", "destination"], columns="source", values="flow").dropna()
    assert len(both) > 1000 and both.corr().iloc[0, 1] > 0.9


def test_reference_estimates_real_bundle(bundle: Path) -> None:
    flows = reference.read_gaskin_abel_flows(bundle)
    _suite("gaskin_abel_flows", flows)
    totals = flows.groupby("year")["flow"].sum() / 1e6
    assert sorted(totals.index) == list(range(1990, 2024))
    for year, expected in {1990: 13.3, 2010: 18.8, 2020: 22.3, 2023: 36.5}.items():
        assert round(totals[year], 1) == expected
    assert len(set(flows["origin"]) | set(flows["destination"])) == 231

    net = reference.read_gaskin_abel_net_migration(bundle)
    _suite("gaskin_abel_net_migration", net)
    assert len(net) == 34 * 231 and net["country"].nunique() == 231
    assert net.groupby("year")["mean"].sum().abs().max() < 10  # net migration sums to ~0 worldwide
    assert set(net["country"]) == set(flows["origin"]) | set(flows["destination"])

    ac = reference.read_abel_cohen_flows(bundle)
    _suite("abel_cohen_flows", ac)
    assert sorted(ac["method"].unique()) == sorted(reference.ABEL_COHEN_METHODS)
    assert sorted(ac["period_start"].unique()) == [1990, 1995, 2000, 2005, 2010, 2015]
    codes = set(ac["origin"]) | set(ac["destination"])
    assert len(codes) == 230  # 231 names: "Sudan*" and "Sudan" are both SDN
    assert ac.loc[ac["origin"] == "SCG", "period_start"].max() < 2010
    assert ac.loc[ac["origin"] == "SSD", "period_start"].min() >= 2010
