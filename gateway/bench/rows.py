"""A benchmark row: one verifier's timings on one piece of Evidence."""

import statistics
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """One verifier's timings on one piece of Evidence (``seconds`` empty when it did not run)."""

    name: str
    evidence: str
    seconds: tuple[float, ...]
    verdict: str
    note: str = ""

    @property
    def median(self) -> float | None:
        """Median seconds per verification."""
        return statistics.median(self.seconds) if self.seconds else None

    @property
    def p99(self) -> float | None:
        """99th percentile seconds per verification (the maximum below 100 runs)."""
        if len(self.seconds) < 2:
            return self.median
        return statistics.quantiles(self.seconds, n=100, method="inclusive")[98]
