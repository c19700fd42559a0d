"""The one Definitions object of the platform: assets, checks, sensors, schedules, jobs and resources."""

import dagster as dg

from .ensemble.assets import MODEL_ASSETS
from .exports.assets import EXPORT_ASSETS, export_job
from .panel.assets import PANEL_ASSETS
from .resources import default_resources
from .sensors import JOBS, SCHEDULES, SENSORS
from .sources import RAW_ASSETS, RAW_CHECKS
from .synthetic.assets import TRUTH_ASSETS
from .validation.assets import VALIDATION_ASSETS
from .validation.reference import REFERENCE_ASSETS

OWNERS = ["team:migration-estimates"]


def _owned(spec: dg.AssetSpec) -> dg.AssetSpec:
    """Every asset has its owners and its group as the `domain` tag (filters in the UI's catalog)."""
    return spec.merge_attributes(owners=OWNERS, tags={"domain": spec.group_name})


ASSETS = dg.map_asset_specs(_owned, [*RAW_ASSETS, *PANEL_ASSETS, *MODEL_ASSETS, *TRUTH_ASSETS, *REFERENCE_ASSETS,
                                     *VALIDATION_ASSETS, *EXPORT_ASSETS])
CHECKS = [*RAW_CHECKS]  # the estimates' invariant checks are part of their multi-asset
DEFINED = [*ASSETS, *CHECKS]  # what `dg.materialize` needs to run any selection of the graph

defs = dg.Definitions(assets=ASSETS, asset_checks=CHECKS, sensors=SENSORS, schedules=SCHEDULES, jobs=[*JOBS, export_job],
                      resources=default_resources())
