"""The Dagster code location (``dagster dev`` loads this module via workspace.yaml)."""

import dagster as dg

from analytics_pipeline.defs.build import build_definitions
from analytics_pipeline.settings import Settings, load_dotenv_into_environ


@dg.definitions
def defs() -> dg.Definitions:
    load_dotenv_into_environ()
    return build_definitions(Settings.from_env())
