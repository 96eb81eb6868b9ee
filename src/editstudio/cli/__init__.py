"""The ``editstudio`` command. Each submodule registers its commands on ``app``; this module only
wires them together and maps ``EditStudioError`` to an exit code."""

from __future__ import annotations

import sys

import typer

# Importing the command modules registers their commands on ``app``.
from editstudio.cli import admin as _admin  # noqa: F401  (registers commands)
from editstudio.cli import catalog as _catalog  # noqa: F401  (registers commands)
from editstudio.cli import demo as _demo  # noqa: F401  (registers commands)
from editstudio.cli import edit as _edit  # noqa: F401  (registers commands)
from editstudio.cli import ops as _ops  # noqa: F401  (registers commands)
from editstudio.cli import serve as _serve  # noqa: F401  (registers commands)
from editstudio.cli import worker as _worker  # noqa: F401  (registers commands)
from editstudio.cli.app import app, console_error
from editstudio.core.errors import EditStudioError


def main() -> None:
    try:
        app()
    except EditStudioError as exc:
        console_error(exc.message)
        sys.exit(exc.exit_code)


__all__ = ["app", "main", "typer"]
