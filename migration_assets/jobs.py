"""The named jobs: the stages a user runs, from the UI (Jobs), `dagster job launch`, or `migration-run`.

    ingest            raw sources with their quality checks, the harmonized panel, and the synthetic
                      world's truth or the anchors' published estimates (yearly tables over a range
                      of year partitions, editions whole)
    train_members     one ensemble member per run (a partition of models/member); members run in
                      parallel as separate runs, at most the `member_training` pool's limit at once
    estimate          held-out validation and interval calibration, the yearly estimate tables with
                      their invariant checks, and (published data) the comparison with the anchors
    export_estimates  the estimate tables as Parquet, CSV and NetCDF files and the HTML report

`migration-run` runs them in this order; every run it makes is a run of one of these jobs, so the
UI can re-execute it. Dagster cannot put member partitions and year partitions in one run, so a
full refresh is these four runs (or "Materialize all" in the UI, which launches them as a backfill).
"""

import dagster as dg

from .exports.assets import export_job
from .sources import RAW_CHECKS

INGEST = "ingest"
TRAIN_MEMBERS = "train_members"
ESTIMATE = "estimate"
EXPORT = export_job.name

ingest = dg.define_asset_job(
    INGEST, selection=dg.AssetSelection.groups("raw", "panel", "synthetic_truth", "reference")
    | dg.AssetSelection.checks(*RAW_CHECKS),
    description="Raw sources with their quality checks, the harmonized panel, and the truth (synthetic world) or "
                "the anchors' published estimates. Launch it over the range of years the source covers.")
# On Kubernetes (deploy/k8s) each run is a pod: a member's pod asks for what one member takes on the
# real data (about 3 GB while it trains, 2 cores); ignored elsewhere. For a GPU node, add
# "limits": {"nvidia.com/gpu": 1}: the member trains on it (MemberConfig.device "auto").
MEMBER_POD = {"container_config": {"resources": {"requests": {"cpu": "2", "memory": "6Gi"},
                                                 "limits": {"memory": "12Gi"}}}}
train_members = dg.define_asset_job(
    TRAIN_MEMBERS, selection=dg.AssetSelection.assets(dg.AssetKey(["models", "member"])),
    tags={"dagster-k8s/config": MEMBER_POD},
    description="Train one ensemble member (one partition per run); runs of several members train in parallel, "
                "at most as many at once as the `member_training` pool allows.")
estimate = dg.define_asset_job(
    ESTIMATE, selection=dg.AssetSelection.groups("validation", "estimates"),
    description="Held-out validation and interval calibration of the trained members, then the yearly estimate "
                "tables with their invariant checks. Launch it over every year the source covers.")

JOBS = [ingest, train_members, estimate, export_job]
# the job whose runs materialize each group (runner.py, and what the automation requests in process)
JOB_OF_GROUP = {"raw": INGEST, "panel": INGEST, "synthetic_truth": INGEST, "reference": INGEST,
                "models": TRAIN_MEMBERS, "validation": ESTIMATE, "estimates": ESTIMATE, "exports": EXPORT}
