"""Shared fixtures: panels built from small synthetic worlds, and in-process Dagster runs."""

import os
from pathlib import Path

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from migration_assets.model.tensors import PANEL_INPUTS, ModelInputs, Targets, build_inputs, build_targets  # noqa: E402
from migration_assets.panel import build  # noqa: E402
from migration_assets.synthetic import SyntheticWorld  # noqa: E402


def graph_of(source) -> list:
    """The assets and checks defined for a source, for tests that call dg.materialize themselves."""
    from migration_assets.definitions import assets_for
    from migration_assets.sources import RAW_CHECKS

    return [*assets_for(source), *RAW_CHECKS]


# The published-data bundle of the development workspace (never copied into the repository).
BUNDLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def bundle() -> Path:
    """The real published files; CI sets MIGRATION_REQUIRE_BUNDLE=1 so that their absence fails."""
    if not (BUNDLE / "MANIFEST.md").exists():
        if os.environ.get("MIGRATION_REQUIRE_BUNDLE") == "1":
            pytest.fail(f"the published-data bundle is missing at {BUNDLE}")
        pytest.skip(f"published-data bundle not found at {BUNDLE}")
    return BUNDLE


def panel_frames(world: SyntheticWorld, settings: build.PanelSettings = build.PanelSettings()) -> dict[str, pd.DataFrame]:
    """The panel tables of a world, built with the same functions as the panel assets."""
    raw = {name: world.raw(name) for name in ["countries", "migrant_stocks", "demography", "net_migration", "gdp",
                                               "gravity", "union_membership", "conflict", "refugees", "observed_flows",
                                               "meta_flows", "imfsc_flows"]}
    demo = raw["demography"]
    c = build.countries(raw["countries"], demo)
    jan, _ = build.stocks_january(c, raw["migrant_stocks"], raw["refugees"], demo)
    reported = pd.concat([raw[n] for n in ["observed_flows", "meta_flows", "imfsc_flows"]], ignore_index=True)
    flows, _ = build.flow_targets(c, reported, demo, settings)
    cy = build.country_year(c, demo, raw["gdp"], raw["conflict"], raw["union_membership"])[0]
    return {
        "countries": c,
        "country_year": cy,
        "dyads": build.dyads(c, raw["gravity"])[0],
        "refugees": build.refugees_panel(c, raw["refugees"], demo)[0],
        "stocks_january": jan,
        "initial_stocks": build.initial_stocks(c, jan, cy)[0],
        "stock_targets": build.stock_targets(jan, settings.stock_relative_error)[0],
        "net_migration_targets": build.net_migration_targets(c, raw["net_migration"], demo),
        "flow_targets": flows,
        "edges": build.edges(c, jan, flows, settings)[0],
    }


def model_data(world: SyntheticWorld) -> tuple[ModelInputs, Targets]:
    """The model's tensors for a world, as the member asset builds them."""
    frames = panel_frames(world)
    inputs = build_inputs(*(frames[n] for n in PANEL_INPUTS))
    targets = build_targets(frames["countries"], inputs.years, frames["stock_targets"],
                            frames["net_migration_targets"], frames["flow_targets"])
    return inputs, targets
