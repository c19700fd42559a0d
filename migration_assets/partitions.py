"""Partitions, declared once and reused by identity."""

import os

import dagster as dg

from .preflight import ensemble_size, last_year

FIRST_YEAR = 1990
LAST_YEAR = last_year()

# One partition per calendar year the sources cover, 1990 to MIGRATION_LAST_YEAR (default 2023, the
# last year of WPP 2024's estimates and of the synthetic world; on published data the year of the
# UNHCR release read when later, preflight.newest_observed_year), so the UI shows no year that no
# source has reached. A release that adds a year comes with raising MIGRATION_LAST_YEAR (or, for
# UNHCR's, with its folder); the raw release sensor then lands the new years.
YEARS = dg.TimeWindowPartitionsDefinition(start=str(FIRST_YEAR), end=str(LAST_YEAR + 1), fmt="%Y",
                                          cron_schedule="0 0 1 1 *")
# The IO manager compares the slice against timestamps: never cast the year to a string.
YEAR_EXPR = "make_timestamp(year, 1, 1, 0, 0, 0)"

# One partition per ensemble member, MIGRATION_MEMBERS of them (default 5); member m has seed m and
# holds out corridor fold m mod N_FOLDS, so members m, m + 5, m + 10, ... share a fold: the held-out
# validation pools them like the ensemble pools all members. `migration-run` trains them all.
N_FOLDS = 5
N_MEMBERS = ensemble_size()
MEMBERS = dg.StaticPartitionsDefinition([f"m{m:02d}" for m in range(N_MEMBERS)])

# The concurrency pool of models/member: how many members train at once, across runs (runner.py).
MEMBER_POOL = "member_training"
# Members trained at once by default (`migration-run --parallel`).
DEFAULT_PARALLEL = min(2, os.cpu_count() or 1)


def member_threads() -> int:
    """Torch threads of every member, however many train at once: a member's weights depend on them
    (up to 1e-6 relative), so they must not depend on --parallel. The cores of one of the members
    trained at once by default."""
    return max(1, (os.cpu_count() or 1) // DEFAULT_PARALLEL)


# Raw tables with one row set per calendar year land in yearly partitions, so a release that adds
# or revises years rewrites only those years. The others are editions (a country list, migrant
# stocks every five years, gravity) and land whole.
YEARLY_RAW = ("demography", "net_migration", "gdp", "union_membership", "conflict", "refugees", "refugee_arrivals",
              "observed_flows", "meta_flows", "imfsc_flows")
# Panel targets with one row set per year are yearly partitions too (panel/assets.py).
YEARLY_PANEL = ("net_migration_targets", "flow_targets")


def member_index(key: str) -> int:
    return int(key.lstrip("m"))
