"""Annual bilateral migration flow estimates. The Dagster code location is
`migration_assets.definitions` (its `defs`); importing this package alone loads nothing heavy."""
