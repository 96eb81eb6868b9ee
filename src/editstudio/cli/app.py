"""The Typer application object and the helpers every command module shares."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from editstudio.core.errors import EditStudioError

app = typer.Typer(
    name="editstudio",
    help="Edit images with a local offline engine or any cloud editing model, behind one contract.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

console = Console()
err_console = Console(stderr=True)

TRACE = 5  # uvicorn's TRACE_LOG_LEVEL, below DEBUG


class LogLevel(StrEnum):
    """uvicorn's log levels, for ``--log-level`` (anything else is a usage error, exit 2)."""

    CRITICAL = "critical"
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"
    DEBUG = "debug"
    TRACE = "trace"

    @property
    def python_level(self) -> int:
        """The ``logging`` level number (``trace``: uvicorn's 5)."""
        return TRACE if self is LogLevel.TRACE else logging.getLevelNamesMapping()[self.name]


def console_error(message: str) -> None:
    """Print ``message`` (plain text, never Rich markup: it may quote user input) to stderr."""
    # soft_wrap: an error message stays one line, so scripts can grep it whatever the width.
    err_console.print(Text.assemble(("error: ", "bold red"), message), highlight=False, soft_wrap=True)


@contextmanager
def exit_on_error() -> Iterator[None]:
    """Turn an ``EditStudioError`` into its message on stderr and the error's exit code.

    ``main()`` does the same for the installed command; this makes a command behave the same when
    invoked through ``app`` directly (tests, embedding).
    """
    try:
        yield
    except EditStudioError as exc:
        console_error(exc.message)
        raise typer.Exit(exc.exit_code) from exc


def _print_version(value: bool) -> None:
    if value:
        from editstudio import __version__

        console.print(f"editstudio {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def _main_options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the installed version and exit.", callback=_print_version, is_eager=True
        ),
    ] = False,
) -> None:
    """Edit images with a local offline engine or any cloud editing model, behind one contract."""
