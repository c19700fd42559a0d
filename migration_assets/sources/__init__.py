"""Raw sources: one module per source table, each with its quality suite and raw asset."""

from . import countries
from . import migrant_stock_totals
from . import migrant_stocks
from . import demography
from . import net_migration
from . import gdp
from . import gravity
from . import union_membership
from . import conflict
from . import refugees
from . import refugee_arrivals
from . import observed_flows
from . import meta_flows
from . import imfsc_flows

RAW_CHECKS = [migrant_stocks.matches_un_totals]

# totals before the bilateral stocks: the check matches_un_totals on raw/migrant_stocks reads them
RAW_ASSETS = [countries.asset, migrant_stock_totals.asset, migrant_stocks.asset, demography.asset, net_migration.asset, gdp.asset, gravity.asset, union_membership.asset, conflict.asset, refugees.asset,
              refugee_arrivals.asset, observed_flows.asset,
              meta_flows.asset, imfsc_flows.asset]
