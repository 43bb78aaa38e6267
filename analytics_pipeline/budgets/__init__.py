"""Budgets as code: per-user budget overrides kept in a TOML file, planned against the API and applied.

- :mod:`.limits`: an override's key (member, resource, period) and its limit (an exact decimal).
- :mod:`.budget_file`: the file read and checked (every problem one line, before anything is sent).
- :mod:`.toml_out`: the file written (``budgets export``).
- :mod:`.current`: the overrides in force, read from the API.
- :mod:`.plan`: the desired overrides resolved (defaults spread over the members) and the difference.
- :mod:`.apply`: the changes sent through ``set-user-budget-overrides``, one request each.
- :mod:`.audit`: each change sent, recorded in ``fct_budget_changes``.
- :mod:`.usage`: the members' use of their current budgets, from ``budget_utilisation``.
"""
