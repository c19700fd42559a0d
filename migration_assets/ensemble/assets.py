"""Members and estimates: per-member GRU training, then yearly ensemble estimate tables.

models/member is partitioned by member (seed = member index, held-out corridor fold = member
index mod n_folds); its weights, config, training curve and the targets it saw go to the model
store. A member trained before is kept as it is when nothing it reads changed, warm-started when a
release only adds years or revises history a little (model/update.py), and retrained from scratch
otherwise.
estimates/* are partitioned by year: one run rolls every member forward (central pass plus
perturbed passes) and replaces the requested years of all four tables in one transaction, which
commits only if the tables then agree with each other (checks.py).
"""

import dataclasses
import resource
import sys
import typing
from typing import Optional, Sequence

import dagster as dg
import numpy as np
import pandas as pd
import pydantic
import torch

from dagster._core.storage.db_io_manager import TablePartitionDimension, TableSlice
from dagster_duckdb import DuckDBResource

from .. import metadata
from ..model.ensemble import Ensemble, MemberPasses
from ..model.tensors import PANEL_INPUTS, build_inputs, build_targets
from ..automation import ESTIMATE_YEARS, KEEP_TRAINED
from ..model import update
from ..model.train import TrainConfig, device_for, evaluate, fit, new_model, simulate_once
from ..partitions import MEMBER_POOL, MEMBERS, YEAR_EXPR, YEARLY_PANEL, YEARS, member_index, member_threads
from ..resources import ModelStore, replace_table_slice
from ..processes import end_with_run
from ..schemas import ESTIMATES, REVISIONS
from ..sources.raw import column_schema, table_out
from ..validation import calibration as calibrating
from . import revisions
from .checks import INVARIANT_SPECS, KEYS, invariant_results

TARGET_INPUTS = ["stock_targets", "net_migration_targets", "flow_targets"]
MODEL_CODE_VERSION = "gru-v9"  # v9: the gap to where the UN stocks head as an input (tensors.stock_next)


def _ins(names: Sequence[str]) -> dict[str, dg.AssetIn]:
    return {n: dg.AssetIn(key=dg.AssetKey(["panel", n]),
                          partition_mapping=dg.AllPartitionMapping() if n in YEARLY_PANEL else None) for n in names}


class _MemberRun(dg.Config):
    """How a member run trains, besides the model's settings."""

    warm_start: bool = True  # False: always retrain from scratch
    torch_threads: int = 0  # 0 = partitions.member_threads(), whatever the number of members trained at once
    device: str = "auto"  # where the member trains: a CUDA device when there is one, else the CPU; or 'cpu', 'cuda:1'

    def train_config(self, stored: dict | None = None) -> TrainConfig:
        """TrainConfig from the settings given here, then `stored` (a member record's "train"), then defaults."""
        names = {f.name for f in dataclasses.fields(TrainConfig)}
        kept = {k: tuple(v) if isinstance(v, list) else v for k, v in (stored or {}).items() if k in names}
        given = {k: tuple(v) if isinstance(v, list) else v for k, v in self.model_dump().items()
                 if k in names and v is not None}
        return dataclasses.replace(TrainConfig(**kept), **given)


def _optional(annotation):
    """A TrainConfig field's type as an optional run-config field (tuples as lists)."""
    if typing.get_origin(annotation) is tuple:
        annotation = list[typing.get_args(annotation)[0]]
    return Optional[annotation]


# The training settings are declared once, in model/train.py TrainConfig (their meaning and defaults);
# the run config of models/member has each of them as an optional field. A setting left unset keeps
# the value the member was last trained with, or else TrainConfig's default: an update by the
# automation, `migration-update` or a re-execution keeps the settings of the last full run (say
# `migration-run --epochs 48`) instead of falling back to the defaults and retraining every member.
MemberConfig = pydantic.create_model(
    "MemberConfig", __base__=_MemberRun, __doc__=_MemberRun.__doc__,
    **{name: (_optional(kind), None) for name, kind in typing.get_type_hints(TrainConfig).items()})


@dg.asset(
    key=["models", "member"],
    group_name="models",
    partitions_def=MEMBERS,
    ins={**_ins(PANEL_INPUTS), **_ins(TARGET_INPUTS)},
    kinds={"pytorch"},
    code_version=MODEL_CODE_VERSION,
    automation_condition=KEEP_TRAINED,
    pool=MEMBER_POOL,  # how many members train at once, across runs (runner.train_members_in_parallel)
)
def member(context: dg.AssetExecutionContext, config: MemberConfig, model_store: ModelStore, countries: pd.DataFrame,
           country_year: pd.DataFrame, dyads: pd.DataFrame, refugees: pd.DataFrame, initial_stocks: pd.DataFrame,
           edges: pd.DataFrame, stocks_january: pd.DataFrame, stock_targets: pd.DataFrame,
           net_migration_targets: pd.DataFrame, flow_targets: pd.DataFrame) -> dg.MaterializeResult:
    """One trained GRU ensemble member: weights, config and training curve in the model store.

    Seed = member index; the member never sees the observed-flow corridors of its own fold, which
    are its validation set (`heldout_mae_flow` in the curve). A member trained before is kept as it
    is when its inputs and model settings are unchanged, warm-started from its weights for a new
    release, or retrained when model/update.py says a full retrain is due; metadata `update`
    ("unchanged", "warm" or "full") says which and `update_reason` why."""
    end_with_run()  # a member trained in its own process never trains on after its run died
    torch.set_num_threads(config.torch_threads or member_threads())  # the weights depend on it (1e-6 relative)
    m = member_index(context.partition_key)
    inputs = build_inputs(countries, country_year, dyads, refugees, initial_stocks, edges, stocks_january)
    targets = build_targets(countries, inputs.years, stock_targets, net_migration_targets, flow_targets)
    n_folds = int(flow_targets["fold"].max()) + 1 if len(flow_targets) else 1
    fold = m % n_folds
    train, heldout = targets.without_fold(fold), targets.only_fold(fold)
    stored = model_store.previous(context.partition_key)
    tc = config.train_config(stored[1].get("train") if stored else None)
    record = {"member": context.partition_key, "seed": m, "fold": fold, "n_folds": n_folds,
              "train": dataclasses.asdict(tc), "config_digest": tc.digest(), "model_digest": tc.model_digest(),
              "sources": train.sources, "countries": inputs.countries, "years": inputs.years,
              "edges": inputs.n_edges, "code_version": MODEL_CODE_VERSION}
    frames = {"stock_targets": stock_targets, "net_migration_targets": net_migration_targets,
              "flow_targets": flow_targets}
    record["inputs_digest"] = update.inputs_digest({
        **frames, "countries": countries, "country_year": country_year, "dyads": dyads, "refugees": refugees,
        "initial_stocks": initial_stocks, "edges": edges, "stocks_january": stocks_january})
    weights, before, seen = stored or (None, None, None)
    plan = (update.plan(before, seen, record, frames, tc.full_retrain_revision) if config.warm_start or not stored
            else update.Plan("full", "retraining asked in the run config (warm_start: false)", {}, record["years"]))
    context.log.info(f"member {context.partition_key}: "
                     f"{ {'warm': 'warm start', 'full': 'full training'}.get(plan.mode, plan.mode)} ({plan.reason})")
    if plan.mode == "unchanged":
        return unchanged_member(model_store, context.partition_key, before, plan)
    epochs = tc.finetune_epochs if plan.mode == "warm" else tc.epochs

    def progress(row: dict) -> None:
        if row["epoch"] % max(epochs // 10, 1) == 0 or row["epoch"] == 1:
            context.log.info(f"member {context.partition_key} epoch {row['epoch']}/{epochs} loss {row['loss']:.4f}"
                             + (f" held-out flow MAE {row['heldout_mae_flow']:.0f}" if "heldout_mae_flow" in row else ""))

    device = str(device_for(config.device))
    record["device"] = device
    context.log.info(f"member {context.partition_key}: training on {device}")
    model, history = fit(inputs, train, tc, seed=m, validation=heldout, progress=progress,
                         warm_start=weights if plan.mode == "warm" else None, device=device)
    train_err, heldout_err = evaluate(model, inputs, train), evaluate(model, inputs, heldout)
    record["update"] = {"mode": plan.mode, "reason": plan.reason, "new_years": plan.new_years}
    folder = model_store.save(context.partition_key, model.state_dict(), record, history, targets=frames)
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(folder)),
        "update": plan.mode, "update_reason": plan.reason,
        "history_revision": dg.MetadataValue.json({k: round(v, 6) for k, v in plan.revision.items()}),
        "new_years": dg.MetadataValue.json(plan.new_years),
        "seed": m, "fold": fold, "epochs": epochs, "device": device,
        "learning_rate": tc.finetune_learning_rate if plan.mode == "warm" else tc.learning_rate,
        "config_digest": tc.digest(), "edges": inputs.n_edges, "inputs_digest": record["inputs_digest"],
        "parameters": sum(p.numel() for p in model.parameters()),
        "final_loss": history[-1]["loss"], "seconds": round(history[-1]["seconds"], 1),
        # the member's own peak when it trained in a process of its own (train_members_in_parallel)
        "process_peak_memory_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB; bytes on macOS
                                         / (1024 ** 2 if sys.platform == "darwin" else 1024)),
        **{f"train_{k}": v for k, v in train_err.items()},
        **{f"heldout_{k}": v for k, v in heldout_err.items() if k == "mae_flow"},
        "loss_curve": metadata.table(pd.DataFrame(history), digits=5),
        "source_bias": dg.MetadataValue.json(dict(zip(train.sources, model.source_bias.detach().tolist()))),
        "source_elasticity": dg.MetadataValue.json(dict(zip(train.sources, model.source_elasticity.detach().tolist()))),
    })


def unchanged_member(model_store: ModelStore, key: str, record: dict, plan: update.Plan) -> dg.MaterializeResult:
    """The materialization of a member kept as it is: the model store is left untouched, and the
    metadata says so, with what the stored training recorded."""
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(model_store.member_dir(key)),
        "update": plan.mode, "update_reason": plan.reason,
        "history_revision": dg.MetadataValue.json({}), "new_years": dg.MetadataValue.json([]),
        "seed": record["seed"], "fold": record["fold"], "epochs": 0, "config_digest": record["config_digest"],
        "edges": record["edges"], "inputs_digest": record["inputs_digest"],
        "last_training": dg.MetadataValue.json(record.get("update", {})),
    })


def trained_members(model_store: ModelStore, keys: list[str], inputs) -> list[tuple[str, torch.nn.Module, dict]]:
    """Load the named members (key, network, training record); fail if one was trained on another panel."""
    out = []
    for key in keys:
        state, record = model_store.load(key)
        if record.get("code_version") != MODEL_CODE_VERSION:
            raise dg.Failure(f"member {key} was trained by model code {record.get('code_version')}, this is "
                             f"{MODEL_CODE_VERSION}: re-materialize models/member for all partitions")
        if record["countries"] != inputs.countries or record["edges"] != inputs.n_edges:
            raise dg.Failure(f"member {key} was trained on another panel (countries or edges differ); "
                             "re-materialize models/member for all partitions")
        net = new_model(inputs, len(record["sources"]), record["train"]["hidden"])
        net.load_state_dict(state)
        out.append((key, net, record))
    return out


def materialized_members(context) -> list[str]:
    return sorted(context.instance.get_materialized_partitions(dg.AssetKey(["models", "member"])))


class EstimateConfig(dg.Config):
    members: list[str] = []  # member partitions to pool; empty = every member materialized so far
    samples_per_member: int = 8  # perturbed passes per member, besides its central pass
    initial_stock_noise: float = 0.10  # log-normal sigma of the initial foreign-born stock perturbation
    # how far a rerun may move the flows of years already published (check revisions_within_tolerance)
    revision_global_total: float = revisions.Tolerance.global_total
    revision_beyond_half_interval: float = revisions.Tolerance.beyond_half_interval


REVISION_CHECK = "revisions_within_tolerance"


def published_flows(warehouse: DuckDBResource, years: list[int]) -> pd.DataFrame:
    """The estimates.flows rows of `years` as the warehouse holds them before this run rewrites them."""
    with warehouse.get_connection() as con:
        exists = con.execute("select 1 from information_schema.tables where table_schema = 'estimates' "
                             "and table_name = 'flows'").fetchone()
        if not exists:
            return pd.DataFrame(columns=["year", "origin", "destination", "mean", "p05", "p95"])
        return con.execute("select year, origin, destination, mean, p05, p95 from estimates.flows "
                           "where year between ? and ?", [min(years), max(years)]).df()


def revision_check(earlier: pd.DataFrame, now: pd.DataFrame, tolerance: revisions.Tolerance) -> dg.AssetCheckResult:
    key = dg.AssetKey(["estimates", "flows"])
    if earlier.empty:
        return dg.AssetCheckResult(check_name=REVISION_CHECK, asset_key=key, passed=True,
                                   metadata={"compared_years": "none: no earlier estimates of these years"})
    r = revisions.compare(earlier, now)
    worst = max((abs(v) for v in r.global_change.values()), default=0.0)
    return dg.AssetCheckResult(
        check_name=REVISION_CHECK, asset_key=key, passed=r.passed(tolerance), severity=dg.AssetCheckSeverity.WARN,
        metadata={"compared_years": f"{r.years[0]}-{r.years[-1]}" if r.years else "none",
                  "largest_global_total_change": worst, "tolerance_global_total": tolerance.global_total,
                  "flow_volume_revised_beyond_half_interval": r.beyond_share,
                  "mean_relative_revision": r.mean_relative,
                  "tolerance_beyond_half_interval": tolerance.beyond_half_interval,
                  "global_total_change_by_year": dg.MetadataValue.json({y: round(v, 5) for y, v in r.global_change.items()}),
                  "largest_revisions_by_corridor": dg.MetadataValue.md(
                      r.corridors.round({"earlier": 0, "now": 0, "revision": 0, "relative": 3}).to_markdown(
                          index=False) if len(r.corridors) else "none")})


def _year_slice(database: str, table: str, years: list[int]) -> TableSlice:
    """The slice WarehouseIOManager would write for `years` of estimates.<table> (same DELETE)."""
    window = dg.TimeWindow(YEARS.time_window_for_partition_key(str(years[0])).start,
                           YEARS.time_window_for_partition_key(str(years[-1])).end)
    return TableSlice(table=table, schema="estimates", database=database,
                      partition_dimensions=[TablePartitionDimension(partition_expr=YEAR_EXPR, partitions=window)])


class EstimatesNotWritten(dg.Failure):
    """Raised when the four estimate tables were left as they were (the transaction rolled back)."""


def _replace_years(con, database: str, tables: dict[str, pd.DataFrame], years: list[int]) -> dict[str, dict]:
    """Replace `years` of each table inside the caller's transaction; each table's output metadata."""
    written = {}
    for name, frame in tables.items():
        try:
            written[name] = replace_table_slice(con, _year_slice(database, name, years), frame,
                                                 column_schema(ESTIMATES[name]))
        except Exception as error:
            raise EstimatesNotWritten(
                f"writing estimates.{name} ({years[0]}-{years[-1]}) failed: {type(error).__name__}: {error}. The "
                "transaction was rolled back: estimates.flows, flows_by_birth, stocks and net_migration are as "
                "they were before this run. Fix the cause above, then materialize the estimates again.") from error
    return written


def publish_estimates(warehouse: DuckDBResource, tables: dict[str, pd.DataFrame], years: list[int],
                      country_year: pd.DataFrame, revised: pd.DataFrame | None = None
                      ) -> tuple[dict[str, dict], list[dg.AssetCheckResult]]:
    """Replace `years` of the four estimate tables in ONE DuckDB transaction (and estimates.revisions
    with `revised`, the rows of revisions.corridor_years, when given), and commit it only if
    the invariants across the tables hold on what a reader would then see: the written years and
    the year either side (whose roll-forward and flows they touch). Returns each table's output
    metadata and the invariant results; on a failed write or invariant nothing is committed.

    Why here and not through the IO manager: the IO manager writes each output in its own
    transaction and Dagster records each materialization as soon as its output is stored, so a
    crash between outputs leaves a mix in the warehouse *and* in the event log. Writing the four
    tables in the asset's body, then reporting them with MaterializeResult (IO manager skipped,
    same slice DELETE and insert as the IO manager, same metadata), makes the write all-or-nothing
    and records the materializations only after the commit. Downstream assets still load these
    tables through the IO manager, which therefore must point at the same database."""
    with warehouse.get_connection() as con:
        try:
            con.begin()
            try:
                written = _replace_years(con, warehouse.database, tables, years)
                if revised is not None:
                    replace_table_slice(con, TableSlice(table=REVISIONS.name, schema="estimates",
                                                        database=warehouse.database),
                                        REVISIONS.conform(revised), column_schema(REVISIONS))
                seen = {name: con.execute(f"select * from estimates.{name} where year between ? and ?",
                                          [years[0] - 1, years[-1] + 1]).df() for name in tables}
                results = invariant_results(seen["flows"], seen["flows_by_birth"], seen["stocks"],
                                            seen["net_migration"], country_year)
            except BaseException:
                con.rollback()
                raise
            if all(r.passed for r in results):
                con.commit()
            else:
                con.rollback()
        finally:
            con.close()  # DuckDBResource.get_connection closes only when no exception passes through it
    return written, results


@dg.multi_asset(
    name="ensemble_estimates",
    group_name="estimates",
    outs={name: table_out("estimates", table, MODEL_CODE_VERSION, {"partition_expr": YEAR_EXPR}, ESTIMATE_YEARS)
          for name, table in ESTIMATES.items()},
    ins={**_ins(PANEL_INPUTS), **_ins(["flow_targets", "stock_targets"]),
         "calibration": dg.AssetIn(key=dg.AssetKey(["validation", "calibration"]))},
    deps=[dg.AssetDep(dg.AssetKey(["models", "member"]), partition_mapping=dg.AllPartitionMapping()),
          # an estimate year exists once the demography covers it (the recurrence's births and deaths)
          dg.AssetKey(["raw", "demography"])],
    partitions_def=YEARS,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool="duckdb",
    check_specs=[dg.AssetCheckSpec(REVISION_CHECK, asset=dg.AssetKey(["estimates", "flows"]),
                                   description="rewritten years moved within the tolerance: each year's global flow "
                                               "total by at most 10 %, and at most 10 % of the flow volume by more "
                                               "than half its earlier p05-p95 width (warning otherwise); lists the "
                                               "largest revisions by corridor"),
                 *INVARIANT_SPECS],
)
def ensemble_estimates(context: dg.AssetExecutionContext, config: EstimateConfig, model_store: ModelStore,
                       warehouse: DuckDBResource, countries: pd.DataFrame, country_year: pd.DataFrame, dyads: pd.DataFrame,
                       refugees: pd.DataFrame, initial_stocks: pd.DataFrame, edges: pd.DataFrame,
                       stocks_january: pd.DataFrame, flow_targets: pd.DataFrame, stock_targets: pd.DataFrame,
                       calibration: pd.DataFrame):
    """Roll every member forward and summarise the pooled passes for the requested years.

    mean is the point estimate (the members' central passes); std, p05, p50 and p95 describe the
    calibrated predictive distribution around it (validation.calibration, calibrated_estimates) for
    every table validation could calibrate, else the pooled passes. Years already in the warehouse are compared with what they
    held before (check `revisions_within_tolerance`). The four tables are replaced together, in one
    transaction that commits only if the blocking invariant checks pass (publish_estimates)."""
    inputs = build_inputs(countries, country_year, dyads, refugees, initial_stocks, edges, stocks_january)
    years = [int(k) for k in context.partition_keys]
    outside = sorted(set(years) - set(inputs.years))
    if outside:
        raise dg.Failure(f"years {outside} are outside the panel ({inputs.years[0]}-{inputs.years[-1]}); "
                         "materialize only years the raw sources cover")
    used = config.members or materialized_members(context)
    if not used:
        raise dg.Failure("no trained members: materialize models/member for at least one partition first")
    passes = []
    for key, net, record in trained_members(model_store, used, inputs):
        # the passes validation rolled with the same seed, when it ran in this process
        flows, stocks = simulate_once(net, inputs, config.samples_per_member, config.initial_stock_noise,
                                      seed=10_000 + record["seed"], keep=False)
        passes.append(MemberPasses(flows=flows, stocks=stocks))
    ens = Ensemble(passes, inputs.countries, inputs.years, inputs.edges.numpy())
    tables = {
        "flows": pd.concat([ens.flows_bilateral(y) for y in years], ignore_index=True),
        "flows_by_birth": pd.concat([ens.flows_by_birth(y) for y in years], ignore_index=True),
        "stocks": pd.concat([ens.stocks_on(y) for y in years], ignore_index=True),
        "net_migration": pd.concat([ens.net_migration(y) for y in years], ignore_index=True),
    }
    tables, calibrated = calibrated_estimates(tables, calibration, flow_targets, stock_targets, country_year)
    totals = tables["flows"].groupby("year")["mean"].sum()
    earlier = published_flows(warehouse, years)
    revised = revision_check(earlier, tables["flows"],
                             revisions.Tolerance(config.revision_global_total, config.revision_beyond_half_interval))
    written, invariants = publish_estimates(warehouse, tables, years, country_year,
                                            revisions.corridor_years(earlier, tables["flows"]))
    # the invariants are enforced on every write; their results are reported when the run selected them
    selected = context.selected_asset_check_keys
    yield from (r for r in [revised, *invariants]
                if dg.AssetCheckKey(r.asset_key, r.check_name) in selected)
    failed = [r for r in invariants if not r.passed]
    if failed:
        raise EstimatesNotWritten(
            f"the estimates of {years[0]}-{years[-1]} were not written: "
            + "; ".join(f"{r.asset_key.to_user_string()}:{r.check_name}: {r.description}" for r in failed)
            + ". The transaction was rolled back: the four estimate tables are as they were before this run. Fix: "
            "if the years next to these were estimated by other members or settings, materialize every year of "
            "the estimates in one run (`migration-run`, or the UI with the whole year range); otherwise this is "
            "a bug in the estimate code (migration_assets/model/ensemble.py).")
    for name, frame in tables.items():
        for year, described in partition_metadata(name, frame, years).items():
            context.add_asset_metadata(described, asset_key=KEYS[name], partition_key=str(year))
        yield dg.MaterializeResult(asset_key=KEYS[name], metadata={
            **written[name],
            "members": dg.MetadataValue.json(used), "passes_per_member": 1 + config.samples_per_member,
            "years": f"{years[0]}-{years[-1]}",
            "calibrated_quantiles": name in calibrated,
            **({"global_flow_per_year": metadata.table(totals.rename("persons").rename_axis("year"),
                                                       persons=["persons"])} if name == "flows" else {}),
        })


SUMMARY = ("std", "p05", "p50", "p95")


def calibrated_estimates(tables: dict[str, pd.DataFrame], calibration: pd.DataFrame, flow_targets: pd.DataFrame,
                         stock_targets: pd.DataFrame, country_year: pd.DataFrame) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """The estimate tables with std, p05, p50 and p95 from validation.calibration's predictive
    distribution around each mean (validation/calibration.py), and the tables so calibrated.

    flows: the stratum of calibration.flow_strata: reported (a source other than IMFSC reports the
    corridor that year, panel.flow_targets), reported_imfsc_only, unreported, or
    unreported_after_stock_points from the last UN stock point on. flows_by_birth: the flow's quantiles, shared among the countries of birth in
    proportion to their means (so they sum over birth to the flow's). stocks: the foreign-born (the
    diagonal, the native-born, keeps the ensemble's spread). net_migration: on the population's scale.
    A table validation could not calibrate keeps the ensemble's spread."""
    out, done = dict(tables), []
    frames = {name: part.drop(columns="table") for name, part in calibration.groupby("table")} if len(
        calibration) else {}
    if "flows" in frames:
        f = out["flows"]
        last_stock_year = int(stock_targets["year_end"].max()) if len(stock_targets) else None
        strata = calibrating.flow_strata(f, flow_targets, last_stock_year)
        q = calibrating.Calibration(frames["flows"]).apply(f["mean"].to_numpy(), strata)
        out["flows"] = f.assign(**{c: q[c] for c in SUMMARY})
        out["flows_by_birth"] = shared_by_birth(out["flows"], out["flows_by_birth"])
        done += ["flows", "flows_by_birth"]
    if "stocks" in frames:
        s = out["stocks"]
        foreign = (s["birth"] != s["residence"]).to_numpy()
        q = calibrating.Calibration(frames["stocks"]).apply(s.loc[foreign, "mean"].to_numpy())
        s = s.copy()
        for c in SUMMARY:
            s.loc[foreign, c] = q[c]
        out["stocks"] = s
        done.append("stocks")
    if "net_migration" in frames:
        n = out["net_migration"]
        population = country_year.set_index(["year", "country"])["population"].reindex(
            pd.MultiIndex.from_frame(n[["year", "country"]])).to_numpy(float)
        known = population > 0
        q = calibrating.Calibration(frames["net_migration"], calibrating.SHARE).apply(
            n.loc[known, "mean"].to_numpy(), scale=population[known])
        n = n.copy()
        for c in SUMMARY:
            n.loc[known, c] = q[c]
        out["net_migration"] = n
        done.append("net_migration")
    return out, done


def shared_by_birth(flows: pd.DataFrame, by_birth: pd.DataFrame) -> pd.DataFrame:
    """flows_by_birth with each flow's std and quantiles shared among its countries of birth in
    proportion to their means (equal shares where the flow's mean is 0): the quantiles of the
    by-birth rows sum to the flow's, as they would if the countries of birth moved together."""
    key = ["year", "origin", "destination"]
    merged = by_birth[key].merge(flows[[*key, "mean", *SUMMARY]], on=key, how="left")
    total = merged["mean"].to_numpy()
    rows = by_birth.groupby(key)["mean"].transform("size").to_numpy()
    share = np.where(total > 0, by_birth["mean"].to_numpy() / np.where(total > 0, total, 1.0), 1.0 / rows)
    return by_birth.assign(**{c: merged[c].to_numpy() * share for c in SUMMARY})


def partition_metadata(name: str, frame: pd.DataFrame, years: list[int]) -> dict[int, dict]:
    """What each year partition of estimates.<name> reports of itself, whatever the range its run
    wrote: its rows, the query that reads it and, for flows, its global flow (whole persons), which
    the asset's Plots tab draws year by year."""
    rows = frame["year"].value_counts()
    flows = frame.groupby("year")["mean"].sum() if name == "flows" else None
    return {year: {"dagster/partition_row_count": int(rows.get(year, 0)),
                   "Query": f"SELECT * FROM estimates.{name} WHERE year = {year}",
                   **({"global_flow": dg.MetadataValue.int(round(float(flows.get(year, 0.0))))}
                      if flows is not None else {})}
            for year in years}


MODEL_ASSETS = [member, ensemble_estimates]
