"""Progress reporting for long steps: a protocol, a silent one and a rich one."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from types import TracebackType
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class Advance(Protocol):
    def __call__(self, n: int = 1) -> None: ...


class Reporter(Protocol):
    """Reports steps of known or unknown size."""

    def step(self, name: str, total: int | None = None) -> AbstractContextManager[Advance]: ...


class SilentProgress:
    """Reports nothing (library use and tests)."""

    @contextmanager
    def step(self, name: str, total: int | None = None) -> Iterator[Advance]:
        yield lambda n=1: None


class RichProgress:
    """Rich progress bars, one per running step."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
        )

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()

    @contextmanager
    def step(self, name: str, total: int | None = None) -> Iterator[Advance]:
        task = self._progress.add_task(name, total=total)

        def advance(n: int = 1) -> None:
            self._progress.advance(task, n)

        try:
            yield advance
        finally:  # a finished step leaves the screen: the build's stage table sums them up
            self._progress.remove_task(task)
