"""``analytics-pipeline sql``: the warehouse read-only at a SQL prompt, with the analysis macros."""

from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner, Result

from analytics_pipeline.cli import main
from analytics_pipeline.cli.sql_shell import complete_inputs, interact, prompt_lines
from analytics_pipeline.warehouse import Warehouse
from analytics_pipeline_tests.conftest import assert_one_line_error, run_cli

pytestmark = pytest.mark.usefixtures("clean_environment")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A warehouse with one recorded partition, its analysis layer installed (by its writer)."""
    with Warehouse(tmp_path / "data" / "warehouse.duckdb").writer() as con:
        con.execute(
            "insert into pipeline_partitions (endpoint, date, rows, requests, pages, status, fetched_at, "
            "loaded_at, organization) values ('dau', '2026-11-02', 0, 1, 1, 'empty', now(), now(), 'default')"
        )
    return tmp_path / "data"


def _env(data_dir: Path) -> dict[str, str]:
    return {"ANALYTICS_DATA_DIR": str(data_dir)}


def run_cli_input(data_dir: Path, text: str) -> Result:
    """The command with ``text`` on standard input (not a terminal: no prompt)."""
    return CliRunner().invoke(main, ["sql"], input=text, env=_env(data_dir), catch_exceptions=False)


def test_a_command_prints_its_result_with_the_macros_and_writes_nothing(data_dir: Path) -> None:
    before = (data_dir / "warehouse.duckdb").stat().st_mtime_ns
    result = run_cli(
        "sql",
        "-c",
        "select count(*) as partitions, analysis_reach_floor() < current_date as floor_before_today "
        "from pipeline_partitions",
        env=_env(data_dir),
    )
    assert result.exit_code == 0, result.output
    assert "partitions" in result.output and "floor_before_today" in result.output
    assert "│          1 │ true" in result.output
    assert (data_dir / "warehouse.duckdb").stat().st_mtime_ns == before


def test_statements_from_standard_input_run_in_turn_and_a_failure_is_reported(data_dir: Path) -> None:
    script = "select 'a;b' as text;\nselect nope;\n\nselect 40 +\n 2 as answer;\n.quit\nselect 'never';\n"
    result = run_cli_input(data_dir, script)
    assert "a;b" in result.output and "42" in result.output and "never" not in result.output
    assert (
        'Error: Binder Error: Referenced column "nope" not found' in result.output or "nope" in result.output
    )
    assert result.exit_code == 2
    assert result.output.rstrip().endswith("1 of the statements read from standard input failed; fix the SQL")


def test_a_write_is_refused_as_the_connection_is_read_only(data_dir: Path) -> None:
    result = run_cli("sql", "-c", "delete from pipeline_partitions", env=_env(data_dir))
    assert_one_line_error(result, '-c failed: Invalid Input Error: Cannot execute statement of type "DELETE"')
    with Warehouse(data_dir / "warehouse.duckdb").reader() as con:
        assert con.execute("select count(*) from pipeline_partitions").fetchone() == (1,)


def test_without_a_warehouse_it_says_how_to_make_one(tmp_path: Path) -> None:
    assert_one_line_error(
        run_cli("sql", "-c", "select 1", env=_env(tmp_path / "data")), "no warehouse yet in"
    )


def test_the_prompt_reads_until_a_semicolon_and_goes_on_after_an_error(capsys: pytest.CaptureFixture) -> None:
    typed = iter(["select", " 1 as one;", "select nope;", "", "select 2 as two;"])
    prompts: list[str] = []

    def read(prompt: str) -> str:
        prompts.append(prompt)
        try:
            return next(typed)
        except StopIteration:
            raise EOFError from None

    with duckdb.connect() as con:
        assert interact(con, prompt_lines(read)) == 1
    out = capsys.readouterr()
    assert "one" in out.out and "two" in out.out and "Error:" in out.err
    assert prompts[:3] == ["D ", "· ", "D "]


def test_complete_inputs_stop_at_an_exit_command_and_keep_an_unterminated_last_statement() -> None:
    assert list(complete_inputs(["select 1", "; select 2;", ".quit", "select 3;"])) == [
        "select 1\n; select 2;"
    ]
    assert list(complete_inputs(["select 1"])) == ["select 1"]
