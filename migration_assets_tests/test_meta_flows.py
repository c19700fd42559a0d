"""The Meta (Facebook) flow reader: annual JSON and monthly CSV forms, bad input, the real bundle.

Fixtures (fixtures/flows/meta_facebook/, made up): two annual files (2019, 2020) and a monthly CSV
that sums to the same table. They hold Namibia (`NA`), Kosovo (`XK`), diagonal net-migration entries
(one negative) and, in the CSV, pairs below 50 migrants in the year (one of them split over months).
"""

import json
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest

from migration_assets.countries import CountryCodeError
from migration_assets.quality.gx import contract, run_suite
from migration_assets.sources import meta_flows
from migration_assets.sources.files import SourceFileError

from .conftest import FIXTURES

FIX = FIXTURES / "flows" / "meta_facebook"
JSON_2019 = meta_flows.annual_file(2019)
JSON_2020 = meta_flows.annual_file(2020)
MONTHLY = meta_flows.MONTHLY

EXPECTED = {
    (2019, "XKX", "DEU"): 800.0,
    (2019, "FRA", "DEU"): 5000.0,
    (2019, "NAM", "DEU"): 60.0,  # 30 + 30 in the CSV: months are summed before the threshold
    (2019, "DEU", "FRA"): 4000.0,
    (2019, "DEU", "NAM"): 55.0,
    (2019, "ZAF", "NAM"): 300.0,
    (2020, "FRA", "DEU"): 4500.0,
    (2020, "XKX", "DEU"): 900.0,
    (2020, "DEU", "XKX"): 150.0,
    (2020, "NAM", "ZAF"): 75.0,
}


def make_root(root: Path, annual: bool = True, monthly: bool = False) -> Path:
    folder = root / meta_flows.FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    for rel in [JSON_2019, JSON_2020] * annual + [MONTHLY] * monthly:
        shutil.copy(FIX / Path(rel).name, root / rel)
    return root


def _key(frame: pd.DataFrame) -> dict:
    return {(y, o, d): f for y, o, d, f in frame[["year", "origin", "destination", "flow"]].itertuples(index=False)}


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_annual_json_form(tmp_path: Path) -> None:
    frame = meta_flows.read(make_root(tmp_path))
    assert list(frame.columns) == meta_flows.TABLE.column_names
    assert _key(frame) == EXPECTED  # diagonals (DE -1200, NA 40) dropped; NA is Namibia, XK Kosovo
    assert (frame["source"] == "meta_facebook").all()
    assert list(frame["year"]) == sorted(frame["year"])  # sorted by year, destination, origin
    assert list(frame[frame["year"] == 2019]["destination"]) == ["DEU"] * 3 + ["FRA"] + ["NAM"] * 2


def test_monthly_csv_form_gives_the_same_table_and_wins(tmp_path: Path) -> None:
    annual = meta_flows.read(make_root(tmp_path / "annual"))
    monthly = meta_flows.read(make_root(tmp_path / "monthly", annual=False, monthly=True))
    pd.testing.assert_frame_equal(monthly, annual)  # FR->NA (20 + 25) and ZA->DE (49) are below 50
    both = make_root(tmp_path / "both", monthly=True)
    (both / meta_flows.annual_file(2021)).write_text("{")  # not read when the CSV is present
    pd.testing.assert_frame_equal(meta_flows.read(both), monthly)


def _set(rel: str, destination: str, origin: str, value):
    def mutate(root: Path) -> None:
        doc = json.loads((root / rel).read_text())
        doc[destination][origin] = value
        (root / rel).write_text(json.dumps(doc))
    return mutate


FOLDER_FIX = "migration-fetch --only 'observed_flows/meta_facebook/*'"

# id, mutate(root), uses the CSV, error, file named, words in the message
BAD = [
    ("json-negative", _set(JSON_2019, "DE", "FR", -5000), False, SourceFileError, JSON_2019,
     "entry ['DE']['FR'] (FR -> DE) is negative"),
    ("json-text", _set(JSON_2019, "DE", "XK", "800"), False, SourceFileError, JSON_2019,
     "entry ['DE']['XK'] (XK -> DE) is not a number ('800')"),
    ("json-null", _set(JSON_2020, "ZA", "NA", None), False, SourceFileError, JSON_2020,
     "entry ['ZA']['NA'] (NA -> ZA) is not a number (None)"),
    ("json-unknown-code", _set(JSON_2020, "XK", "QQ", 70), False, CountryCodeError, JSON_2020,
     "['QQ'] (row ['XK']['QQ']: 'QQ')"),
    ("json-invalid", lambda r: (r / JSON_2020).write_text('{"DE": {"FR": 45'), False, SourceFileError, JSON_2020,
     "invalid JSON"),
    ("json-not-object-of-objects", lambda r: (r / JSON_2020).write_text('{"DE": [4500, 900]}'), False,
     SourceFileError, JSON_2020, "is not a JSON object of objects"),
    ("json-bad-year-in-name", lambda r: (r / JSON_2020).rename(r / meta_flows.FOLDER / "flows_20_21.json"), False,
     SourceFileError, f"{meta_flows.FOLDER}/flows_20_21.json", "4-digit years"),
    ("json-name-not-one-year", lambda r: (r / JSON_2020).rename(r / meta_flows.FOLDER / "flows_2020_2022.json"),
     False, SourceFileError, f"{meta_flows.FOLDER}/flows_2020_2022.json", "flows_<year>_<year + 1>.json"),
    ("missing-folder", lambda r: shutil.rmtree(r / meta_flows.FOLDER), False, SourceFileError, meta_flows.FOLDER,
     FOLDER_FIX),
    ("csv-missing-column", lambda r: _edit(r / MONTHLY, ",num_migrants", ",migrants"), True, SourceFileError,
     MONTHLY, "missing column(s) ['num_migrants']"),
    ("csv-bad-month", lambda r: _edit(r / MONTHLY, "2019-12,XK", "2019-13,XK"), True, SourceFileError, MONTHLY,
     "line 5: `migration_month` '2019-13' is not a month YYYY-MM"),
    ("csv-month-as-date", lambda r: _edit(r / MONTHLY, "2020-10,DE", "2020-10-01,DE"), True, SourceFileError,
     MONTHLY, "line 16: `migration_month` '2020-10-01'"),
    ("csv-duplicate", lambda r: _edit(r / MONTHLY, "2019-07,FR,NA", "2019-03,FR,NA"), True, SourceFileError,
     MONTHLY, "line 12: FRA -> NAM in 2019-03 appears twice"),
    ("csv-negative", lambda r: _edit(r / MONTHLY, "DE,NA,55", "DE,NA,-55"), True, SourceFileError, MONTHLY,
     "line 9: `num_migrants` is negative"),
    ("csv-text", lambda r: _edit(r / MONTHLY, "ZA,NA,300", "ZA,NA,3OO"), True, SourceFileError, MONTHLY,
     "not numbers (line 8: '3OO')"),
    ("csv-empty-count", lambda r: _edit(r / MONTHLY, "ZA,DE,49", "ZA,DE,"), True, SourceFileError, MONTHLY,
     "not numbers (line 18: '')"),
    ("csv-unknown-code", lambda r: _edit(r / MONTHLY, "2020-02,NA,ZA", "2020-02,NA,QQ"), True, CountryCodeError,
     MONTHLY, "column `country_to` has 1 unknown country iso2(s) ['QQ'] (row 17: 'QQ')"),
]


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_bad_input_names_the_file_and_the_fix(tmp_path: Path, case) -> None:
    _, mutate, monthly, error, rel, words = case
    root = make_root(tmp_path, monthly=monthly)
    mutate(root)
    with pytest.raises(error) as info:
        meta_flows.read(root)
    message = str(info.value)
    assert str(root / rel) in message, message
    assert "Fix:" in message, message
    assert words in message, message


def test_real_bundle(bundle: Path) -> None:
    start = time.perf_counter()
    frame = meta_flows.read(bundle)
    seconds = time.perf_counter() - start
    assert seconds < 10, f"read() took {seconds:.1f} s"
    table = meta_flows.TABLE
    checks = contract(table.column_names, list(table.key), ["origin", "destination"],
                      f"give meta_flows exactly {table.column_names}") + meta_flows.expectations()
    result = run_suite("test_meta_flows", frame, checks, key=table.key)
    assert result.success, result.markdown()
    # MANIFEST §6c off-diagonal sums and pair counts; all 181 ISO2 codes map (NA -> NAM, XK -> XKX), so no
    # pair is lost and the counts are exact
    totals = frame.groupby("year")["flow"].agg(["size", "sum"])
    assert totals["size"].to_dict() == {2019: 15_393, 2020: 16_031, 2021: 14_073, 2022: 14_354}
    assert totals["sum"].to_dict() == {2019: 30_826_950, 2020: 22_203_446, 2021: 25_118_368, 2022: 38_508_510}
    assert (frame["flow"] >= meta_flows.MIN_MIGRANTS).all()
    assert (frame["origin"] != frame["destination"]).all()
    codes = set(frame["origin"]) | set(frame["destination"])
    assert {"NAM", "XKX"} <= codes and not {"CHN", "IRN"} & codes and len(codes) == 181
    got = _key(frame)
    assert got[(2019, "IND", "ARE")] > got[(2019, "ARE", "IND")]  # the Gulf draws migrants from India
