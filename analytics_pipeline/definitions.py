"""The Dagster code location (``dagster dev`` loads this module via workspace.yaml)."""

import dagster as dg

from analytics_pipeline.config.datadir import keep_files_private
from analytics_pipeline.config.settings import Settings, load_dotenv_into_environ
from analytics_pipeline.defs.build import build_definitions


@dg.definitions
def defs() -> dg.Definitions:
    keep_files_private()  # the processes Dagster runs our code in create the data: owner-only (see datadir)
    load_dotenv_into_environ()
    return build_definitions(Settings.from_env())
