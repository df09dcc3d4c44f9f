"""Version strings compared component by component, the way each vendor writes them.

* ``DECIMAL`` (NVIDIA driver versions, and any other dotted version): ``550.127.05 > 550.90.07``;
  components are decimal integers, so leading zeros do not matter (``05 == 5``).
* ``HEX`` (NVIDIA VBIOS versions): ``96.00.9F.00.01``; every component is a hexadecimal byte
  string, so ``96.00.A0.00.01 > 96.00.9F.00.01`` and ``96.00.10 > 96.00.0F``. Reading VBIOS
  components as decimal would get the last comparison backwards, which is why the scheme is chosen
  per claim and not guessed per component.

Missing trailing components count as zero (``545.00 == 545.00.0``). The *branch* of a version is its
first component: reference-value sets of minimum versions hold one minimum per branch.
"""

from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache


class VersionScheme(StrEnum):
    """How the components of a dotted version string are read."""

    DECIMAL = "decimal"
    HEX = "hex"


#: Claims whose versions are not decimal. Every other string claim compares as DECIMAL.
VERSION_SCHEMES: dict[str, VersionScheme] = {"x-nvidia-gpu-vbios-version": VersionScheme.HEX}

_MAX_COMPONENTS = 8
_MAX_COMPONENT_DIGITS = 12
_DECIMAL_DIGITS = frozenset("0123456789")
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


@dataclass(frozen=True, slots=True, order=True)
class Version:
    """A parsed version: its components as integers, trailing zeros removed so padding compares equal."""

    components: tuple[int, ...]
    # Ordering and equality use the components only, so ``05`` and ``5`` compare equal.
    text: str = field(compare=False)

    @property
    def branch(self) -> int:
        """The first component (an NVIDIA driver branch such as 550, a VBIOS family such as 0x96)."""
        return self.components[0] if self.components else 0

    def __str__(self) -> str:
        return self.text


def scheme_for(claim_name: str) -> VersionScheme:
    """The version scheme of a claim, by its claim name (the last segment of its path)."""
    return VERSION_SCHEMES.get(claim_name, VersionScheme.DECIMAL)


def parse_version(text: str, scheme: VersionScheme) -> Version:
    """Parse a dotted version string under ``scheme``.

    Raises:
        ValueError: the text is empty, has an empty or non-digit component, too many components,
            or a component too long to be a version number.
    """
    parts = text.split(".")
    if len(parts) > _MAX_COMPONENTS:
        raise ValueError(f"{text!r} has more than {_MAX_COMPONENTS} components")
    digits = _DECIMAL_DIGITS if scheme is VersionScheme.DECIMAL else _HEX_DIGITS
    base = 10 if scheme is VersionScheme.DECIMAL else 16
    values: list[int] = []
    for part in parts:
        if not part or len(part) > _MAX_COMPONENT_DIGITS or not set(part) <= digits:
            raise ValueError(f"{text!r} is not a {scheme} version (component {part!r})")
        values.append(int(part, base))
    while values and values[-1] == 0:
        values.pop()
    return Version(tuple(values), text)


@lru_cache(maxsize=4096)
def cached_version(text: str, scheme: VersionScheme) -> Version | None:
    """``parse_version`` memoised for evaluation (the same driver strings recur); None if unparseable.

    The cache is bounded and keyed only by the text, so it is pure: it changes speed, never results.
    """
    try:
        return parse_version(text, scheme)
    except ValueError:
        return None
