"""The classic flows-from-stocks methods of Abel & Cohen (2019) in numpy, free of Dagster (see `methods`)."""

from migration_assets.classic.methods import (
    METHODS,
    abel_cohen_2019,
    account,
    balance_native_born,
    births_matrix,
    deaths_matrix,
    demographic_accounting,
    match_birthplace_totals,
    migration_rates,
    pseudo_bayesian,
    rescale_integer_sum,
    rescale_net,
    rogers_von_rabenau,
    stock_differencing,
)

__all__ = ["METHODS", "abel_cohen_2019", "account", "balance_native_born", "births_matrix", "deaths_matrix",
           "demographic_accounting", "match_birthplace_totals", "migration_rates", "pseudo_bayesian",
           "rescale_integer_sum", "rescale_net", "rogers_von_rabenau", "stock_differencing"]
