"""migration-run refuses arguments that would train nothing or destroy trained members, before any work."""

import os
import subprocess
import sys

import pytest

from migration_assets import cli


@pytest.mark.parametrize("argv, message", [
    (["--epochs", "0"], "--epochs must be at least 1"),
    (["--epochs", "-1"], "--epochs must be at least 1"),
    (["--parallel", "0"], "--parallel must be at least 1"),
    (["--members", "6"], "--members must be between 1 and 5"),  # the default ensemble: 5 members
])
def test_bad_arguments_stop_with_a_one_line_usage_error(argv, message, capsys, monkeypatch):
    monkeypatch.setattr(cli, "_settle_paths", lambda: pytest.fail("work started before the arguments were checked"))
    with pytest.raises(SystemExit) as stop:
        cli.main(argv)
    assert stop.value.code == 2
    assert message in capsys.readouterr().err


def _partitions(**env) -> subprocess.CompletedProcess:
    code = ("from migration_assets.partitions import MEMBERS, YEARS\n"
            "print(MEMBERS.get_partition_keys()[-1], YEARS.get_partition_keys()[-1], len(YEARS.get_partition_keys()))")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env})


def test_the_partitions_are_the_configured_ensemble_and_years():
    """What the UI shows: as many members as the ensemble has, and the years the sources cover (no
    empty future years)."""
    assert _partitions().stdout.split() == ["m04", "2023", "34"]
    assert _partitions(MIGRATION_MEMBERS="10", MIGRATION_LAST_YEAR="2025").stdout.split() == ["m09", "2025", "36"]
    bad = _partitions(MIGRATION_MEMBERS="ten")
    assert bad.returncode != 0 and "MIGRATION_MEMBERS='ten' is not a number of members" in bad.stderr


def test_published_years_follow_the_newest_unhcr_release(tmp_path):
    """On published data the years reach the UNHCR release read (its year, when after 2023), unless
    MIGRATION_LAST_YEAR or MIGRATION_UNHCR_RELEASE says otherwise; the synthetic world keeps 2023."""
    for version in ("2022.12.1", "2025.12.1"):
        (tmp_path / "unhcr" / "refugees_package" / version).mkdir(parents=True)
        (tmp_path / "unhcr" / "refugees_package" / version / "population.rda").write_bytes(b"")
    published = {"MIGRATION_SOURCE": "published", "MIGRATION_RAW_DIR": str(tmp_path)}
    assert _partitions(**published).stdout.split() == ["m04", "2025", "36"]
    assert _partitions(**published, MIGRATION_UNHCR_RELEASE="2022.12.1").stdout.split()[1] == "2023"
    assert _partitions(**published, MIGRATION_LAST_YEAR="2024").stdout.split()[1] == "2024"
    assert _partitions(MIGRATION_RAW_DIR=str(tmp_path)).stdout.split()[1] == "2023"


@pytest.mark.parametrize("command, setting, message", [
    ("migration-run", {"MIGRATION_MEMBERS": "0"}, "MIGRATION_MEMBERS='0' is not a number of members between 1 and "
                                                  "100: unset it (default 5) or set e.g. MIGRATION_MEMBERS=5"),
    ("migration-run", {"MIGRATION_LAST_YEAR": "abc"}, "MIGRATION_LAST_YEAR='abc' is not a year between 1991 and "
                                                      "2100: unset it (default 2023) or set e.g. MIGRATION_LAST_YEAR=2023"),
    ("migration-update", {"MIGRATION_LAST_YEAR": "abc"}, "MIGRATION_LAST_YEAR='abc' is not a year between 1991 and "
                                                         "2100: unset it (default 2023) or set e.g. "
                                                         "MIGRATION_LAST_YEAR=2023"),
])
def test_a_bad_partition_setting_ends_with_one_line_naming_it_and_the_fix(tmp_path, command, setting, message):
    """Issue 33: these gave a 15-line traceback through migration-run."""
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if not k.startswith("MIGRATION_")}
    done = subprocess.run([str(Path(sys.executable).parent / command)], capture_output=True, text=True, timeout=120,
                          env={**env, "DAGSTER_HOME": str(tmp_path), **setting})
    assert done.returncode == 1 and done.stdout == ""  # nothing started, not even a log
    assert done.stderr.splitlines() == [f"{command}: {message}"]
