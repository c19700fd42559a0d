"""Issue 12, case 3: an interrupted update is finished by the next one, and member workers die with
the process that started them."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import dagster as dg
import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from migration_assets import automation, cli, runner
from migration_assets.definitions import build_defs
from migration_assets.resources import ModelStore, WarehouseIOManager
from migration_assets.sources.source import SyntheticSource

WORLD = {"n_countries": 6, "end_year": 2000, "seed": 1}
OPS = {"models__member": {"config": {"finetune_epochs": 2}},
       "flow_validation": {"config": {"samples_per_member": 2, "min_cells_per_bin": 5, "min_cells_per_stratum": 5}},
       "ensemble_estimates": {"config": {"samples_per_member": 2}}}


def last_estimate_year(db: str) -> int:
    with duckdb.connect(db, read_only=True) as con:
        return con.execute("select max(year) from estimates.flows").fetchone()[0]


def test_an_interrupted_update_is_finished_by_the_next_one(tmp_path, monkeypatch):
    db = str(tmp_path / "warehouse.duckdb")

    def resources(last: int) -> dict:
        return {"io_manager": WarehouseIOManager(database=db), "warehouse": DuckDBResource(database=db),
                "model_store": ModelStore(root=str(tmp_path / "models")),
                "source": SyntheticSource(**WORLD, released_through=last)}

    with dg.DagsterInstance.ephemeral() as instance:
        # what `migration-run` does, on a release through 1999
        first = resources(1999)
        runner.ingest(first, instance, log=lambda *_: None)
        runner.train_member(first, instance, "m00", {"epochs": 5, "hidden": 8})
        runner.estimate(first, instance, OPS["flow_validation"]["config"], OPS["ensemble_estimates"]["config"])
        automation.mark_up_to_date(build_defs(first), instance)
        assert last_estimate_year(db) == 1999

        # 2000 is released; the update is killed when its second tick starts
        real, calls = automation.materialize_requested, []

        def killed_on_the_second_tick(*args, **kwargs):
            calls.append(args[3])  # the requested {key: partitions}
            if len(calls) == 2:
                raise KeyboardInterrupt("killed")
            return real(*args, **kwargs)

        monkeypatch.setattr(automation, "materialize_requested", killed_on_the_second_tick)
        second = resources(2000)
        with pytest.raises(KeyboardInterrupt):
            cli.update(instance, second, ops=OPS)
        assert last_estimate_year(db) == 1999  # raw and some panel years have 2000, the estimates not
        monkeypatch.setattr(automation, "materialize_requested", real)

        # the next update lands nothing new, and finishes what the killed one left
        landed, done = cli.update(instance, second, ops=OPS)
        assert landed == []
        keys = {k for k, _ in done}
        assert {"models/member", "validation/calibration", "estimates/flows"} <= keys, keys
        assert ("models/member", "m00") in done and ("estimates/flows", "2000") in done
        assert {k.to_user_string() for k in calls[1]} <= keys  # what the killed tick had asked for
        assert last_estimate_year(db) == 2000
        # and then nothing is left to do
        assert cli.update(instance, second, ops=OPS) == ([], [])


def step_process() -> None:
    """What a member's step process does first (ensemble/assets.py), then a long training."""
    from migration_assets.processes import end_with_run

    end_with_run()
    time.sleep(120)


# as Dagster's multiprocess executor starts step processes by default: spawned
WORKERS = textwrap.dedent("""
    import multiprocessing, time
    from migration_assets_tests.test_reliability_updates import step_process

    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=step_process) for _ in range(2)]
    for w in workers:
        w.start()
    time.sleep(3)
    print(" ".join(str(w.pid) for w in workers), flush=True)
    time.sleep(120)
""")


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as f:
            return "zombie" not in f.read().split("State:")[1].splitlines()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux's")
def test_member_workers_die_when_their_parent_is_killed():
    parent = subprocess.Popen([sys.executable, "-c", WORKERS], stdout=subprocess.PIPE, text=True)
    try:
        workers = [int(p) for p in parent.stdout.readline().split()]
        assert len(workers) == 2 and all(alive(p) for p in workers)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 20
        while any(alive(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(alive(p) for p in workers), "a worker outlived the process that started it"
    finally:
        if parent.poll() is None:
            parent.kill()
