"""Partitions, declared once and reused by identity."""

import dagster as dg

FIRST_YEAR = 1990

# One partition per calendar year from 1990 on. A year's partition appears on 1 January of the next
# year, empty until a release covers it: the raw release sensor lands only the years a source
# covers, and the automation conditions never wait on a year that no source has reached yet.
YEARS = dg.TimeWindowPartitionsDefinition(start=str(FIRST_YEAR), fmt="%Y", cron_schedule="0 0 1 1 *")
# The IO manager compares the slice against timestamps: never cast the year to a string.
YEAR_EXPR = "make_timestamp(year, 1, 1, 0, 0, 0)"

# One partition per ensemble member; member m has seed m and holds out corridor fold m mod N_FOLDS,
# so members m, m + 5, m + 10, ... share a fold: the held-out validation pools them like the
# ensemble pools all members. `migration-run` trains the first five (--members to change).
N_FOLDS = 5
N_MEMBERS = 20
MEMBERS = dg.StaticPartitionsDefinition([f"m{m:02d}" for m in range(N_MEMBERS)])


# Raw tables with one row set per calendar year land in yearly partitions, so a release that adds
# or revises years rewrites only those years. The others are editions (a country list, migrant
# stocks every five years, gravity) and land whole.
YEARLY_RAW = ("demography", "net_migration", "gdp", "union_membership", "conflict", "refugees", "observed_flows",
              "meta_flows", "imfsc_flows")
# Panel targets with one row set per year are yearly partitions too (panel/assets.py).
YEARLY_PANEL = ("net_migration_targets", "flow_targets")


def member_index(key: str) -> int:
    return int(key.lstrip("m"))
