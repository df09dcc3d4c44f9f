"""What the client raises: the gateway's problem, carried with its stable code, or an unreachable gateway."""

from typing import Any


class ApiProblemError(Exception):
    """The gateway answered with an RFC 9457 problem. ``code`` is the gateway's stable code."""

    def __init__(self, status: int, code: str, detail: str, problems: list[str] | None = None) -> None:
        listed = "".join(f"\n  - {problem}" for problem in problems or [])
        super().__init__(f"{detail} (HTTP {status}){listed}")
        self.status = status
        self.code = code
        self.detail = detail
        self.problems = problems or []

    @classmethod
    def from_body(cls, status: int, body: Any) -> "ApiProblemError":
        """From a response body (a problem document, or anything else the server sent)."""
        if isinstance(body, dict) and isinstance(body.get("code"), str):
            problems = body.get("problems")
            return cls(
                status,
                body["code"],
                str(body.get("detail", "")),
                problems if isinstance(problems, list) else None,
            )
        return cls(status, f"http.{status}", "the gateway answered without a problem document")


class GatewayUnreachableError(Exception):
    """The gateway could not be reached (after retries, for idempotent requests)."""

    code = "client.unreachable"


class ContentDigestError(Exception):
    """A download did not hash to the digest the gateway declared for it."""

    code = "client.digest_mismatch"
