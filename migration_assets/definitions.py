"""The Definitions of the platform, built for the configured source: assets, checks, jobs, sensors,
schedules and resources.

What a source offers decides what is defined (sources/source.py): the synthetic world's truth
only where there is a truth, the anchors' published estimates and the comparison with them only
for the published data, so that every asset shown can be materialized ("Materialize all").
"""

import dagster as dg

from .ensemble.assets import MODEL_ASSETS
from .exports.assets import EXPORT_ASSETS
from .jobs import JOBS, TRAIN_MEMBERS
from .panel.assets import PANEL_ASSETS
from .resources import default_resources
from .sensors import JOBS as SENSOR_JOBS
from .sensors import SCHEDULES, SENSORS
from .sources import RAW_ASSETS, RAW_CHECKS
from .synthetic.assets import TRUTH_ASSETS
from .validation.assets import ANCHOR_ASSETS, VALIDATION_ASSETS
from .validation.classic import CLASSIC_ASSETS
from .validation.reference import REFERENCE_ASSETS

OWNERS = ["team:migration-estimates"]


def _owned(spec: dg.AssetSpec) -> dg.AssetSpec:
    """Every asset has its owners and its group as the `domain` tag (filters in the UI's catalog)."""
    return spec.merge_attributes(owners=OWNERS, tags={"domain": spec.group_name})


def assets_for(source) -> list:
    """The assets defined for a source: the estimation path, and what its capabilities add."""
    extra = [*(TRUTH_ASSETS if source.has_truth else []),
             *(REFERENCE_ASSETS + ANCHOR_ASSETS if source.has_reference else [])]
    return dg.map_asset_specs(_owned, [*RAW_ASSETS, *PANEL_ASSETS, *MODEL_ASSETS, *extra, *VALIDATION_ASSETS,
                                       *CLASSIC_ASSETS, *EXPORT_ASSETS])


def build_defs(resources: dict | None = None) -> dg.Definitions:
    """Definitions with these resources (default: from the environment, as the UI loads them)."""
    resources = resources or default_resources()
    return dg.Definitions(assets=assets_for(resources["source"]), asset_checks=RAW_CHECKS, sensors=SENSORS,
                          schedules=SCHEDULES, jobs=[*JOBS, *SENSOR_JOBS], resources=resources)


defs = build_defs()


def train_members_job() -> dg.JobDefinition:
    """The `train_members` job of the definitions above, for runs in other processes (dg.reconstructable)."""
    return defs.resolve_job_def(TRAIN_MEMBERS)
