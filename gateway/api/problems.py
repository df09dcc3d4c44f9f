"""The one table from error classes to HTTP statuses, and the RFC 9457 problem+json responses.

Every error a client can see goes through here: the gateway's own errors (by class, most specific
first via the MRO), the Verifier's, the wire contract's, request-validation errors, unknown routes,
and a catch-all that answers ``500 internal.error`` with no internals. A problem body never carries
a traceback, a key or a token; ``detail`` is the error's message, which the raising code keeps safe.
"""

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from attestation.errors import AttestationError, CollateralError, EvidenceError
from enclave_runner.protocol.errors import ProtocolError, SealedContextMismatchError, SealingError
from enclave_runner.protocol.messages import DeniedArtefact
from gateway import errors
from gateway.api.middleware import current_request_id
from gateway.ledger.records import LedgerRecordError
from gateway.schemas.wire_types import Problem

PROBLEM_MEDIA_TYPE: Final = "application/problem+json"
TYPE_PREFIX: Final = "urn:ccgate:problem:"

log = logging.getLogger("ccgate.problems")

# error class → (HTTP status, title). Looked up along the raised class's MRO, so a subclass not
# listed inherits its parent's row.
STATUS_OF: Final[Mapping[type[Exception], tuple[int, str]]] = {
    errors.AuthenticationError: (401, "Authentication required"),
    errors.PermissionDeniedError: (403, "Forbidden"),
    errors.NotFoundError: (404, "Not found"),
    errors.ConflictError: (409, "Conflict"),
    errors.RequestInvalidError: (422, "Invalid request"),
    errors.RequestTooLargeError: (413, "Request too large"),
    errors.PolicyInvalidError: (422, "Policy rejected"),
    errors.UploadError: (400, "Upload refused"),
    errors.UploadTooLargeError: (413, "Upload too large"),
    errors.UploadLengthRequiredError: (411, "Length required"),
    errors.UploadTruncatedError: (400, "Upload truncated"),
    errors.UploadDigestMismatchError: (422, "Digest mismatch"),
    errors.UploadNotEnvelopeError: (422, "Not an envelope"),
    errors.DepositError: (422, "Deposit refused"),
    errors.DepositKekError: (409, "Key-encryption key not current"),
    errors.EnrollmentError: (422, "Enrolment refused"),
    errors.AttestationSimulatedRefusedError: (422, "Simulated TEE refused"),
    errors.VerifierUnavailableError: (503, "Verifier unavailable"),
    errors.SessionError: (403, "Attestation session refused"),
    errors.ReleaseRefusedError: (403, "Release refused"),
    errors.ResultError: (422, "Result refused"),
    errors.LedgerRangeError: (400, "Outside the ledger"),
    errors.LedgerError: (500, "Ledger unavailable"),
    errors.StorageUnavailableError: (503, "Storage unavailable"),
    errors.KeyFileError: (500, "Key vault unavailable"),
    errors.GatewayError: (500, "Gateway error"),
    LedgerRecordError: (500, "Ledger record invalid"),
    SealedContextMismatchError: (422, "Sealed key for another context"),
    SealingError: (422, "Sealed key does not open"),
    ProtocolError: (422, "Protocol violation"),
    EvidenceError: (422, "Evidence rejected"),
    CollateralError: (503, "Collateral unavailable"),
    AttestationError: (422, "Attestation failed"),
}


def problem_response(  # noqa: PLR0917 - the fields of RFC 9457, in its order.
    request: Request,
    status: int,
    code: str,
    title: str,
    detail: str,
    problems: Sequence[str] | None = None,
    headers: Mapping[str, str] | None = None,
    denied: Mapping[str, Sequence[str]] | None = None,
) -> JSONResponse:
    """A problem+json response (``denied``: each refused input and its codes, for a refused release)."""
    body = Problem(
        type=TYPE_PREFIX + code,
        title=title,
        status=status,
        detail=detail,
        code=code,
        instance=request.url.path,
        request_id=current_request_id(),
        problems=list(problems) if problems is not None else None,
        denied=None
        if denied is None
        else [
            DeniedArtefact(artefact_id=artefact, reasons=tuple(codes))
            for artefact, codes in sorted(denied.items())
        ],
    )
    return JSONResponse(
        body.model_dump(exclude_none=True), status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers
    )


def classify(exc: BaseException) -> tuple[int, str] | None:
    """The (status, title) row for ``exc``, or None when no row covers it."""
    for cls in type(exc).__mro__:
        row = STATUS_OF.get(cls)
        if row is not None:
            return row
    return None


async def _known(request: Request, exc: Exception) -> JSONResponse:
    row = classify(exc)
    if row is None:
        return await _internal(request, exc)
    status, title = row
    code = str(getattr(exc, "code", "gateway.error"))
    # The Verifier's messages describe the Evidence; clients get the code, the ledger the detail.
    detail = "the Evidence was rejected" if isinstance(exc, AttestationError) else str(exc)
    problems = getattr(exc, "problems", None)
    headers = {"WWW-Authenticate": 'Bearer realm="ccgate"'} if status == 401 else None
    if status >= 500:
        log.error("request failed: %s", code, exc_info=exc)
    denied = exc.denied if isinstance(exc, errors.ReleaseRefusedError) else None
    return problem_response(request, status, code, title, detail, problems, headers, denied)


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    found = exc.errors()
    kinds = {str(error.get("type")) for error in found}
    if "json_invalid" in kinds:
        code, title = "request.malformed_json", "Malformed JSON"
    elif "extra_forbidden" in kinds:
        code, title = "request.unknown_field", "Unknown field"
    else:
        code, title = "request.invalid", "Invalid request"
    # Only where and what, never the offending input: it may hold a token or a key.
    listed = [
        f"{'.'.join(str(part) for part in error.get('loc', ()))}: {error.get('msg')}" for error in found
    ]
    return problem_response(request, 422, code, title, "the request does not match the API schema", listed)


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    codes = {404: "route.not_found", 405: "route.method_not_allowed", 413: errors.RequestTooLargeError.code}
    code = codes.get(exc.status_code, f"http.{exc.status_code}")
    detail = "no such route" if exc.status_code == 404 else str(exc.detail)
    return problem_response(request, exc.status_code, code, str(exc.detail), detail, headers=exc.headers)


async def _internal(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error", exc_info=exc)
    return problem_response(
        request, 500, "internal.error", "Internal error", "the gateway failed; see its logs"
    )


def install(app: FastAPI) -> None:
    """Register the problem handlers on ``app``."""
    for cls in STATUS_OF:
        app.add_exception_handler(cls, _known)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _internal)


# The problem responses every route documents in the OpenAPI schema.
COMMON_PROBLEMS: Final[dict[int | str, dict[str, Any]]] = {
    401: {"model": Problem, "description": "No, expired, revoked or invalid token"},
    403: {"model": Problem, "description": "The caller's roles do not grant this"},
    422: {"model": Problem, "description": "The request does not match the schema"},
    500: {"model": Problem, "description": "Internal error (no details)"},
}
OBJECT_PROBLEMS: Final[dict[int | str, dict[str, Any]]] = {
    **COMMON_PROBLEMS,
    404: {"model": Problem, "description": "No such object in the caller's tenant"},
    409: {"model": Problem, "description": "The object's state does not allow this"},
}
PUBLIC_PROBLEMS: Final[dict[int | str, dict[str, Any]]] = {
    500: {"model": Problem, "description": "Internal error (no details)"}
}
