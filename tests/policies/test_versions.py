"""Version comparison the way NVIDIA and AMD write versions: decimal drivers, hexadecimal VBIOS."""

import pytest

from policies.versions import VersionScheme, parse_version, scheme_for

DECIMAL, HEX = VersionScheme.DECIMAL, VersionScheme.HEX


@pytest.mark.parametrize(
    ("older", "newer", "scheme"),
    [
        ("550.90.07", "550.127.05", DECIMAL),
        ("535.183.01", "550.54.14", DECIMAL),
        ("545.00", "545.23.08", DECIMAL),
        ("570.124.03", "570.124.06", DECIMAL),
        ("575.32", "575.51.02", DECIMAL),
        ("96.00.5E.00.01", "96.00.9F.00.01", HEX),
        ("96.00.9F.00.01", "96.00.A0.00.00", HEX),
        ("96.00.0F.00.01", "96.00.10.00.01", HEX),
        ("96.00.9F.00.01", "97.00.88.00.0F", HEX),
        ("96.00.9f.00.01", "96.00.A0.00.01", HEX),
    ],
    ids=str,
)
def test_older_compares_below_newer(older: str, newer: str, scheme: VersionScheme) -> None:
    assert parse_version(older, scheme) < parse_version(newer, scheme)
    assert parse_version(newer, scheme) > parse_version(older, scheme)


@pytest.mark.parametrize(
    ("left", "right", "scheme"),
    [
        ("550.127.05", "550.127.5", DECIMAL),
        ("545.00", "545", DECIMAL),
        ("545.00", "545.00.0", DECIMAL),
        ("96.00.9F.00.01", "96.0.9f.0.1", HEX),
    ],
    ids=["leading zeros", "trailing zero components", "padding", "hex case and leading zeros"],
)
def test_equal_versions_written_differently(left: str, right: str, scheme: VersionScheme) -> None:
    assert parse_version(left, scheme) == parse_version(right, scheme)


def test_decimal_and_hex_disagree_where_they_should() -> None:
    # Read as decimal, 10 < 15; as the hexadecimal bytes they are, 0x10 > 0x0F.
    assert parse_version("96.00.10", DECIMAL) < parse_version("96.00.15", DECIMAL)
    assert parse_version("96.00.10", HEX) > parse_version("96.00.0F", HEX)


@pytest.mark.parametrize(
    ("text", "scheme"),
    [
        ("", DECIMAL),
        ("550..07", DECIMAL),
        ("550.90.07-beta", DECIMAL),
        ("96.00.9F", DECIMAL),
        ("96.00.9G", HEX),
        ("v550", DECIMAL),
        ("1.2.3.4.5.6.7.8.9", DECIMAL),
        ("1" * 13, DECIMAL),
    ],
    ids=["empty", "empty component", "suffix", "hex digit in a decimal version", "not hex", "prefix",
         "too many components", "a component too long"],
)  # fmt: skip
def test_not_a_version(text: str, scheme: VersionScheme) -> None:
    with pytest.raises(ValueError, match=r"not a|more than"):
        parse_version(text, scheme)


def test_the_branch_is_the_first_component() -> None:
    assert parse_version("550.127.05", DECIMAL).branch == 550
    assert parse_version("96.00.9F.00.01", HEX).branch == 0x96


def test_the_scheme_is_chosen_by_claim_name() -> None:
    assert scheme_for("x-nvidia-gpu-vbios-version") is HEX
    assert scheme_for("x-nvidia-gpu-driver-version") is DECIMAL
