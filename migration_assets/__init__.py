"""Annual bilateral migration flow estimates. The Dagster code location is
`migration_assets.definitions` (its `defs`); importing this package alone loads nothing heavy."""

import warnings

# The yearly assets back-fill in one run (BackfillPolicy.single_run), by choice; Dagster marks that
# parameter beta and warned once per asset at every import of the definitions (11 lines in the log
# of every run and every member process).
warnings.filterwarnings("ignore", message="Parameter `backfill_policy` of function `asset` is currently in beta")
