"""A small SQL prompt over a read-only connection: statements end with ``;``, results print as tables.

It is what ``duckdb -readonly`` offers analysts, without a DuckDB shell to install (the project pins the
engine, not a shell binary), and the same for a file warehouse and a DuckLake: the connection comes from
the warehouse's reader, with the analysis macros and views in it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import click
import duckdb

PROMPT = "D "
CONTINUATION = "· "
EXIT_COMMANDS = frozenset({".quit", ".exit", "\\q", "exit", "quit"})


def statements(con: duckdb.DuckDBPyConnection, text: str) -> list[str]:
    """The statements of ``text``, split by DuckDB's own parser (a ``;`` inside a string stays)."""
    return [statement.query for statement in con.extract_statements(text)]


def run(con: duckdb.DuckDBPyConnection, text: str) -> None:
    """Run every statement of ``text``, printing each result; raise duckdb.Error at the first failure."""
    for query in statements(con, text):
        relation = con.sql(query)
        if relation is not None:
            click.echo(str(relation).rstrip("\n"))


def complete_inputs(lines: Iterable[str]) -> Iterator[str]:
    """The text of each complete input: lines up to one ending with ``;``, or an exit command alone."""
    buffer: list[str] = []
    for line in lines:
        if not buffer and line.strip().lower() in EXIT_COMMANDS:
            return
        if not buffer and not line.strip():
            continue
        buffer.append(line)
        if line.rstrip().endswith(";"):
            yield "\n".join(buffer)
            buffer = []
    if buffer and "".join(buffer).strip():
        yield "\n".join(buffer)


def prompt_lines(read: Callable[[str], str]) -> Iterator[str]:
    """Lines typed at the prompt (``read`` is ``input``), until end of input (Ctrl-D)."""
    prompt = PROMPT
    while True:
        try:
            line = read(prompt)
        except EOFError:
            click.echo()
            return
        except KeyboardInterrupt:  # Ctrl-C abandons the statement being typed, as shells do
            click.echo()
            prompt = PROMPT
            yield ";"
            continue
        prompt = CONTINUATION if not line.rstrip().endswith(";") and line.strip() else PROMPT
        yield line


def interact(con: duckdb.DuckDBPyConnection, lines: Iterable[str]) -> int:
    """Run each complete input; a failing one prints its error and the prompt goes on. Returns how many
    inputs failed."""
    failed = 0
    for text in complete_inputs(lines):
        if text.strip() == ";":
            continue
        try:
            run(con, text)
        except duckdb.Error as exc:
            failed += 1
            click.echo(f"Error: {str(exc).splitlines()[0]}", err=True)
    return failed
