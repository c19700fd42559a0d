"""Issue 11: `migration-run` makes runs of named jobs that the UI can re-execute, members train in
parallel as separate runs under the `member_training` pool, and everything the definitions show for
the synthetic world can be materialized.

One `migration-run` on the default synthetic world (two members, two epochs each) in its own
DAGSTER_HOME, read back through the instance, as `dagster dev` reads it."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

PROJECT = Path(__file__).resolve().parents[1]
JOBS = {"ingest", "train_members", "estimate", "export_estimates"}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    home = tmp_path_factory.mktemp("project")
    shutil.copy(PROJECT / "dagster.yaml", home / "dagster.yaml")  # the project's instance: sqlite, pools
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIGRATION_") and k != "DAGSTER_HOME"}
    env.update(DAGSTER_HOME=str(home), MIGRATION_WAREHOUSE=str(home / "warehouse.duckdb"),
               MIGRATION_MODEL_DIR=str(home / "models"), MIGRATION_MEMBERS="2", GX_ANALYTICS_ENABLED="False")
    elsewhere = tmp_path_factory.mktemp("elsewhere")  # started from another folder: it never changes folder
    done = subprocess.run([sys.executable, "-m", "migration_assets.cli", "--epochs", "2", "--parallel", "2"],
                          env=env, capture_output=True, text=True, timeout=1800, cwd=elsewhere)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not list(elsewhere.iterdir()), "migration-run wrote into the folder it was started from"
    assert (home / "data" / "dagster" / "storage").is_dir() and list((home / "data" / "logs").glob("migration-run-*"))
    return home, env


@pytest.fixture
def instance(project, monkeypatch):
    """The run's instance, with the environment its runs had (re-executed steps load the definitions)."""
    home, env = project
    for key in [k for k in os.environ if k.startswith("MIGRATION_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    from migration_assets import runner

    with runner.instance() as instance:  # from whatever folder: dagster.yaml's storage under DAGSTER_HOME
        yield instance


def records(instance) -> list:
    return list(instance.get_run_records())


def test_every_run_is_a_run_of_a_named_job(instance):
    runs = [r.dagster_run for r in records(instance)]
    assert {r.job_name for r in runs} == JOBS, {r.job_name for r in runs}
    assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
    members = [r for r in runs if r.job_name == "train_members"]
    assert sorted(r.tags["dagster/partition"] for r in members) == ["m00", "m01"]


def test_members_train_at_the_same_time_in_their_own_processes(instance):
    member_runs = [r for r in records(instance) if r.dagster_run.job_name == "train_members"]
    (a, b) = [(r.start_time, r.end_time) for r in member_runs]
    assert a[0] < b[1] and b[0] < a[1], "the two member runs did not overlap"
    limits = {p.name: p.limit for p in instance.event_log_storage.get_pool_limits()}
    assert limits["member_training"] == 2
    # each member trained in a process of its own, not in migration-run's (which ran `ingest`)
    ingest = next(r for r in records(instance) if r.dagster_run.job_name == "ingest").dagster_run.run_id
    pids = [{e.dagster_event.pid for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_START)}
            for run_id in [ingest] + [r.dagster_run.run_id for r in member_runs]]
    assert all(len(p) == 1 for p in pids) and len(set.union(*pids)) == 3, pids


def test_a_member_trained_alone_gets_the_weights_it_got_trained_beside_another(project, instance):
    """Issue 33: `--parallel 1` (the member trained in this process) gives the numbers of the default
    (members trained at once, each in its own process)."""
    import torch

    from migration_assets import runner
    from migration_assets.resources import ModelStore, default_resources

    store = ModelStore(root=project[1]["MIGRATION_MODEL_DIR"])
    beside, _ = store.load("m00")
    threads = torch.get_num_threads()
    runner.train_member(default_resources(), instance, "m00", {"epochs": 2, "warm_start": False})
    alone, record = store.load("m00")
    assert torch.get_num_threads() == threads  # this process's threads are its own again
    assert record["train"]["epochs"] == 2 and beside.keys() == alone.keys()
    assert all(torch.equal(beside[k], alone[k]) for k in beside), "the weights depend on --parallel"


def test_everything_defined_for_the_synthetic_world_was_materialized(instance):
    from migration_assets.definitions import build_defs

    graph = build_defs().resolve_asset_graph()
    keys = graph.get_all_asset_keys()
    assert not {k for k in keys if k.path[0] == "reference" or k == dg.AssetKey(["validation", "anchor_scores"])}
    for key in keys:
        partitions = graph.get(key).partitions_def
        wanted = set(partitions.get_partition_keys()) if partitions else {None}
        if key == dg.AssetKey(["models", "member"]):  # the run's ensemble: MIGRATION_MEMBERS=2
            wanted = {"m00", "m01"}
        got = instance.get_materialized_partitions(key) if partitions else (
            {None} if instance.get_latest_materialization_event(key) else set())
        assert wanted <= set(got), f"{key.to_user_string()}: missing {sorted(wanted - set(got), key=str)[:5]}"


REEXECUTE = """
import sys
import dagster as dg
from dagster._core.definitions.reconstruct import ReconstructableRepository

parent_id, job, project = sys.argv[1:4]
kept = ("dagster/partition", "dagster/asset_partition_range_start", "dagster/asset_partition_range_end")
with dg.DagsterInstance.get() as instance:
    parent = instance.get_run_by_id(parent_id)
    # as the UI re-executes: the parent's job from the code location, with the parent's tags
    tags = {k: v for k, v in parent.tags.items() if not k.startswith("dagster/") or k in kept}
    location = ReconstructableRepository.for_module("migration_assets.definitions", "defs", working_directory=project)
    result = dg.execute_job(location.get_reconstructable_job(job), instance, tags=tags,
                            reexecution_options=dg.ReexecutionOptions(parent_run_id=parent_id))
    print(result.run_id)
"""


@pytest.mark.parametrize("job", ["train_members", "estimate"])
def test_the_ui_can_reexecute_a_member_run_and_an_estimates_run(project, instance, job):
    """What "Re-execute" does in the UI: a new process loads the code location and runs the parent
    run's job again, with its tags and run config."""
    home, env = project
    parent = next(r.dagster_run for r in records(instance) if r.dagster_run.job_name == job)
    done = subprocess.run([sys.executable, "-c", REEXECUTE, parent.run_id, job, str(PROJECT)], env=env, cwd=home,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    rerun = instance.get_run_by_id(done.stdout.split()[-1])
    assert rerun.status == dg.DagsterRunStatus.SUCCESS
    assert rerun.job_name == job and rerun.parent_run_id == parent.run_id
    assert rerun.tags.get("dagster/partition") == parent.tags.get("dagster/partition")
    again = {e.dagster_event.asset_key for e in
             instance.all_logs(rerun.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)}
    before = {e.dagster_event.asset_key for e in
              instance.all_logs(parent.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)}
    assert again == before and again


ASSET_KEYS = "{ assetNodes { assetKey { path } } }"
LAUNCH_BACKFILL = """
mutation ($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
  }
}"""
BACKFILL_STATUS = """
query ($id: String!) {
  partitionBackfillOrError(backfillId: $id) { ... on PartitionBackfill { status } ... on PythonError { message } }
}"""


def graphql(port: int, query: str, variables: dict | None = None) -> dict:
    import json
    import urllib.request

    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql",
                                     data=json.dumps({"query": query, "variables": variables or {}}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        body = json.loads(response.read())
    assert "errors" not in body, body["errors"]
    return body["data"]


def test_materialize_all_in_the_ui_succeeds(project, instance):
    """What "Materialize all" on the asset graph does: `dagster dev` (webserver and daemon) on the
    run's instance, the backfill of every asset over all its partitions launched through the
    webserver's GraphQL API as the UI launches it, with the default settings of every asset (five
    members' epochs, as configured), carried out by the daemon until it ends."""
    import socket
    import time

    home, env = project
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dagster = str(Path(sys.executable).parent / "dagster")
    server = subprocess.Popen([dagster, "dev", "-w", str(PROJECT / "workspace.yaml"), "-p", str(port)], cwd=home,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                keys = [n["assetKey"]["path"] for n in graphql(port, ASSET_KEYS)["assetNodes"]]
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "the webserver did not come up"
                time.sleep(2)
        launched = graphql(port, LAUNCH_BACKFILL, {"params": {
            "assetSelection": [{"path": k} for k in keys], "allPartitions": True}})["launchPartitionBackfill"]
        assert launched["__typename"] == "LaunchBackfillSuccess", launched
        backfill = launched["backfillId"]
        deadline = time.monotonic() + 1500
        while True:
            status = graphql(port, BACKFILL_STATUS, {"id": backfill})["partitionBackfillOrError"]["status"]
            if status not in ("REQUESTED", "CANCELING", "FAILING"):
                break
            assert time.monotonic() < deadline, f"the backfill was still {status}"
            time.sleep(5)
    finally:
        os.killpg(server.pid, 15)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:  # once, `dagster dev` outlived its 60 s after the backfill ended:
            os.killpg(server.pid, 9)  # its shutdown is not what this test checks
            server.wait(timeout=30)
    runs = instance.get_runs(dg.RunsFilter(tags={"dagster/backfill": backfill}))
    failed = [(r.job_name, r.run_id) for r in runs if r.status != dg.DagsterRunStatus.SUCCESS]
    assert status in ("COMPLETED", "COMPLETED_SUCCESS") and runs and not failed, (status, failed)
    done = {e.asset_key for r in runs for e in instance.get_records_for_run(
        r.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records}
    assert {dg.AssetKey(k) for k in keys} == done, {dg.AssetKey(k) for k in keys} ^ done
