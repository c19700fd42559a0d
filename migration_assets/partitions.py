"""Partitions, declared once and reused by identity."""

import dagster as dg

FIRST_YEAR, LAST_YEAR = 1990, 2023

# One partition per calendar year of estimates, 1990..2023 (end is exclusive).
YEARS = dg.TimeWindowPartitionsDefinition(start=str(FIRST_YEAR), end=str(LAST_YEAR + 1), fmt="%Y",
                                          cron_schedule="0 0 1 1 *")
# The IO manager compares the slice against timestamps: never cast the year to a string.
YEAR_EXPR = "make_timestamp(year, 1, 1, 0, 0, 0)"

# One partition per ensemble member; member m has seed m and holds out corridor fold m mod N_FOLDS,
# so members m, m + 5, m + 10, ... share a fold: the held-out validation pools them like the
# ensemble pools all members. `migration-run` trains the first five (--members to change).
N_FOLDS = 5
N_MEMBERS = 20
MEMBERS = dg.StaticPartitionsDefinition([f"m{m:02d}" for m in range(N_MEMBERS)])


def member_index(key: str) -> int:
    return int(key.lstrip("m"))
