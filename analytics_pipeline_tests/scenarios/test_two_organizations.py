"""Many organisations: one backfill loads two sandboxes' organisations at once, each within its own limit,
and each organisation's rows equal a single-organisation run of its sandbox."""

from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path

from analytics_pipeline.dates import utc_today, yesterday
from analytics_pipeline.sandbox import SandboxServer, SyntheticOrg
from analytics_pipeline_tests.scenarios.two_organizations import TOKENS, run_two_organizations

END = yesterday(utc_today()) - dt.timedelta(days=3)
START = END - dt.timedelta(days=9)


def test_two_organisations_load_at_once_into_one_warehouse(tmp_path: Path) -> None:
    orgs = {
        "acme": SyntheticOrg(seed=11, people=30, service_accounts=2),
        # The same seed: the same first 20 people (emails) in both, two members each.
        "globex-eu": SyntheticOrg(seed=11, people=20, service_accounts=1),
    }
    with contextlib.ExitStack() as stack:
        sandboxes = {
            name: stack.enter_context(
                SandboxServer(org, tokens=(TOKENS[name],), requests_per_minute=120, burst=20)
            )
            for name, org in orgs.items()
        }
        result = run_two_organizations(tmp_path, sandboxes, START, END)
        # Each sandbox accepts its own token only: a token sent to the other's would have failed the run.
        unauthorized = {name: s.stats.by_status.get(401, 0) for name, s in sandboxes.items()}

    assert unauthorized == {"acme": 0, "globex-eu": 0}
    assert result.rate_limited == {"acme": 0, "globex-eu": 0}
    assert all(requests > 0 for requests in result.requests.values())
    assert result.overlap() > 0.5, result.spans  # at once, not one after the other
    for name in orgs:
        assert result.exports[name] == result.alone_exports[name], name
        assert all(text.count("\n") > 1 for text in result.exports[name].values())
    assert result.exports["acme"] != result.exports["globex-eu"]
    assert "[acme]" in result.together.output and "[globex-eu]" in result.together.output
    for output in result.outputs:
        assert not any(token in output for token in TOKENS.values())
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.stat().st_size < 10_000_000:
            assert not any(token.encode() in path.read_bytes() for token in TOKENS.values()), path
