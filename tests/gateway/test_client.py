"""The typed client: problems become coded errors, only GETs are retried, downloads are digest-checked."""

import base64
import hashlib

import httpx
import pytest

from gateway.client.errors import ApiProblemError, ContentDigestError, GatewayUnreachableError
from gateway.client.http import GatewayClient


class FlakyGateway:
    """A fake gateway that answers 503 to the first ``failures`` requests, then 200."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.seen: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request.method)
        if len(self.seen) <= self.failures:
            return httpx.Response(503, json={"code": "verifier.unavailable", "detail": "later"})
        return httpx.Response(
            200, json={"subject": "prn_x", "tenant_id": "ten_x", "roles": ["owner"], "token_id": "t"}
        )


def _client(handler: object) -> GatewayClient:
    transport = httpx.MockTransport(handler)  # type: ignore[arg-type]  # any callable request → response.
    return GatewayClient(
        "http://gateway", "token", http=httpx.Client(base_url="http://gateway", transport=transport)
    )


def test_an_idempotent_get_is_retried_through_a_brief_outage() -> None:
    gateway = FlakyGateway(failures=2)
    assert _client(gateway).whoami().roles == ["owner"]
    assert gateway.seen == ["GET", "GET", "GET"]


def test_a_post_is_sent_once_and_its_problem_is_raised_with_the_code() -> None:
    gateway = FlakyGateway(failures=5)
    with pytest.raises(ApiProblemError) as raised:
        _client(gateway).create_tenant("acme")
    assert raised.value.code == "verifier.unavailable"
    assert gateway.seen == ["POST"]


def test_a_get_that_stays_unavailable_gives_up() -> None:
    gateway = FlakyGateway(failures=100)
    with pytest.raises(ApiProblemError):
        _client(gateway).whoami()
    assert len(gateway.seen) == 4


def test_an_unreachable_gateway_is_reported_as_such() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(GatewayUnreachableError):
        _client(refuse).create_tenant("acme")


@pytest.mark.parametrize(
    ("declared", "fails"),
    [pytest.param(True, False, id="matching digest"), pytest.param(False, True, id="wrong digest")],
)
def test_downloads_are_checked_against_the_declared_digest(declared: bool, fails: bool) -> None:
    body = b"envelope bytes" * 1000
    digest = hashlib.sha256(body if declared else b"other").digest()

    def serve(request: httpx.Request) -> httpx.Response:
        headers = {"Content-Digest": f"sha-256=:{base64.b64encode(digest).decode()}:"}
        return httpx.Response(200, stream=httpx.ByteStream(body), headers=headers)

    with _client(serve).download("art_x") as chunks:
        if fails:
            with pytest.raises(ContentDigestError):
                b"".join(chunks)
        else:
            assert b"".join(chunks) == body
