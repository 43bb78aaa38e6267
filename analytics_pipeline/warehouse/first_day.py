"""The first day each organisation ever loaded, as the warehouse records it.

No table of its own holds it: ``pipeline_partitions`` does already, one row per partition ever loaded,
and none is ever deleted because its day left the API's window (a partition loaded again replaces its
own row only). ``rebuild`` writes the rows again from the landed raw partitions, which are kept too,
so the answer survives a rebuilt warehouse, and a DuckLake holds it as a file does.
"""

from __future__ import annotations

import datetime as dt

from analytics_pipeline.api.endpoints import LANDED
from analytics_pipeline.warehouse.location import WarehouseDoors
from analytics_pipeline.warehouse.sql import read_sql, table_exists


def first_loaded_days(warehouse: WarehouseDoors) -> dict[str, dt.date]:
    """Each organisation's first loaded day of a daily endpoint; empty when nothing is loaded yet.

    Read through the warehouse's reader, which waits (within a bound) for a load holding the file.
    """
    if not warehouse.exists():
        return {}
    with warehouse.reader(wait=True) as con:
        if not table_exists(con, "pipeline_partitions"):  # a first writer killed before its schema
            return {}
        rows = con.execute(read_sql("pipeline/first_loaded_days"), {"endpoints": [e.name for e in LANDED]})
        return dict(rows.fetchall())
