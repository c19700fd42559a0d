"""Short descriptions of failed runs: the failing asset or check, its message and its fix, on one line.

The command-line tools print these; the tracebacks and the full Dagster log go to a log file."""

from __future__ import annotations

import re
import sys

import dagster as dg

MAX_CHARS = 600


class RunFailed(RuntimeError):
    """A Dagster run failed or a blocking check did not pass; the message says where and why."""


def one_line(text: str, max_lines: int = 2, max_chars: int = MAX_CHARS) -> str:
    """The first lines of a message joined into one (markdown bullets and emphasis removed), with a
    note of how many more lines there are; a long message keeps its head and its 'Fix: ...'."""
    lines = [re.sub(r"\s+", " ", line.replace("**", "")).strip(" -") for line in str(text).splitlines()]
    lines = [line for line in lines if line]
    out = " ".join(lines[:max_lines])
    if len(lines) > max_lines:
        out += f" (+{len(lines) - max_lines} more line(s) in the log)"
    if len(out) > max_chars:
        fix = out.rfind("Fix:")
        tail = out[fix:][: max_chars // 2] if fix > max_chars // 2 else ""
        out = out[: max_chars - len(tail) - 5].rstrip() + " ... " + tail
    return out


def _error_text(error) -> str:
    """The message of the first error in the chain that is not one of Dagster's wrappers."""
    while error.cls_name and error.cls_name.startswith("Dagster") and error.cause is not None:
        error = error.cause
    message = error.message or ""
    # "module.Class: message" -> "message" (the class is in the log)
    prefix = re.match(r"^[\w.]*\b" + re.escape(error.cls_name or "") + r": ", message) if error.cls_name else None
    if prefix:
        message = message[prefix.end():]
        if error.cls_name not in ("Failure", "RunFailed", "WarehouseError", "PreflightError", "ContractError",
                                  "SourceFileError"):
            message = f"{error.cls_name}: {message}"
    return message


def _failure_text(event: dg.DagsterEvent) -> str:
    data = event.step_failure_data
    if data.user_failure_data is not None and data.user_failure_data.description:
        return data.user_failure_data.description
    return _error_text(data.error) if data.error is not None else "failed"


def _check_text(evaluation) -> str:
    if evaluation.description:
        return evaluation.description
    values = []
    for name, value in evaluation.metadata.items():
        raw = value.value if hasattr(value, "value") else value
        if isinstance(raw, (int, float, str, bool)) and "\n" not in str(raw):
            values.append(f"{name}={raw:.4g}" if isinstance(raw, float) else f"{name}={raw}")
    return "did not pass" + (f" ({', '.join(values[:4])})" if values else "")


def failed_checks(result) -> list:
    return [e for e in result.get_asset_check_evaluations()
            if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR]


def failure_summary(result) -> str:
    """What failed in a run, on one line: '<asset or asset:check>: <message with its fix>', and how
    many other failures there were."""
    checks = failed_checks(result)
    items = []
    for event in result.get_step_failure_events():
        data = event.step_failure_data
        if data.error is not None and data.error.cls_name == "DagsterAssetCheckFailedError":
            continue  # a blocking check: described by its evaluation below
        name = event.step_key.replace("__", "/")
        own = [c for c in checks if c.asset_key.to_user_string() == name]
        checks = [c for c in checks if c not in own]
        label = ", ".join(f"{c.asset_key.to_user_string()}:{c.check_name}" for c in own) or name
        items.append(f"{label}: {one_line(_failure_text(event))}")
    items += [f"{c.asset_key.to_user_string()}:{c.check_name}: {one_line(_check_text(c))}" for c in checks]
    if not items:
        return f"run {result.run_id} failed"
    return items[0] + (f" (and {len(items) - 1} more failure(s) in the log)" if len(items) > 1 else "")


def log_check_details(result, stream=None) -> None:
    """The metadata of every failed blocking check, for the log (the console log only says 'did not pass')."""
    stream = stream or sys.stderr
    for c in failed_checks(result):
        print(f"\nFailed check {c.asset_key.to_user_string()}:{c.check_name}"
              + (f": {c.description}" if c.description else ""), file=stream)
        for name, value in c.metadata.items():
            print(f"  {name}: {value.value if hasattr(value, 'value') else value}", file=stream)
    stream.flush()


def raise_if_failed(result, what: str):
    """The result, or RunFailed('<what> failed: <summary>') if the run failed or a blocking check did not pass."""
    if result.success and not failed_checks(result):
        return result
    log_check_details(result)
    raise RunFailed(f"{what} failed: {failure_summary(result)}")


class _StoredRun:
    """The events of a finished run in the instance, as failure_summary reads a run's result."""

    def __init__(self, instance, run_id: str):
        self.run_id = run_id
        self._events = [r.dagster_event for r in instance.all_logs(run_id) if r.dagster_event is not None]

    def get_step_failure_events(self) -> list:
        return [e for e in self._events if e.event_type_value == "STEP_FAILURE"]

    def get_asset_check_evaluations(self) -> list:
        return [e.event_specific_data for e in self._events if e.event_type_value == "ASSET_CHECK_EVALUATION"]


def stored_failure_summary(instance, run_id: str) -> str:
    """failure_summary of a run executed in another process, from its events in the instance."""
    return failure_summary(_StoredRun(instance, run_id))
