"""``python -m nbaprops``: the CLI."""

from nbaprops.cli import main

main()
