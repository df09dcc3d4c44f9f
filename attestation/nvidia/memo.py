"""A bounded memo table: the storage behind ``NvidiaVerifierCache``."""

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedMemo(Generic[K, V]):
    """A dictionary that forgets its oldest entries beyond ``max_entries``."""

    __slots__ = ("_entries", "_lock", "_max_entries")

    def __init__(self, max_entries: int) -> None:
        if max_entries < 1:
            raise ValueError("a cache needs room for at least one entry")
        self._entries: dict[K, V] = {}
        self._max_entries = max_entries
        # The gateway verifies several GPUs and several requests at once with one cache.
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """The value stored under ``key``, or None."""
        return self._entries.get(key)

    def put(self, key: K, value: V) -> None:
        """Store ``value`` under ``key``, dropping the oldest entry when full."""
        with self._lock:
            if key not in self._entries and len(self._entries) >= self._max_entries:
                self._entries.pop(next(iter(self._entries)), None)
            self._entries[key] = value

    def get_or_compute(self, key: K, compute: Callable[[], V]) -> V:
        """The value stored under ``key``, or ``compute()`` stored there now (not if it raises)."""
        value = self._entries.get(key)
        if value is None:
            value = compute()
            self.put(key, value)
        return value

    def __len__(self) -> int:
        return len(self._entries)
