"""Mapping historic and non-canonical codes onto the canonical list (panel/harmonize.py)."""

import pandas as pd
import pytest

from migration_assets.panel.harmonize import HarmonizationReport, harmonize

CANON = ["SDN", "SSD", "SRB", "MNE", "ITA", "GBR"]
POP = pd.DataFrame({"year": [2005, 2005, 2005, 2005, 2012, 2012],
                    "country": ["SDN", "SSD", "SRB", "MNE", "SDN", "SSD"],
                    "population": [30.0, 10.0, 7.0, 3.0, 36.0, 12.0]})


def test_split_shares_a_predecessor_by_population_before_the_break():
    stocks = pd.DataFrame({"year": [2005, 2012, 2012], "birth": ["ITA", "ITA", "ITA"],
                           "residence": ["SDN", "SDN", "SSD"], "stock": [400.0, 300.0, 50.0]})
    report = HarmonizationReport()
    out = harmonize(stocks, "residence", ["stock"], CANON, POP, report)
    got = out.set_index(["year", "residence"])["stock"]
    assert got[(2005, "SDN")] == pytest.approx(300.0) and got[(2005, "SSD")] == pytest.approx(100.0)
    assert got[(2012, "SDN")] == 300.0 and got[(2012, "SSD")] == 50.0  # after 2011 as reported
    assert out["stock"].sum() == pytest.approx(750.0)  # nothing lost
    assert report.split == {"SDN": 1}


def test_split_historic_code_and_merge_into_canonical():
    stocks = pd.DataFrame({"year": [2005, 2005, 2005], "birth": ["SCG", "XKX", "VAT"],
                           "residence": ["ITA", "ITA", "GBR"], "stock": [1000.0, 20.0, 5.0]})
    report = HarmonizationReport()
    out = harmonize(stocks, "birth", ["stock"], CANON, POP, report)
    got = out.set_index(["birth", "residence"])["stock"]
    # SCG -> SRB/MNE 70/30, then Kosovo merged into Serbia; Holy See merged into Italy (a birth country here)
    assert got[("SRB", "ITA")] == pytest.approx(700.0 + 20.0)
    assert got[("MNE", "ITA")] == pytest.approx(300.0)
    assert got[("ITA", "GBR")] == 5.0
    assert report.merged == {"XKX": 1, "VAT": 1}


def test_non_additive_columns_keep_the_canonical_value_and_unknown_codes_are_dropped():
    demo = pd.DataFrame({"year": [2005, 2005, 2005, 2005], "country": ["GBR", "JEY", "ITA", "ZZZ"],
                         "population": [60.0, 0.1, 58.0, 1.0], "life_expectancy": [79.0, 81.0, 81.5, 50.0]})
    report = HarmonizationReport()
    out = harmonize(demo, "country", ["population"], CANON, POP, report).set_index("country")
    assert out.loc["GBR", "population"] == pytest.approx(60.1)
    assert out.loc["GBR", "life_expectancy"] == 79.0
    assert "ZZZ" not in out.index and report.dropped == {"ZZZ": 1}


def test_a_column_that_already_reports_the_successor_is_not_split():
    # UN stocks: South-Sudan-born are reported apart in 2005, South Sudan as a residence is not
    stocks = pd.DataFrame({"year": [2005, 2005, 2005], "birth": ["SDN", "SSD", "ITA"],
                           "residence": ["ITA", "ITA", "SDN"], "stock": [80.0, 20.0, 400.0]})
    out = harmonize(stocks, "birth", ["stock"], CANON, POP)
    got = out.set_index(["birth", "residence"])["stock"]
    assert got[("SDN", "ITA")] == 80.0 and got[("SSD", "ITA")] == 20.0
    out = harmonize(out, "residence", ["stock"], CANON, POP).set_index(["birth", "residence"])["stock"]
    assert out[("ITA", "SDN")] == pytest.approx(300.0) and out[("ITA", "SSD")] == pytest.approx(100.0)
