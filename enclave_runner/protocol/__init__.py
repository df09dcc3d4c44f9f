"""The wire contract shared by the runner and the gateway (DESIGN §3, §5, §6).

Everything here is versioned: wire messages carry ``PROTOCOL_VERSION`` and every hash, signature input,
AAD and sealed payload starts with a ``ccgate/v1/...`` label. The package is small and dependency-light
on purpose: the runner's trusted code base includes all of it.
"""

from typing import Final

PROTOCOL_VERSION: Final = "ccgate/v1"

__all__ = ["PROTOCOL_VERSION"]
