"""Partitions, declared once and reused by identity."""

import dagster as dg

FIRST_YEAR, LAST_YEAR = 1990, 2023

# One partition per calendar year of estimates, 1990..2023 (end is exclusive).
YEARS = dg.TimeWindowPartitionsDefinition(start=str(FIRST_YEAR), end=str(LAST_YEAR + 1), fmt="%Y",
                                          cron_schedule="0 0 1 1 *")
# The IO manager compares the slice against timestamps: never cast the year to a string.
YEAR_EXPR = "make_timestamp(year, 1, 1, 0, 0, 0)"

# One partition per ensemble member; member m has seed m and holds out corridor fold m.
N_MEMBERS = 5
MEMBERS = dg.StaticPartitionsDefinition([f"m{m:02d}" for m in range(N_MEMBERS)])


def member_index(key: str) -> int:
    return int(key.lstrip("m"))
