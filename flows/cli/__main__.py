"""`python -m flows.cli`: the console script's twin."""

from flows.cli import app

app()
