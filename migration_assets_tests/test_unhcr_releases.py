"""UNHCR's refugees package (MANIFEST.md §5b): releases read as published (.rda), chosen by version,
landing as revisions of what the warehouse holds.

Fixtures are written here in the publisher's format (R data files holding a tibble-like data frame
named `population` or `flows`, with the package's columns); the real releases are read from the
bundle."""

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadr
import pytest

from migration_assets.countries import known_codes
from migration_assets.schemas import RAW
from migration_assets.sources import refugee_arrivals, refugees
from migration_assets.sources.files import SourceFileError
from migration_assets.sources.published import PublishedSource
from migration_assets_tests.test_reliability_sources import check, failure_message, instance, land, landed  # noqa: F401

POPULATION = ["year", "coo_name", "coo", "coo_iso", "coa_name", "coa", "coa_iso", "refugees", "asylum_seekers",
              "returned_refugees", "idps", "returned_idps", "stateless", "ooc", "oip", "hst"]
FLOWS = ["year", "coo_name", "coo", "coo_iso", "coa_name", "coa", "coa_iso", "refugees", "asylum_seekers",
         "refugee_like", "oip"]


def population(rows: list[tuple]) -> pd.DataFrame:
    """The package's population tibble: rows of (year, coo_iso, coa_iso, refugees, asylum_seekers, oip)."""
    frame = pd.DataFrame(rows, columns=["year", "coo_iso", "coa_iso", "refugees", "asylum_seekers", "oip"])
    for c in POPULATION:
        if c not in frame:
            frame[c] = 0.0 if c not in ("coo_name", "coo", "coa_name", "coa") else frame[c[:3] + "_iso"]
    return frame[POPULATION].astype({"year": float})


def flows(rows: list[tuple], third: str = "refugee_like") -> pd.DataFrame:
    """The package's flows tibble: rows of (year, coo_iso, coa_iso, refugees, asylum_seekers, third, oip)."""
    frame = pd.DataFrame(rows, columns=["year", "coo_iso", "coa_iso", "refugees", "asylum_seekers", third, "oip"])
    for c in ("coo_name", "coo", "coa_name", "coa"):
        frame[c] = frame[c[:3] + "_iso"]
    return frame[[third if c == "refugee_like" else c for c in FLOWS]].astype({"year": float})


def release(root: Path, version: str, pop: pd.DataFrame, arrivals: pd.DataFrame | None = None) -> Path:
    folder = root / refugees.PACKAGE / version
    folder.mkdir(parents=True, exist_ok=True)
    pyreadr.write_rdata(str(folder / "population.rda"), pop, df_name="population", compress="gzip")
    if arrivals is not None:
        pyreadr.write_rdata(str(folder / "flows.rda"), arrivals, df_name="flows", compress="gzip")
    return folder


GOOD = [(2020, "AFG", "PAK", 1_400_000, 5_000, np.nan), (2021, "AFG", "PAK", 1_450_000, 6_000, np.nan),
        (2021, "UNK", "PAK", 900, 0, np.nan), (2021, "XXA", "DEU", 100, 0, np.nan),
        (2022, "TIB", "NPL", 12_000, 0, np.nan), (2022, "CHN", "NPL", 500, 0, np.nan),
        (2022, "UKR", "POL", 958_519, 372, 0), (2022, "VEN", "COL", 0, 1_000, 2_450_000),
        (1985, "VNM", "CHN", 280_000, 0, np.nan), (2022, "POL", "POL", 5, 5, 0)]


@pytest.fixture(autouse=True)
def no_configured_release(monkeypatch):
    monkeypatch.delenv("MIGRATION_UNHCR_RELEASE", raising=False)


def test_a_release_is_read_as_published(tmp_path):
    """Codes as the package writes them (UNK, XXA dropped; TIB counted as China), NA as 0, oip apart
    from refugees + asylum-seekers, years from 1990, and nobody in their own country."""
    release(tmp_path, "2022.12.1", population(GOOD))
    frame = refugees.read(tmp_path)
    assert frame.equals(RAW["refugees"].conform(frame))
    got = {tuple(r[:3]): tuple(r[3:]) for r in frame.itertuples(index=False)}
    assert got == {(2020, "AFG", "PAK"): (1_405_000, 5_000, 0), (2021, "AFG", "PAK"): (1_456_000, 6_000, 0),
                   (2022, "CHN", "NPL"): (12_500, 0, 0), (2022, "UKR", "POL"): (958_891, 372, 0),
                   (2022, "VEN", "COL"): (1_000, 1_000, 2_450_000)}
    assert refugees.files(tmp_path) == ["unhcr/refugees_package/2022.12.1/population.rda"]
    assert PublishedSource(root=str(tmp_path)).origin("refugees").endswith("2022.12.1/population.rda")


def test_the_newest_release_is_read_unless_one_is_configured(tmp_path, monkeypatch):
    release(tmp_path, "2023.12.0", population([(2023, "SYR", "TUR", 3_200_000, 0, 0)]))
    release(tmp_path, "2022.12.1", population([(2022, "SYR", "TUR", 3_500_000, 0, 0)]))
    release(tmp_path, "2023.6.0", population([(2023, "SYR", "TUR", 3_300_000, 0, 0)]))
    assert refugees.package_versions(tmp_path) == ["2022.12.1", "2023.6.0", "2023.12.0"]  # by number, not text
    assert refugees.read(tmp_path)["refugees"].tolist() == [3_200_000]
    monkeypatch.setenv("MIGRATION_UNHCR_RELEASE", "2022.12.1")
    assert refugees.read(tmp_path)["year"].tolist() == [2022]
    monkeypatch.setenv("MIGRATION_UNHCR_RELEASE", "2024.12.0")
    with pytest.raises(SourceFileError) as err:
        refugees.read(tmp_path)
    assert "2024.12.0/population.rda: file not found" in str(err.value)
    assert "releases present: 2022.12.1, 2023.6.0, 2023.12.0" in str(err.value)
    assert "Fix: fetch that release" in str(err.value)


def test_the_renamed_arrivals_column_is_understood(tmp_path):
    """2022.12.1 labels the third count of `flows` `returned_refugees`; 2023.12.0 corrected it to
    `refugee_like` (NEWS.md). Both read the same; the arrivals follow the chosen release."""
    rows = [(2022, "UKR", "DEU", 820_143, 705, 180_332, 0), (2022, "UKR", "POL", 956_760, 1_542, 0, 0),
            (2021, "STA", "DEU", 10, 0, 0, 0), (2021, "AFG", "IRN", 0, 0, 0, 0), (1989, "AFG", "PAK", 5, 0, 0, 0)]
    old = release(tmp_path / "a", "2022.12.1", population(GOOD), flows(rows, third="returned_refugees"))
    new = release(tmp_path / "b", "2023.12.0", population(GOOD), flows(rows))
    a, b = refugee_arrivals.read(old.parents[2]), refugee_arrivals.read(new.parents[2])
    assert a.equals(b) and a.equals(RAW["refugee_arrivals"].conform(a))
    assert a[["origin", "asylum", "refugee_like"]].values.tolist() == [["UKR", "DEU", 180_332], ["UKR", "POL", 0]]
    assert refugee_arrivals.files(old.parents[2]) == ["unhcr/refugees_package/2022.12.1/flows.rda"]
    # without a package release there are no arrivals
    assert refugee_arrivals.read(tmp_path / "none").empty


@pytest.mark.parametrize("damage, words", [
    ("drop:oip", "lacks the column(s) ['oip']"),
    ("rename:refugees", "lacks the column(s) ['refugees']"),
    ("code", "unknown country iso3(s) ['Q-Q'] (row 3: 'Q-Q')"),
    ("negative", "`asylum_seekers` of row 2 is -6000.0 (year 2021)"),
    ("infinite", "`refugees` of row 1 is inf (year 2020)"),
    ("truncated", "cannot be read as an R data file"),
])
def test_a_damaged_release_stops_naming_the_file_the_row_or_column_and_the_fix(tmp_path, damage, words):
    pop = population(GOOD)
    if damage == "drop:oip":
        pop = pop.drop(columns="oip")
    if damage == "rename:refugees":
        pop = pop.rename(columns={"refugees": "refugee_count"})
    if damage == "code":
        pop.loc[2, "coo_iso"] = "Q-Q"
    if damage == "negative":
        pop.loc[1, "asylum_seekers"] = -6000
    if damage == "infinite":
        pop["refugees"] = pop["refugees"].astype(float)
        pop.loc[0, "refugees"] = np.inf
    folder = release(tmp_path, "2024.12.0", pop)
    if damage == "truncated":
        data = (folder / "population.rda").read_bytes()
        (folder / "population.rda").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError) as err:
        refugees.read(tmp_path)
    message = str(err.value)
    assert "2024.12.0/population.rda" in message and words in message and "Fix:" in message, message


class SmallReleases(PublishedSource):
    """The published source without the declared coverage of the real release (these hold a few rows)."""

    def coverage(self, name):
        return None


def test_a_release_lands_as_a_revision_pairs_it_drops_revised_to_zero(tmp_path, instance):
    """The older files landed, then a package release: values revised, a year added, a pair UNHCR no
    longer lists revised to zero (it lands, counted in the metadata); a release that lacks a landed
    year still stops and leaves the table as it was."""
    db = str(tmp_path / "warehouse.duckdb")
    root = tmp_path / "raw"
    source = SmallReleases(root=str(root))
    years = [(y, "AFG", "PAK", 1_000_000 + y, 0, 0) for y in range(1990, 2001)]
    release(root, "2022.12.1", population(years + [(1995, "PAK", "AFG", 5_000, 0, 0)]))
    assert land(db, instance, source, "refugees").success
    release(root, "2023.12.0", population([(y, "AFG", "PAK", 2_000_000 + y, 10, 0) for y in range(1990, 2001)]))
    result = land(db, instance, source, "refugees")
    assert result.success
    metadata = result.asset_materializations_for_node("raw__refugees")[0].metadata
    assert "1 series (origin=PAK, asylum=AFG)" in metadata["revised_to_zero"].value
    after = landed(db, "refugees")
    assert after["refugees"].tolist() == [2_000_010 + y for y in range(1990, 2001)]  # asylum-seekers included
    # a release without 1999-2000 is a withdrawal: it stops, and the warehouse keeps the last landing
    release(root, "2024.12.0", population([(y, "AFG", "PAK", 3_000_000, 0, 0) for y in range(1990, 1999)]))
    result = land(db, instance, source, "refugees")
    assert not result.success and "2 years (1999; 2000)" in failure_message(result)
    assert landed(db, "refugees").equals(after)


# ---------------------------------------------------------------------------------------------
# the real releases


@pytest.fixture(scope="module")
def legacy_root(bundle, tmp_path_factory) -> Path:
    """The bundle's UNHCR files as they were before the package releases (links, not copies)."""
    root = tmp_path_factory.mktemp("legacy")
    for rel in (refugees.UNHCR_2020, refugees.POPSTATS):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(bundle / rel, root / rel)
    return root


def test_the_real_releases(bundle, legacy_root, monkeypatch):
    """Each of the four releases reads; the newest by default; each covers 1990 to its year, 2019
    included; against the older files the first release revises values and adds 2019 and 2021-2022."""
    assert refugees.package_versions(bundle) == ["2022.12.1", "2023.12.0", "2024.12.0", "2025.12.1"]
    old = refugees.read(legacy_root)
    assert sorted(old["year"].unique()) == [*range(1990, 2019), 2020] and (old["oip"] == 0).all()
    last = {}
    for version, year in [("2022.12.1", 2022), ("2023.12.0", 2023), ("2024.12.0", 2024), ("2025.12.1", 2025)]:
        monkeypatch.setenv("MIGRATION_UNHCR_RELEASE", version)
        frame = refugees.read(bundle)
        assert sorted(frame["year"].unique()) == list(range(1990, year + 1)), version
        arrivals = refugee_arrivals.read(bundle)
        assert arrivals["year"].min() == 1990 and arrivals["year"].max() == year, version
        for table in (frame, arrivals):  # every code names a country (UNHCR's UNK, UKN, XXA, STA dropped)
            assert set(table["origin"]) | set(table["asylum"]) <= known_codes(), version
        last[version] = frame
    newest = last["2025.12.1"]
    monkeypatch.delenv("MIGRATION_UNHCR_RELEASE")
    assert refugees.read(bundle).equals(newest)
    totals = newest.groupby("year")[["refugees", "oip"]].sum()
    assert 23e6 < totals.loc[2019, "refugees"] < 26e6 and 3e6 < totals.loc[2019, "oip"] < 4e6
    ukr_pol = newest.set_index(["year", "origin", "asylum"]).loc[(2022, "UKR", "POL"), "refugees"]
    assert 900_000 < ukr_pol < 1_000_000
    merged = old.merge(last["2022.12.1"], on=["year", "origin", "asylum"], suffixes=("_old", "_new"))
    assert len(merged) > 0.9 * len(old)
    revised = ~np.isclose(merged["refugees_old"], merged["refugees_new"])
    assert 0.05 < revised.mean() < 0.3  # a real revision, not a different table
