"""Shared CLI output: one-line errors with stable codes, JSON output, progress bars."""

import json
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import NoReturn

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

stdout = Console(highlight=False, soft_wrap=True)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)


def error_code(exc: BaseException) -> str | None:
    """The stable code of a ccgate error (any class with a string ``code``), else None."""
    code = getattr(exc, "code", None)
    return code if isinstance(code, str) else None


def fail(code: str, message: str, exit_code: int = 1) -> NoReturn:
    """Print ``ccgate: code: message`` on stderr and exit."""
    stderr.print(f"ccgate: {code}: {message}", markup=False)
    raise typer.Exit(exit_code)


def print_json(document: Mapping[str, object]) -> None:
    """Write one JSON document on stdout."""
    sys.stdout.write(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n")
    sys.stdout.flush()


@contextmanager
def byte_progress(description: str, total: int | None, enabled: bool) -> Iterator[Callable[[int], None]]:
    """A thread-safe ``advance(n)`` callback, drawing a progress bar on stderr when ``enabled``."""
    if not enabled or not stderr.is_terminal:
        yield lambda _n: None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=stderr,
        transient=True,
    ) as progress:
        task = progress.add_task(description, total=total)
        yield lambda n: progress.advance(task, n)
