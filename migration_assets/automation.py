"""Automation conditions: how a landed release travels downstream, once, in one tick.

Each condition reacts to `any_deps_updated()`, which is also true when a dependency *will be*
requested in the same tick, so a release's whole cascade (panel years, whole-history panel
tables, members, validation, estimates) is requested together and runs in dependency order;
none of them runs a second time when its upstream finishes. None of them waits on the empty
year partition that appears every 1 January (dagster-style.md, pitfalls): yearly assets drop
`in_latest_time_window()`, and whole-history assets drop `~any_deps_missing()`.
"""

import dagster as dg

AC = dg.AutomationCondition
MEMBER = dg.AssetKey(["models", "member"])

# Yearly panel tables: a year is rebuilt when that year of its raw inputs lands, and only then.
YEARLY = AC.eager().without(AC.in_latest_time_window()).with_label("yearly: when this year's inputs change")

# Panel tables over the whole history (scaled covariates, interpolated stocks, the edge set):
# rebuilt when any year of any input changes, without waiting on years no source has reached.
WHOLE_HISTORY = AC.eager().without(~AC.any_deps_missing()).with_label("whole history: when any input year changes")

# Members: only the members already trained are kept up to date (`migration-run --members N` or the
# UI chooses the ensemble), when their panel changes or the model's code version does.
KEEP_TRAINED = (
    (AC.any_deps_updated() | AC.code_version_changed()).since_last_handled()
    & ~AC.missing() & ~AC.any_deps_in_progress() & ~AC.in_progress()
).with_label("trained members: when the panel or the model code changes")

# Validation of the members: after they change.
AFTER_DEPS = (
    AC.any_deps_updated().since_last_handled() & ~AC.any_deps_in_progress() & ~AC.in_progress()
).with_label("when an input changes")

# Yearly estimates: every year the demography covers, when members, calibration or panel change;
# member partitions never trained do not count as missing.
ESTIMATE_YEARS = (
    AC.any_deps_updated().since_last_handled()
    & ~AC.any_deps_missing().ignore(dg.AssetSelection.assets(MEMBER))
    & ~AC.any_deps_in_progress() & ~AC.in_progress()
).with_label("estimate years: when members, calibration or panel change")
