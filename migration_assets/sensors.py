"""Sensors and schedules: new data releases start runs of exactly the raw tables and years they change.

`raw_release_sensor` reads every raw table from the configured source (the published files, or
the synthetic world's settings) and compares content hashes with what the warehouse holds:
- an edition table (countries, migrant stocks, gravity) is compared whole, with the data version
  of its latest materialization;
- a yearly table is compared year by year, with the `year_hashes` its materializations record,
  over the years the source covers, every year of the demography and every year landed before
  (a year without rows lands empty, so a year the source withdrew leaves no stale rows). Each run
  of changed years is requested as one partition range.
Run keys carry the content hash, so one release never runs twice. A table whose files no longer
parse gets one run (keyed by the error) so that its asset reports the problem.

`automation_sensor` then carries each landed release downstream through the assets'
automation conditions: panel partitions of the changed years, the whole-history panel tables,
the members already trained (warm-started), their validation and the estimates.

`release_calendar` is the schedule for publishers' calendars: weekly in the months UN DESA, the
World Bank and UCDP usually publish, it re-downloads the catalog files that a publisher re-issues
under the same address (no pinned SHA-256) whose server version (ETag, Last-Modified or size)
changed since they were downloaded; the sensor then sees the new content.
"""

import hashlib
from pathlib import Path

import dagster as dg
import pandas as pd

from .partitions import YEARLY_RAW, YEARS
from .sources.source import MigrationSource, frame_digest
from .schemas import RAW
from .sources import RAW_ASSETS
from .sources.raw import year_hashes

RAW_KEYS = [key for asset in RAW_ASSETS for key in asset.keys]
RELEASE_TAG = "migration/release"
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def read_table(source: MigrationSource, name: str) -> pd.DataFrame | str:
    """A raw table as its asset would land it, or 'unreadable-<hash of the error>'."""
    try:
        return RAW[name].conform(source.table(name))
    except Exception as err:  # noqa: BLE001 - any reader error: the asset run will report it in full
        return "unreadable-" + hashlib.sha256(f"{type(err).__name__}: {err}".encode()).hexdigest()[:12]


def landed_version(instance: dg.DagsterInstance, key: dg.AssetKey) -> str | None:
    event = instance.get_latest_materialization_event(key)
    if event is None or event.asset_materialization is None:
        return None
    return event.asset_materialization.tags.get("dagster/data_version")


def landed_year_hashes(instance: dg.DagsterInstance, key: dg.AssetKey) -> dict[str, str]:
    """year -> content hash of the latest materialization of each year partition of a raw table."""
    latest: dict[str, str] = {}
    cursor = None
    while True:
        page = instance.fetch_materializations(key, limit=500, cursor=cursor)
        for record in page.records:
            mat = record.asset_materialization
            if mat is None or mat.partition is None or mat.partition in latest:
                continue
            hashes = mat.metadata.get("year_hashes")
            latest[mat.partition] = (hashes.value if hashes is not None else {}).get(mat.partition, "")
        if not page.has_more:
            return latest
        cursor = page.cursor


def year_runs(years: list[int]) -> list[tuple[int, int]]:
    """Consecutive years grouped into (first, last) runs: [1995, 2022, 2023] -> [(1995, 1995), (2022, 2023)]."""
    runs: list[tuple[int, int]] = []
    for y in sorted(years):
        if runs and y == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], y)
        else:
            runs.append((y, y))
    return runs


def release_requests(instance: dg.DagsterInstance, source: MigrationSource, current_time=None) -> list[dg.RunRequest]:
    """The runs that bring the warehouse's raw tables up to the source, each keyed by content."""
    keys = set(YEARS.get_partition_keys(current_time=current_time))
    demography = read_table(source, "demography")
    panel_years = set() if isinstance(demography, str) else {int(y) for y in demography["year"].unique()}
    requests = []
    for key in RAW_KEYS:
        name = key.path[-1]
        frame = read_table(source, name)
        if name not in YEARLY_RAW:
            digest = frame if isinstance(frame, str) else frame_digest(frame)
            if landed_version(instance, key) != digest:
                requests.append(dg.RunRequest(run_key=f"{key.to_user_string()}:{digest}", asset_selection=[key],
                                              tags={RELEASE_TAG: digest}))
            continue
        if isinstance(frame, str):  # one run over the latest year, which fails and says why
            last = max(keys)
            requests.append(dg.RunRequest(run_key=f"{key.to_user_string()}:{frame}", asset_selection=[key],
                                          partition_key=last, tags={RELEASE_TAG: frame}))
            continue
        landed = landed_year_hashes(instance, key)
        # a landed year the source no longer has is landed again, empty, so no stale rows remain
        source_years = panel_years | {int(y) for y in frame["year"].unique()} | {int(y) for y in landed}
        years = sorted(y for y in source_years if str(y) in keys)
        wanted = year_hashes(frame, years)
        changed = [y for y in years if landed.get(str(y)) != wanted[str(y)]]
        for first, last in year_runs(changed):
            digest = hashlib.sha256("".join(wanted[str(y)] for y in range(first, last + 1)).encode()).hexdigest()[:16]
            requests.append(dg.RunRequest(
                run_key=f"{key.to_user_string()}:{first}-{last}:{digest}", asset_selection=[key],
                tags={RELEASE_TAG: digest, RANGE_START: str(first), RANGE_END: str(last)}))
    return requests


def land_releases(instance: dg.DagsterInstance, resources: dict, op_config: dict | None = None,
                  log=lambda *_: None) -> list[tuple[str, str | None, str | None]]:
    """Run, in process, what `raw_release_sensor` would request, as runs of the job `ingest`:
    (table, first year, last year) per run (years None for an edition). `op_config` ({op name:
    {"config": ...}}) goes to the runs of those ops. Stops at the first run that fails."""
    from . import runner

    landed = []
    for request in release_requests(instance, resources["source"]):
        key = request.asset_selection[0]
        table = key.to_user_string()
        first, last = request.tags.get(RANGE_START), request.tags.get(RANGE_END)
        log(f"{table} {first}-{last}" if first else table)
        ops = {op: c for op, c in (op_config or {}).items() if op == key.to_python_identifier()}
        runner.run(runner.INGEST, resources, instance, f"landing {table}{f' {first}-{last}' if first else ''}",
                   selection=[key], tags=request.tags, run_config={"ops": ops} if ops else None)
        landed.append((table, first, last))
    return landed


@dg.sensor(
    asset_selection=dg.AssetSelection.assets(*RAW_KEYS),
    minimum_interval_seconds=6 * 3600,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Starts a run of each raw table (and, for yearly tables, of each range of years) whose source "
                "content changed since it was last landed.",
)
def raw_release_sensor(context: dg.SensorEvaluationContext, source: MigrationSource) -> dg.SensorResult:
    requests = release_requests(context.instance, source)
    if not requests:
        return dg.SensorResult(skip_reason="every raw table matches its source")
    return dg.SensorResult(run_requests=requests)


# Everything downstream of the raw tables follows its automation condition; the synthetic truth and
# the published anchors are landed by `migration-run` (they are references, not estimates).
automation_sensor = dg.AutomationConditionSensorDefinition(
    "automation_sensor",
    target=dg.AssetSelection.groups("panel", "models", "validation", "estimates", "exports"),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Carries landed releases downstream: panel years, whole-history panel tables, the members already "
                "trained, their validation and the estimates, each once per change.",
)


def reissued_downloads(root: Path, version=None) -> list:
    """Catalog files a publisher re-issues under the same address (no pinned SHA-256) whose server
    version (ETag, else Last-Modified, else size) differs from the one downloaded, or is unknown."""
    from . import fetch

    version = version or fetch.remote_version
    downloaded = fetch.read_state(root)["files"]
    due = []
    for entry in fetch.load_catalog():
        if entry.sha256 or entry.manual or not (root / entry.path).exists():
            continue
        try:
            changed = fetch.remote_changed(downloaded.get(entry.path, {}), version(entry.url))
        except OSError:
            continue  # unreachable today: the next tick asks again
        if changed is not False:
            due.append(entry)
    return due


@dg.op(description="Re-download the catalog files that their publisher re-issued (by ETag or Last-Modified).")
def refresh_reissued_files(context: dg.OpExecutionContext) -> None:
    from . import fetch
    from .preflight import raw_dir

    root = Path(raw_dir())  # where migration-fetch downloads
    due = reissued_downloads(root)
    context.log.info(f"{len(due)} re-issued file(s) to download into {root}: {[e.path for e in due]}")
    if due and fetch.run(due, root, force=True):
        raise dg.Failure("some downloads failed; the files already there are unchanged (see the log above)")


@dg.job(description="Downloads of re-issued source files; the raw release sensor lands what changed.")
def refresh_downloads():
    refresh_reissued_files()


# WPP appears in July of even years, the migrant-stock revisions in December/January, WDI GDP and
# UCDP in the first half of each year: check weekly through those months.
release_calendar = dg.ScheduleDefinition(
    name="release_calendar", job=refresh_downloads, cron_schedule="0 6 * 1,2,6,7,12 1",
    execution_timezone="UTC", default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Weekly in the publishers' release months: re-download re-issued files (published source only).")

SENSORS = [raw_release_sensor, automation_sensor]
SCHEDULES = [release_calendar]
JOBS = [refresh_downloads]
