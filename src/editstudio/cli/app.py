"""The Typer application object and the helpers every command module shares."""

from __future__ import annotations

import typer
from rich.console import Console

app = typer.Typer(
    name="editstudio",
    help="Edit images with a local offline engine or any cloud editing model, behind one contract.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

console = Console()
err_console = Console(stderr=True)


def console_error(message: str) -> None:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
