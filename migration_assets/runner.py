"""Running the named jobs (jobs.py) from Python: the one place in the code that executes runs.

`migration-run`, `migration-update`, the release sensor's in-process twin, the tests and the
benchmarks all run the graph through these functions, so every run is a run of a named job that
the UI can show and re-execute. A run that fails, or whose blocking check does not pass, raises
RunFailed naming the asset or check, its message and its fix (failures.py).

Most runs execute in the calling process, with the resources given. Members trained in parallel
(`train_members_in_parallel`) are runs of `train_members`, each executed as `dagster job execute`
does from the code location (definitions.py, resources from the environment) in a process of its
own; the `member_training` concurrency pool decides how many train at once.

`instance()` is the Dagster instance of $DAGSTER_HOME whatever the current folder.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Callable, Iterator

import dagster as dg

from .failures import RunFailed, raise_if_failed, stored_failure_summary
from .jobs import ESTIMATE, EXPORT, INGEST, JOB_OF_GROUP, TRAIN_MEMBERS
from .leftovers import PROCESS_TAG, end_run, this_process
from .partitions import LAST_YEAR, MEMBER_POOL
from .processes import die_with_parent

INFO_LOGS = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
LAUNCH_TAG = "migration/launch"  # the member runs launched together by one train_members_in_parallel


def instance() -> dg.DagsterInstance:
    """The instance of $DAGSTER_HOME, its dagster.yaml's relative storage folders (`data/dagster`...)
    taken from DAGSTER_HOME, as `dagster dev` started there takes them, whatever the current folder."""
    import yaml
    from dagster._core.instance.ref import InstanceRef  # what `dagster dev` builds its instance from

    home = Path(os.environ["DAGSTER_HOME"]).resolve()
    config = home / "dagster.yaml"
    settings = (yaml.safe_load(config.read_text()) or {}) if config.exists() else {}

    def absolute(value):
        if isinstance(value, dict):
            return {k: str(home / v) if k == "base_dir" and isinstance(v, str) and not Path(v).is_absolute()
                    else absolute(v) for k, v in value.items()}
        return value

    overrides = {k: v for k, v in ((k, absolute(v)) for k, v in settings.items()) if v != settings[k]}
    return dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home), overrides=overrides))


def year_range(first: int | str, last: int | str) -> dict[str, str]:
    """Tags of one run over the year partitions first..last (Dagster's single-run backfill)."""
    return {RANGE_START: str(first), RANGE_END: str(last)}


def source_years(resources: dict) -> tuple[int, int]:
    """First and last year of the source's demography within the yearly partitions (MIGRATION_LAST_YEAR;
    WPP's projection goes further): the years the raw tables land and estimates cover."""
    years = resources["source"].table("demography")["year"]
    return int(years.min()), min(int(years.max()), LAST_YEAR)


def run(job: str, resources: dict, instance: dg.DagsterInstance, what: str, *, run_config: dict | None = None,
        tags: dict | None = None, partition_key: str | None = None,
        selection: list[dg.AssetKey] | None = None) -> dg.ExecuteInProcessResult:
    """One run of the named job (all of it, or the assets in `selection` with their checks), in
    process, with these resources; RunFailed('<what> failed: ...') if it fails."""
    from .definitions import build_defs

    job_def = build_defs(resources).resolve_job_def(job)
    tags = {PROCESS_TAG: this_process(), **(tags or {})}  # a run whose process is gone is reclaimed (leftovers.py)
    result = job_def.execute_in_process(run_config={**INFO_LOGS, **(run_config or {})}, instance=instance,
                                        partition_key=partition_key, tags=tags, asset_selection=selection,
                                        raise_on_error=False)
    return raise_if_failed(result, what)


def job_of(keys: list[dg.AssetKey], graph) -> str:
    """The named job whose runs materialize these assets (one group's)."""
    return JOB_OF_GROUP[graph.get(keys[0]).group_name]


# ---------------------------------------------------------------------------------------------
# The stages of `migration-run`.


def ingest(resources: dict, instance: dg.DagsterInstance, run_config: dict | None = None,
           log: Callable = print) -> dg.ExecuteInProcessResult:
    """Raw sources with their checks, the panel, and the truth or the anchors' estimates, over
    every year of the source's demography."""
    first, last = source_years(resources)
    log(f"[1/5] raw sources {first}-{last}, quality checks and panel (job {INGEST})")
    return run(INGEST, resources, instance, "raw/panel run", run_config=run_config, tags=year_range(first, last))


def member_run_config(member_config: dict) -> dict:
    return {"ops": {"models__member": {"config": member_config}}}


def train_member(resources: dict, instance: dg.DagsterInstance, member: str, member_config: dict
                 ) -> dg.ExecuteInProcessResult:
    """One member, in this process (which gets its torch threads back afterwards: the member sets
    them to partitions.member_threads())."""
    import torch

    threads = torch.get_num_threads()
    try:
        return run(TRAIN_MEMBERS, resources, instance, f"member {member}", partition_key=member,
                   run_config=member_run_config(member_config))
    finally:
        torch.set_num_threads(threads)


def member_outcome(instance: dg.DagsterInstance, member: str) -> str:
    """What the member's latest materialization did, in words: trained, warm-started, or unchanged."""
    records = instance.fetch_materializations(dg.AssetRecordsFilter(
        dg.AssetKey(["models", "member"]), asset_partitions=[member]), limit=1).records
    meta = records[0].asset_materialization.metadata if records else {}
    mode = meta["update"].value if "update" in meta else None
    return {"unchanged": "unchanged: inputs and settings as at its last training, nothing trained",
            "warm": "warm-started"}.get(mode, "trained")


def train_members_in_parallel(instance: dg.DagsterInstance, members: list[str], member_config: dict,
                              parallel: int, poll_s: float = 1.0) -> Iterator[str]:
    """Runs of `train_members`, one per member, `parallel` at a time, each as `dagster job execute`
    runs it from the code location (definitions.py, resources from the environment), in a process
    of its own, its step after taking a slot of the `member_training` pool, whose limit is set to
    `parallel`. Runs are started as slots free up, not
    all at once: a run waiting for a slot polls the instance at about a sixth of a core (measured on
    the real data with ten members), time the members training beside it would lose. Yields each
    member as its run succeeds; RunFailed for the first that failed, once every run has ended. A
    run process dies with this one (launched from the UI, a run's step process, started by the
    multiprocess executor, dies with its run: processes.end_with_run).

    Every member trains on partitions.member_threads() torch threads, as one trained alone
    (train_member) does, so that the numbers do not depend on `parallel`: with 5 members, 2 at a
    time, the last trains alone on one core of two (a member of an earlier short round trained on 2
    threads, 0.35 s an epoch against 0.50 s on the synthetic world, but its weights then differed by
    up to 5.5e-7)."""
    if instance.is_ephemeral:
        raise ValueError("members in parallel need a persistent Dagster instance (DAGSTER_HOME)")
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        raise ValueError("the Dagster instance's storage has no concurrency pools: train members one at a time "
                         "(--parallel 1)")
    storage.set_concurrency_slots(MEMBER_POOL, parallel)
    launch = uuid.uuid4().hex[:12]
    with tempfile.TemporaryDirectory(prefix="member-runs-") as folder:
        # each run trains in its own process already: executed in process, it does not start a second
        # one (which imports the definitions again: ~25 s a round of members on the synthetic world)
        in_process = {"execution": {"config": {"in_process": {}}}}

        def start(member: str) -> subprocess.Popen:
            config = Path(folder) / f"run_config_{member}.yaml"
            config.write_text(json.dumps({**INFO_LOGS, **in_process,  # JSON is YAML
                                          **member_run_config(member_config)}))
            # the member process dies with this one: a run left unfinished is reclaimed (leftovers.py)
            tags = {"dagster/partition": member, LAUNCH_TAG: launch, PROCESS_TAG: this_process()}
            command = [str(Path(sys.executable).parent / "dagster"), "job", "execute", "-m",
                       "migration_assets.definitions", "-a", "defs", "-j", TRAIN_MEMBERS, "--tags", json.dumps(tags),
                       "-c", str(config)]
            # Dagster marks `dagster job execute` superseded (by `dg launch`); it still runs the job with our tags,
            # and its warning was the first lines of every member's log
            quiet = ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"),
                                           "ignore:Function `job_execute_command` is superseded"]))
            env = {**os.environ, "PYTHONWARNINGS": quiet}
            return subprocess.Popen(command, stdout=2, env=env,  # both to this process's stderr (the log)
                                    cwd=os.environ.get("DAGSTER_HOME"),  # where dagster.yaml's relative folders are
                                    preexec_fn=functools.partial(die_with_parent, os.getpid()))

        waiting, running, failed = list(members), {}, None
        while waiting or running:
            while waiting and len(running) < parallel:
                member = waiting.pop(0)
                running[member] = start(member)
            for member, process in list(running.items()):
                if process.poll() is None:
                    continue
                del running[member]
                runs = instance.get_runs(dg.RunsFilter(tags={LAUNCH_TAG: launch, "dagster/partition": member}))
                if runs and not runs[0].is_finished:  # its process was killed: free its slot for the others
                    end_run(instance, runs[0], f"its process ended with exit status {process.returncode} (killed?)")
                    runs = instance.get_runs(dg.RunsFilter(run_ids=[runs[0].run_id]))
                if runs and runs[0].status == dg.DagsterRunStatus.SUCCESS and process.returncode == 0:
                    yield member
                    continue
                what = f"member {member}"
                failed = failed or (RunFailed(f"{what} failed: {stored_failure_summary(instance, runs[0].run_id)}")
                                    if runs else RunFailed(f"{what} failed before its run started (exit status "
                                                           f"{process.returncode}); see the log"))
            time.sleep(poll_s if running else 0)
    if failed is not None:
        raise failed


def estimate(resources: dict, instance: dg.DagsterInstance, validation_config: dict | None = None,
             estimate_config: dict | None = None) -> dg.ExecuteInProcessResult:
    """Held-out validation and calibration, the estimate tables of every year with their invariant
    checks, and (published data) the comparison with the anchors, in one run."""
    first, last = source_years(resources)
    ops = {"flow_validation": {"config": validation_config or {}},
           "ensemble_estimates": {"config": estimate_config or {}}}
    return run(ESTIMATE, resources, instance, "estimates run", run_config={"ops": ops}, tags=year_range(first, last))


def export(resources: dict, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    return run(EXPORT, resources, instance, "exports run")
