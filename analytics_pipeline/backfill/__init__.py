"""Backfills: what a range costs in requests, and the in-process runs that load it.

- :mod:`.estimate`, :mod:`.estimate_live`: the request plan, before anything runs;
- :mod:`.steps`: the runs a backfill is split into (phases from the endpoint table);
- :mod:`.loaded`: what the warehouse already holds, so a resumed backfill skips it;
- :mod:`.in_process`: one run of the Dagster job in this process;
- :mod:`.scheduler`: the backfill itself, its runs fetched and loaded in threads.
"""
