"""The policy YAML loader builds plain data only, and refuses what a security document must not hold."""

import pytest

from policies import PolicyInvalidError
from policies.yaml_source import MAX_DEPTH, MAX_DOCUMENT_BYTES, load_yaml_mapping


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("v: no", "no"),
        ("v: yes", "yes"),
        ("v: on", "on"),
        ("v: 012", "012"),
        ("v: 0x10", "0x10"),
        ("v: 1:20", "1:20"),
        ("v: 550.90", "550.90"),
        ("v: 1.5", "1.5"),
        ("v: .inf", ".inf"),
        ("v: 2027-01-31", "2027-01-31"),
        ("v: true", True),
        ("v: False", False),
        ("v: 0", 0),
        ("v: -12", -12),
        ("v: ~", None),
        ("v:", None),
        ("v: 'true'", "true"),
    ],
    ids=repr,
)
def test_scalars_resolve_only_to_null_booleans_decimal_integers_and_strings(text: str, value: object) -> None:
    assert load_yaml_mapping(text.encode(), "t.yaml") == {"v": value}


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"a: &x [1]\nb: *x\n", "policy.yaml_alias"),
        (b"a: !!float 1\n", "policy.yaml_tag"),
        (b"a: !!python/object:os.system {}\n", "policy.yaml_tag"),
        (b"a: !custom x\n", "policy.yaml_tag"),
        (b"a: 1\na: 2\n", "policy.duplicate_key"),
        (b"1: one\n", "policy.yaml_key"),
        (b"? [a]\n: b\n", "policy.yaml_key"),
        (b"a: " + b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1) + b"\n", "policy.too_deep"),
        (b"a: 1\n---\nb: 2\n", "policy.yaml_invalid"),
        (b"\xff\xfe", "policy.yaml_invalid"),
        (b"[1, 2]", "policy.not_a_mapping"),
        (b"just text", "policy.not_a_mapping"),
        (b"x" * (MAX_DOCUMENT_BYTES + 1), "policy.too_large"),
    ],
    ids=["alias", "explicit tag", "python tag", "custom tag", "duplicate key", "integer key", "sequence key",
         "nesting too deep", "two documents", "not UTF-8", "a list", "a scalar", "too large"],
)  # fmt: skip
def test_refused(data: bytes, code: str) -> None:
    with pytest.raises(PolicyInvalidError) as caught:
        load_yaml_mapping(data, "t.yaml")
    (problem,) = caught.value.problems
    assert (problem.source, problem.code) == ("t.yaml", code)


def test_a_document_at_the_size_limit_is_read() -> None:
    data = b"a: " + b"x" * (MAX_DOCUMENT_BYTES - 4) + b"\n"
    assert len(data) == MAX_DOCUMENT_BYTES
    assert load_yaml_mapping(data, "t.yaml")["a"] == "x" * (MAX_DOCUMENT_BYTES - 4)


def test_json_is_read_too() -> None:
    assert load_yaml_mapping(b'{"a": {"b": [1, "2", true, null]}}', "t.json") == {
        "a": {"b": [1, "2", True, None]}
    }
