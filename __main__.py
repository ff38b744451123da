"""``python -m lantian``."""

from lantian.cli import app

app()
