"""How the demo tells what it does: numbered steps by actor, details under them, progress bars."""

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol


class Narrator(Protocol):
    """Where the demo's story goes: the terminal (``ccgate demo``) or a list (tests)."""

    def step(self, actor: str, message: str) -> None:
        """A numbered step, done by ``actor`` (gateway, admin, provider, security, owner, runner)."""
        ...

    def detail(self, message: str) -> None:
        """A line under the current step."""
        ...

    def progress(self, description: str, total: int) -> AbstractContextManager[Callable[[int], None]]:
        """A progress bar over ``total`` bytes; yields ``advance(n)``."""
        ...


class RecordingNarrator:
    """Keeps the story in memory (for tests, and for a --json summary)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def step(self, actor: str, message: str) -> None:
        """Record a step."""
        self.lines.append(f"{actor}: {message}")

    def detail(self, message: str) -> None:
        """Record a detail."""
        self.lines.append(f"  {message}")

    @contextmanager
    def progress(self, description: str, total: int) -> Iterator[Callable[[int], None]]:
        """No bar; the bytes are counted into the record."""
        seen = [0]

        def advance(count: int) -> None:
            seen[0] += count

        yield advance
        self.lines.append(f"  {description}: {seen[0]} of {total} bytes")
