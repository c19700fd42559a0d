"""UN DESA migrant stock totals per destination (foreign-born of all origins, population)."""

import great_expectations.expectations as gxe

from ..schemas import RAW
from .raw import raw_asset

TABLE = RAW["migrant_stock_totals"]


def expectations() -> list:
    return [
        gxe.ExpectColumnValuesToBeBetween(column="foreign_born", min_value=0,
                                          meta={"fix": "totals count persons: negative values are errors"}),
        gxe.ExpectColumnValuesToBeBetween(column="population", min_value=0, strict_min=True,
                                          meta={"fix": "population must be positive persons"}),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="population", column_B="foreign_born", or_equal=True,
                                                    meta={"fix": "more migrants than inhabitants: check units"}),
    ]


asset = raw_asset(TABLE, ["residence"], expectations)
