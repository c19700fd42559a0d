"""The Kubernetes deployment (migration_assets/deploy/k8s): its instance configuration loads under
the installed Dagster and dagster-k8s, the Helm values agree with it, and member runs ask for a pod
of their size."""

import re
from pathlib import Path

import yaml
from dagster._config import process_config
from dagster._core.instance.config import dagster_instance_config_schema
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster_k8s import K8sRunLauncher
from dagster_k8s.job import get_user_defined_k8s_config

PROJECT = Path(__file__).resolve().parents[1]
DEPLOY = PROJECT / "migration_assets" / "deploy" / "k8s"


def _load(name: str) -> dict:
    return yaml.safe_load((DEPLOY / name).read_text())


def _valid(config_type, value) -> None:
    result = process_config(config_type, value)
    assert result.success, [e.message for e in result.errors]


def test_the_instance_configuration_loads_with_the_k8s_run_launcher(monkeypatch):
    for var in ("DAGSTER_PG_HOST", "DAGSTER_PG_USER", "DAGSTER_PG_PASSWORD", "MIGRATION_IMAGE"):
        monkeypatch.setenv(var, "set-in-the-pod")  # what the deployment sets
    instance = _load("dagster.yaml")
    _valid(dagster_instance_config_schema(), instance)
    launcher = instance["run_launcher"]
    assert (launcher["module"], launcher["class"]) == ("dagster_k8s", "K8sRunLauncher")
    _valid(K8sRunLauncher.config_type(), launcher["config"])
    _valid(QueuedRunCoordinator.config_type(), instance["run_coordinator"]["config"])
    env = dict(v.split("=", 1) for v in launcher["config"]["env_vars"])
    assert env["MIGRATION_MODEL_DIR"].startswith("s3://")  # members on other nodes share one model store
    assert instance["concurrency"]["pools"]["default_limit"] == 1  # one DuckDB writer at a time


def test_the_helm_values_run_the_same_code_location_and_settings():
    values, instance = _load("values.yaml"), _load("dagster.yaml")
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    args = deployment["dagsterApiGrpcArgs"]
    module, attribute = args[args.index("--module-name") + 1], args[args.index("--attribute") + 1]
    assert (module, attribute) == ("migration_assets.definitions", "defs")
    env = {e["name"]: e["value"] for e in deployment["env"]}
    launched = dict(v.split("=", 1) for v in instance["run_launcher"]["config"]["env_vars"])
    assert env == launched
    assert values["runLauncher"]["type"] == "K8sRunLauncher"


def test_member_runs_ask_for_a_pod_of_their_size():
    from migration_assets.definitions import defs

    job = defs.resolve_job_def("train_members")
    config = get_user_defined_k8s_config(job.tags)
    requests = config.container_config["resources"]["requests"]
    assert requests["cpu"] == "2" and requests["memory"].endswith("Gi")


def test_the_image_installs_the_pinned_dagster_libraries():
    pins = dict(re.findall(r'"(dagster-[a-z-]+)==([\d.]+)"', (PROJECT / "pyproject.toml").read_text()))
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    for library, version in re.findall(r'"(dagster-(?:k8s|postgres))==([\d.]+)"', dockerfile):
        assert version == pins["dagster-duckdb"], library  # the libraries move with dagster 1.13.N as 0.29.N
