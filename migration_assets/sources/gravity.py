"""Static gravity covariates per country pair: distance, language, religion, colonial ties."""

import great_expectations.expectations as gxe

from ..schemas import RAW
from .raw import raw_asset

TABLE = RAW["gravity"]


def expectations() -> list:
    return [
        gxe.ExpectColumnValuesToBeBetween(column="distance_km", min_value=0, strict_min=True,
                                          meta={"fix": "distances between distinct countries are positive kilometres"}),
        gxe.ExpectColumnValuesToBeBetween(column="common_language", min_value=0,
                                          meta={"fix": "the language index is non-negative"}),
        gxe.ExpectColumnValuesToBeBetween(column="religious_similarity", min_value=0, max_value=2,
                                          meta={"fix": "a dot product of religion shares lies in [0, 2]"}),
        gxe.ExpectColumnValuesToBeInSet(column="colonial_tie", value_set=[0.0, 1.0],
                                        meta={"fix": "colonial ties are 0/1 flags"}),
    ]


asset = raw_asset(TABLE, ['origin', 'destination'], expectations)
