"""Asset metadata the Dagster UI renders: data frames as tables (not markdown or JSON blobs).

Numbers that should be tracked across runs are plain float metadata next to these tables, so the
asset's Plots tab draws them materialization by materialization."""

import math

import dagster as dg
import numpy as np
import pandas as pd

_TYPES = {"i": "int", "u": "int", "f": "float", "b": "bool"}


def table(frame: pd.DataFrame, digits: int = 3) -> dg.MetadataValue:
    """`frame` (its named index as columns) as table metadata, floats rounded to `digits`."""
    f = frame.reset_index() if any(n is not None for n in frame.index.names) else frame
    columns = [str(c) for c in f.columns]
    types = {str(c): _TYPES.get(f[c].dtype.kind, "string") for c in f.columns}

    def value(v, kind: str):
        if kind == "float":
            v = float(v)
            return None if math.isnan(v) else round(v, digits)
        if kind == "int":
            return int(v)
        if kind == "bool":
            return bool(v)
        return None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)

    records = [dg.TableRecord({c: value(v, types[c]) for c, v in zip(columns, row)})
               for row in f.itertuples(index=False)]
    schema = dg.TableSchema(columns=[dg.TableColumn(c, types[c]) for c in columns])
    return dg.MetadataValue.table(records=records, schema=schema)
