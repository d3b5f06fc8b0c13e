"""The ``nbaprops`` command line: a typer app whose commands parse, call the core and render."""

from nbaprops.cli.root import app, main

__all__ = ["app", "main"]
