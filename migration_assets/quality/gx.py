"""A thin Great Expectations 1.x adapter: run a suite on a DataFrame and explain its failures.

dagster-ge only supports GX 0.x, so suites run here and surface as Dagster asset checks
(quality/checks.py). Expectations carry their fix in `meta={"fix": ...}` so a failure can say
what to do about it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache

import pandas as pd

# Great Expectations is imported where a suite is built or run, not with this module: it takes about
# 3 s to load, and processes that run no check (a member's training run) should not pay for it.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

MAX_EXAMPLES = 5


@dataclass
class ExpectationFailure:
    expectation: str
    column: str | None
    critical: bool
    unexpected_count: int | None
    examples: list[str]
    fix: str

    def describe(self) -> str:
        where = f" on column `{self.column}`" if self.column else ""
        count = f" for {self.unexpected_count} row(s)" if self.unexpected_count else ""
        rows = f": {'; '.join(self.examples)}" if self.examples else ""
        return f"`{self.expectation}`{where} failed{count}{rows}. Fix: {self.fix}"


@dataclass
class SuiteResult:
    name: str
    evaluated: int
    failures: list[ExpectationFailure] = field(default_factory=list)

    @property
    def critical(self) -> list[ExpectationFailure]:
        return [f for f in self.failures if f.critical]

    @property
    def success(self) -> bool:
        return not self.failures

    def markdown(self) -> str:
        if not self.failures:
            return f"All {self.evaluated} expectations passed."
        return "\n".join(f"- {'**ERROR**' if f.critical else 'warning'}: {f.describe()}" for f in self.failures)


def _row_label(frame: pd.DataFrame, index, key: tuple[str, ...]) -> str:
    try:
        row = frame.loc[index]
    except KeyError:
        return f"row {index}"
    keys = ", ".join(f"{k}={row[k]!r}" for k in key if k in frame.columns)
    return f"row {index} ({keys})" if keys else f"row {index}"


@lru_cache(maxsize=1)
def _context():
    """One in-memory GX context per process (each new one makes a temporary docs folder)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    return ctx


def run_suite(name: str, frame: pd.DataFrame, expectations: list, key: tuple[str, ...] = ()) -> SuiteResult:
    """Validate `frame` against `expectations` in an ephemeral GX context (nothing is written to disk).

    `key` names the columns that identify a row in failure messages.
    """
    import great_expectations as gx

    ctx = _context()
    source = ctx.data_sources.add_or_update_pandas(name)
    asset = source.get_asset(name) if name in source.get_asset_names() else source.add_dataframe_asset(name)
    batch = (asset.get_batch_definition(name) if name in [b.name for b in asset.batch_definitions]
             else asset.add_batch_definition_whole_dataframe(name))
    suite = ctx.suites.add_or_update(gx.ExpectationSuite(name=name, expectations=expectations))
    validation = ctx.validation_definitions.add_or_update(gx.ValidationDefinition(name=name, data=batch, suite=suite))
    res = validation.run(batch_parameters={"dataframe": frame}, result_format="COMPLETE")
    out = SuiteResult(name=name, evaluated=len(res.results))
    for r in res.results:
        if r.success:
            continue
        cfg = r.expectation_config
        result = r.result or {}
        indexes = (result.get("partial_unexpected_index_list") or [])[:MAX_EXAMPLES]
        column = cfg.kwargs.get("column")
        if indexes:
            examples = [f"{_row_label(frame, i, key)}" + (f" {column}={frame.at[i, column]!r}" if column in frame.columns else "")
                        for i in indexes]
        elif result.get("observed_value") is not None:
            examples = [f"observed {result['observed_value']!r}"]
        else:
            examples = []
        out.failures.append(
            ExpectationFailure(
                expectation=cfg.type,
                column=column,
                critical=str(cfg.severity.value if hasattr(cfg.severity, "value") else cfg.severity) == "critical",
                unexpected_count=result.get("unexpected_count"),
                examples=examples,
                fix=(cfg.meta or {}).get("fix", "correct the input data or the expectation"),
            )
        )
    return out


def contract(columns: list[str], key: list[str], codes: list[str], fix: str,
             known: frozenset[str] | None = None) -> list:
    """Expectations every table meets: exact columns in order, a unique key, ISO3 codes (among
    `known` where given: a well-formed code that names no country is as wrong as a malformed one)."""
    import great_expectations.expectations as gxe

    out = [
        gxe.ExpectTableColumnsToMatchOrderedList(column_list=columns, meta={"fix": fix}),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=key, meta={"fix": "remove duplicate rows for the same key"})
        if len(key) > 1 else gxe.ExpectColumnValuesToBeUnique(column=key[0], meta={"fix": "remove duplicate rows"}),
    ]
    for c in codes:
        out.append(gxe.ExpectColumnValuesToMatchRegex(
            column=c, regex=r"^[A-Z]{3}$",
            meta={"fix": f"map `{c}` to ISO3 codes (three capital letters) before loading"}))
        out.append(gxe.ExpectColumnValuesToNotBeNull(column=c, meta={"fix": f"fill or drop rows without `{c}`"}))
        if known is not None:
            out.append(gxe.ExpectColumnValuesToBeInSet(
                column=c, value_set=sorted(known),
                meta={"fix": f"`{c}` holds a code that names no known country: correct it, or map the name through "
                             "migration_assets/countries/aliases.csv (a documented alias)"}))
    return out


def coverage(spec, codes: list[str], severity: str = "critical") -> list:
    """Expectations of a schemas.Coverage: at least its rows, its distinct codes per code column, and
    rows in each of its years. `severity="warning"` where a withdrawal is stated (sources/raw.py)."""
    import great_expectations.expectations as gxe

    fix = ("the release holds less than the publisher's current one (a truncated, emptied or cut file?): fetch it "
           "again (migration-fetch); if the publisher withdrew data deliberately, state why (the raw asset's "
           "`withdrawal` config)")
    out = [gxe.ExpectTableRowCountToBeBetween(min_value=spec.rows, severity=severity,
                                              meta={"fix": f"at least {spec.rows:,} rows expected; {fix}"})]
    if spec.codes:
        out += [gxe.ExpectColumnUniqueValueCountToBeBetween(
            column=c, min_value=spec.codes, severity=severity,
            meta={"fix": f"at least {spec.codes} distinct codes expected in `{c}`; {fix}"}) for c in codes]
    if spec.years:
        years = f"{spec.years[0]}-{spec.years[-1]}" if len(spec.years) == spec.years[-1] - spec.years[0] + 1 \
            else ", ".join(map(str, spec.years))
        out.append(gxe.ExpectColumnDistinctValuesToContainSet(
            column="year", value_set=list(spec.years), severity=severity,
            meta={"fix": f"rows expected in every year of {years}; {fix}"}))
    return out
