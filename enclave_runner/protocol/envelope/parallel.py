"""Run one job per segment on a few threads, each with its own reusable buffers.

AES-GCM in ``cryptography`` releases the GIL, so two threads use both cores. Segments are
independent once the layout is fixed, which is what lets files be processed with positional reads
and writes in any order.
"""

import itertools
import os
import threading
from collections.abc import Callable
from typing import Final

MAX_WORKERS: Final = 8


def default_workers() -> int:
    """One worker per available core, at most ``MAX_WORKERS``."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # Not every platform has sched_getaffinity (macOS).
        cores = os.cpu_count() or 1
    return max(1, min(MAX_WORKERS, cores))


SegmentJob = Callable[[int, bytearray, bytearray], None]


def run_segments(count: int, job: SegmentJob, buffer_size: int, workers: int) -> None:
    """Call ``job(index, in_buffer, out_buffer)`` for every index in ``range(count)``.

    Each thread owns one pair of ``buffer_size`` buffers for its whole life, so memory stays at
    ``2 × workers × buffer_size`` whatever the number of segments. The first failure stops the
    others; the failure with the lowest segment index is re-raised, so errors are deterministic.
    """
    counter = itertools.count()
    stop = threading.Event()
    failures: list[tuple[int, BaseException]] = []
    lock = threading.Lock()

    def loop() -> None:
        in_buffer = bytearray(buffer_size)
        out_buffer = bytearray(buffer_size)
        while not stop.is_set():
            index = next(counter)
            if index >= count:
                return
            try:
                job(index, in_buffer, out_buffer)
            except BaseException as exc:  # noqa: BLE001 - re-raised below on the calling thread.
                with lock:
                    failures.append((index, exc))
                stop.set()
                return

    threads = [threading.Thread(target=loop, name=f"envelope-{n}", daemon=True) for n in range(workers - 1)]
    for thread in threads:
        thread.start()
    loop()
    for thread in threads:
        thread.join()
    if failures:
        raise min(failures, key=lambda failure: failure[0])[1]


def pread_exact(fd: int, view: memoryview, offset: int) -> int:
    """Fill ``view`` from ``fd`` at ``offset``; return how many bytes were read (short only at EOF)."""
    done = 0
    while done < len(view):
        got = os.preadv(fd, [view[done:]], offset + done)
        if got == 0:
            break
        done += got
    return done


def pwrite_all(fd: int, view: memoryview, offset: int) -> None:
    """Write all of ``view`` to ``fd`` at ``offset``."""
    done = 0
    while done < len(view):
        done += os.pwritev(fd, [view[done:]], offset + done)
