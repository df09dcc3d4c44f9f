"""The verifier cache changes speed, never verdicts: hits still re-check validity at ``now``."""

import pytest

from attestation.nvidia import NvidiaVerifierCache, verify_gpu_evidence
from attestation.nvidia.errors import RimDigestError, RimExpiredError
from attestation.nvidia.memo import BoundedMemo
from tests.attestation.nvidia import vectors as v

pytestmark = pytest.mark.vectors


def test_warm_and_cold_verification_give_the_same_claims() -> None:
    cache = NvidiaVerifierCache()
    arguments = {
        "expected_nonce": v.FULL_PASS_NONCE,
        "collateral": v.full_pass_collateral(),
        "now": v.PINNED_TIME,
    }
    cold = verify_gpu_evidence(v.evidence(v.HOPPER_545), **arguments)  # type: ignore[arg-type]  # a typed-dict would only repeat the signature
    first = verify_gpu_evidence(v.evidence(v.HOPPER_545), cache=cache, **arguments)  # type: ignore[arg-type]  # as above
    warm = verify_gpu_evidence(v.evidence(v.HOPPER_545), cache=cache, **arguments)  # type: ignore[arg-type]  # as above
    assert cold == first == warm
    assert len(cache.rims) == 2
    assert len(cache.chains) == 1
    # 4 device links; the two RIMs have their own L4 but share L3 → CA → root, so 3 + 1 RIM links.
    assert len(cache.links) == 4 + 3 + 1


def test_a_warm_cache_still_refuses_rims_expired_at_now() -> None:
    cache = NvidiaVerifierCache()
    evidence = v.evidence(v.HOPPER_545)
    collateral = v.full_pass_collateral()
    verify_gpu_evidence(
        evidence, expected_nonce=v.FULL_PASS_NONCE, collateral=collateral, now=v.PINNED_TIME, cache=cache
    )
    with pytest.raises(RimExpiredError):
        verify_gpu_evidence(
            evidence, expected_nonce=v.FULL_PASS_NONCE, collateral=collateral, now=v.NOW, cache=cache
        )


def test_a_refused_rim_is_not_cached() -> None:
    cache = NvidiaVerifierCache()
    collateral = v.collateral(
        {v.FULL_PASS_DRIVER_ID: (v.NVAT_EDITED_535_RIM,), v.FULL_PASS_VBIOS_ID: (v.VBIOS_TEST_RIM,)}
    )
    for _ in range(2):
        with pytest.raises(RimDigestError):
            verify_gpu_evidence(
                v.evidence(v.HOPPER_545),
                expected_nonce=v.FULL_PASS_NONCE,
                collateral=collateral,
                now=v.PINNED_TIME,
                cache=cache,
            )
    assert len(cache.rims) == 0


def test_the_memo_forgets_its_oldest_entries_beyond_its_bound() -> None:
    memo: BoundedMemo[int, int] = BoundedMemo(2)
    for key in range(3):
        memo.put(key, key)
    assert (memo.get(0), memo.get(1), memo.get(2), len(memo)) == (None, 1, 2, 2)
    with pytest.raises(ValueError, match="at least one"):
        BoundedMemo(0)
