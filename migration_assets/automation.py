"""Automation conditions: how a landed release travels downstream, each asset once per release.

Every asset downstream of the raw tables waits for the same thing: the content (data version)
of some input changed since the asset last ran (`PENDING`), and its inputs are *quiet*: none is
running, and none is itself pending. An asset that depends on the panel through several paths of different lengths (the
members read yearly targets and the whole-history tables built from them) therefore runs once,
after the last of them, instead of once per path. Dagster cannot run assets of different
partitionings in one run, so the cascade takes one tick per layer:

    raw years (sensor) -> panel years and whole-history panel -> edges -> members (already trained)
    -> validation and calibration -> estimates of every year the demography covers

None of the conditions waits on the empty year partition that appears every 1 January
(dagster-style.md, pitfalls): yearly assets look only at their own year, whole-history assets do
not require every year to exist, and member partitions never trained count neither as missing
nor as pending. Nor do they wait on checks: a raw table that fails a critical expectation of its
blocking `gx_suite` raises and is not materialized, so nothing downstream sees a change, while
`all_deps_blocking_checks_passed()` would stall for ever on the yearly raw tables, whose check
results from single-run ranges carry no partition (dagster-style.md, pitfalls).
"""

import dagster as dg
from dagster._core.definitions.asset_daemon_cursor import AssetDaemonCursor
from dagster._serdes import deserialize_value, serialize_value

from .partitions import YEARLY_PANEL, YEARLY_RAW

AC = dg.AutomationCondition
MEMBERS = dg.AssetSelection.assets(dg.AssetKey(["models", "member"]))
# Yearly tables, read by what lies downstream: the estimate years the demography does not cover stay
# pending for ever, and the exports do not wait for them.
YEARLY_INPUTS = (dg.AssetSelection.assets(*(dg.AssetKey(["raw", n]) for n in YEARLY_RAW),
                                          *(dg.AssetKey(["panel", n]) for n in YEARLY_PANEL))
                 | dg.AssetSelection.key_prefixes(["estimates"]))

# An input counts as changed when its data version changed: raw tables and panel tables version
# their content, so a table rebuilt with the same rows (the country list after a new WPP year)
# stops the cascade there.
CHANGED_INPUT = AC.any_deps_match(AC.data_version_changed()).with_label("an input's content changed")
PENDING = CHANGED_INPUT.since_last_handled().with_label("an input changed since the last run")
# Inputs that exist for good (the panel's country list, the edges); yearly inputs may lack the years
# no release has reached, and member partitions may never have been trained.
INPUTS_EXIST = ~AC.any_deps_missing().ignore(MEMBERS | YEARLY_INPUTS)
# An input is about to change when it is running, or pending and able to run (a year whose raw
# inputs have not arrived, or a member never trained, is pending for ever and is not waited for).
QUIET_INPUTS = (
    ~AC.any_deps_match(AC.in_progress())
    & ~AC.any_deps_match(PENDING & ~AC.any_deps_missing().ignore(MEMBERS)).allow(YEARLY_INPUTS)
    & ~AC.any_deps_match(PENDING & INPUTS_EXIST).ignore(YEARLY_INPUTS | MEMBERS)
    & ~AC.any_deps_match(PENDING & ~AC.missing()).allow(MEMBERS)
).with_label("no input running or about to change")
_READY = PENDING & QUIET_INPUTS & ~AC.in_progress()

# Yearly panel tables: a year is rebuilt when that year of its raw inputs changes, and only then.
YEARLY = (_READY & ~AC.any_deps_missing()).with_label("yearly: when this year's inputs change")

# Whole-history panel tables: when any year of any input changes.
WHOLE_HISTORY = (_READY & INPUTS_EXIST).with_label("whole history: when any input year changes")

# Members: only the members already trained are kept up to date (`migration-run --members N` or the
# UI chooses the ensemble), when their panel changes or the model's code version does.
KEEP_TRAINED = (
    ((PENDING & QUIET_INPUTS) | AC.code_version_changed().since_last_handled())
    & ~AC.missing() & ~AC.in_progress() & ~AC.any_deps_in_progress()
).with_label("trained members: when the panel or the model code changes")

# Validation: after the members change, once at least one member exists.
AFTER_MEMBERS = (_READY & INPUTS_EXIST & AC.any_deps_match(~AC.missing()).allow(MEMBERS)).with_label(
    "when the members change")

# Yearly estimates: every year the demography covers (raw/demography is an input), after the
# calibration; member partitions never trained do not count as missing.
# The reported flows are read whole (they say which corridor-years are reported): years no release
# has reached yet are missing there for ever and are not waited for.
ESTIMATE_YEARS = (_READY & ~AC.any_deps_missing().ignore(
    MEMBERS | dg.AssetSelection.assets(dg.AssetKey(["panel", "flow_targets"])))).with_label(
    "estimate years: when members, calibration or panel change")

# Exports and the scores beside the classic methods: the whole of every estimate table, read again after the
# estimates change (the empty future year partitions of the estimates are not waited for), once estimates exist:
# an input computed before the members (validation/classic_flows, from the panel) does not trigger them alone.
AFTER_ESTIMATES = (_READY & AC.any_deps_match(~AC.missing()).allow(dg.AssetSelection.groups("estimates"))
                   ).with_label("after the estimates change")


# ---------------------------------------------------------------------------------------------
# The daemon's work, in process: for `migration-update`, tests and benchmarks.

def _run_config(graph, keys, ops: dict) -> dict:
    names = {graph.get(k).assets_def.node_def.name for k in keys}
    return {"ops": {name: cfg for name, cfg in ops.items() if name in names}}


def materialize_requested(graph, instance, resources, requested: dict, ops: dict) -> list[tuple[str, str | None]]:
    """Materialize what one tick requested ({key: partition keys}), asset by asset in dependency
    order, as the automation sensor's backfill would, as runs of the named job of each asset's
    group (jobs.py); the outputs of a multi-asset run together."""
    from . import runner

    order = {k: i for i, k in enumerate(graph.toposorted_asset_keys)}
    nodes: dict[int, tuple] = {}
    for key in requested:
        node = graph.get(key).assets_def
        nodes.setdefault(id(node), (node, []))[1].append(key)
    done = []
    for _, keys in sorted(nodes.values(), key=lambda n: min(order[k] for k in n[1])):
        parts = sorted(requested[keys[0]], key=str)
        pdef = graph.get(keys[0]).partitions_def
        if pdef is None:
            runs = [{}]
        elif isinstance(pdef, dg.TimeWindowPartitionsDefinition):
            runs = [{"tags": runner.year_range(parts[0], parts[-1])}]
        else:
            runs = [{"partition_key": p} for p in parts]
        for run in runs:
            runner.run(runner.job_of(keys, graph), resources, instance,
                       f"automation run of {[k.to_user_string() for k in keys]} {parts}", selection=keys,
                       run_config=_run_config(graph, keys, ops), **run)
        done += [(k.to_user_string(), p) for k in keys for p in parts]
    return done


# Where `migration-update` keeps its automation cursor: in the instance's storage, beside the runs,
# so that an update killed half-way leaves what it had not finished pending for the next one.
CURSOR_KEY = "migration/automation_cursor"


def stored_cursor(instance: dg.DagsterInstance) -> AssetDaemonCursor | None:
    value = instance.run_storage.get_cursor_values({CURSOR_KEY}).get(CURSOR_KEY)
    return deserialize_value(value, AssetDaemonCursor) if value else None


def store_cursor(instance: dg.DagsterInstance, cursor: AssetDaemonCursor) -> None:
    instance.run_storage.set_cursor_values({CURSOR_KEY: serialize_value(cursor)})


def mark_up_to_date(defs: dg.Definitions, instance: dg.DagsterInstance) -> AssetDaemonCursor:
    """Store a cursor that counts everything materialized so far as handled (after a full run)."""
    cursor = dg.evaluate_automation_conditions(defs=defs, instance=instance).cursor
    store_cursor(instance, cursor)
    return cursor


def cursor_before_first_run(defs: dg.Definitions, instance: dg.DagsterInstance) -> None:
    """At the start of `migration-run`: store a cursor if none is stored yet (the first run on this
    home), so that what a killed run leaves unfinished (its exports) is pending for the next update,
    as what it finished is handled."""
    if stored_cursor(instance) is None:
        mark_up_to_date(defs, instance)


def run_until_quiet(defs: dg.Definitions, instance, resources, cursor, ops: dict | None = None,
                    max_ticks: int = 12, log=lambda *_: None, store: bool = False
                    ) -> tuple[object, list[tuple[str, str | None]]]:
    """Evaluate the automation conditions tick by tick and materialize what each tick requests,
    until a tick requests nothing. Returns the cursor and every (asset, partition) materialized.

    With `store`, the cursor is kept in the instance once each tick's runs have finished: a tick
    cut short (a kill, a failed run) leaves the earlier cursor there, under which what the tick had
    not finished is still pending, and what it finished counts as changed for what lies downstream."""
    graph = defs.resolve_asset_graph()
    done = []
    for tick in range(max_ticks):
        result = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
        cursor = result.cursor
        requested = {r.key: [p for p in result.get_requested_partitions(r.key)]
                     for r in result.results if r.true_subset.size and isinstance(r.key, dg.AssetKey)}
        # checks have no automation conditions: they run with their assets
        if not requested:
            if store:
                store_cursor(instance, cursor)
            return cursor, done
        log(f"tick {tick}: " + ", ".join(f"{k.to_user_string()}" + (f" [{len(v)}]" if v != [None] else "")
                                         for k, v in requested.items()))
        done += materialize_requested(graph, instance, resources, requested, ops or {})
        if store:
            store_cursor(instance, cursor)
    raise RuntimeError(f"automation still requesting runs after {max_ticks} ticks")
