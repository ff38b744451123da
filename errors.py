"""Errors shared by every stage of the pipeline."""

from __future__ import annotations

from pathlib import Path


class LantianError(Exception):
    """Base class for errors lantian reports to its users."""


class InputError(LantianError):
    """A bad input, located as precisely as possible: file, 1-based data row, field."""

    def __init__(
        self,
        file: str | Path,
        message: str,
        *,
        row: int | None = None,
        field: str | None = None,
    ) -> None:
        self.file = str(file)
        self.row = row
        self.field = field
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.file if self.row is None else f"{self.file}:{self.row}"
        if self.field:
            return f"{where}: {self.field}: {self.message}"
        return f"{where}: {self.message}"


class BuildError(LantianError):
    """A release could not be built; nothing already built was changed."""
