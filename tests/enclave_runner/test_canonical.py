"""Canonical JSON: one encoding for every digest and signature, identical in the runner and the Verifier."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from attestation import canonical as verifier_canonical
from enclave_runner.protocol import canonical as runner_canonical
from enclave_runner.protocol.errors import CanonicalJsonError

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)


def test_sorted_keys_no_whitespace_utf8() -> None:
    assert (
        runner_canonical.canonical_json({"b": 1, "a": [True, None, "é"]})
        == '{"a":[true,null,"é"],"b":1}'.encode()
    )


def test_digest_is_sha256_of_the_encoding() -> None:
    assert (
        runner_canonical.canonical_digest({})
        == "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    )


@pytest.mark.parametrize(
    "value",
    [1.5, {"a": float("nan")}, {1: "x"}, {"a": b"bytes"}, [object()]],
    ids=["a float", "NaN inside an object", "a non-string key", "bytes", "an arbitrary object"],
)
def test_values_without_a_canonical_form_are_refused(value: object) -> None:
    with pytest.raises(CanonicalJsonError):
        runner_canonical.canonical_json(value)  # type: ignore[arg-type]  # deliberately not JSON
    with pytest.raises(verifier_canonical.CanonicalJsonError):
        verifier_canonical.canonical_json(value)  # type: ignore[arg-type]  # deliberately not JSON


@given(json_values)
def test_runner_and_verifier_twins_agree(value: runner_canonical.JsonValue) -> None:
    assert runner_canonical.canonical_json(value) == verifier_canonical.canonical_json(value)
