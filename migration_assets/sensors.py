"""Sensors: new data releases start runs of the raw tables they change, and only those.

`raw_release_sensor` reads every raw table from the configured source (the published files,
or the synthetic world's settings) and compares its content hash with the data version of the
table's latest materialization. A table whose content changed, or that was never landed, gets
a run request keyed by table and content hash, so one release never runs twice; a table whose
files no longer parse gets one run (keyed by the error) so that its asset reports the problem.
"""

import hashlib

import dagster as dg

from .resources import MigrationSource, frame_digest
from .schemas import RAW
from .sources import RAW_ASSETS

RAW_KEYS = [key for asset in RAW_ASSETS for key in asset.keys]
RELEASE_TAG = "migration/release"


def content_digest(source: MigrationSource, name: str) -> str:
    """Content hash of a raw table as its asset would land it (its data version), or
    'unreadable-<hash of the error>' when the source cannot be read."""
    try:
        return frame_digest(RAW[name].conform(source.table(name)))
    except Exception as err:  # noqa: BLE001 - any reader error: the asset run will report it in full
        return "unreadable-" + hashlib.sha256(f"{type(err).__name__}: {err}".encode()).hexdigest()[:12]


def landed_version(instance: dg.DagsterInstance, key: dg.AssetKey) -> str | None:
    event = instance.get_latest_materialization_event(key)
    if event is None or event.asset_materialization is None:
        return None
    return event.asset_materialization.tags.get("dagster/data_version")


@dg.sensor(
    asset_selection=dg.AssetSelection.assets(*RAW_KEYS),
    minimum_interval_seconds=6 * 3600,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Starts a run of each raw table whose source content changed since it was last landed.",
)
def raw_release_sensor(context: dg.SensorEvaluationContext, source: MigrationSource) -> dg.SensorResult:
    requests = []
    for key in RAW_KEYS:
        digest = content_digest(source, key.path[-1])
        if landed_version(context.instance, key) == digest:
            continue
        requests.append(dg.RunRequest(run_key=f"{key.to_user_string()}:{digest}", asset_selection=[key],
                                      tags={RELEASE_TAG: digest}))
    if not requests:
        return dg.SensorResult(skip_reason="every raw table matches its source")
    return dg.SensorResult(run_requests=requests)


SENSORS = [raw_release_sensor]
