"""The verifier cache changes speed, never verdicts: hits still re-check validity at ``now``."""

import functools
from datetime import UTC, datetime

import pytest

from attestation.nvidia import NvidiaVerifierCache, verify_gpu_evidence
from attestation.nvidia.collateral import NvidiaTrustAnchors
from attestation.nvidia.errors import (
    DeviceCertificateExpiredError,
    DeviceChainError,
    RimDigestError,
    RimExpiredError,
)
from attestation.nvidia.links import fingerprint, verify_links
from attestation.nvidia.memo import BoundedMemo
from tests.attestation.nvidia import vectors as v
from tests.attestation.nvidia.synthetic import DevicePki, RimPki

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


def test_links_verify_the_same_with_the_fingerprints_a_caller_holds() -> None:
    links = [issued.certificate for issued in DevicePki().chain]
    now = datetime(2026, 11, 27, tzinfo=UTC)
    prints = [fingerprint(certificate) for certificate in links]
    check = functools.partial(
        verify_links,
        links,
        now,
        "device",
        chain_error=DeviceChainError,
        expired_error=DeviceCertificateExpiredError,
        require_ca=True,
    )
    computed, held = check(BoundedMemo(8)), check(BoundedMemo(8), prints=prints)
    assert held == computed == min(certificate.not_valid_after_utc for certificate in links)
    with pytest.raises(ValueError, match="one fingerprint per link"):
        check(BoundedMemo(8), prints=prints[:-1])


def test_the_trust_anchors_hold_their_roots_fingerprints() -> None:
    device, rim = DevicePki(), RimPki()
    anchors = NvidiaTrustAnchors(device.root.certificate, rim.root.certificate, simulated=True)
    assert anchors.device_root_print == fingerprint(device.root.certificate)
    assert anchors.rim_root_print == fingerprint(rim.root.certificate)
    assert anchors.device_root_print != anchors.rim_root_print
