"""The runner's error tree. Codes are reported to the gateway; messages stay on the runner's own log."""

from typing import ClassVar


class RunnerError(Exception):
    """Base of every error the runner raises on purpose."""

    code: ClassVar[str] = "runner.error"


class AttesterError(RunnerError):
    """Evidence could not be collected."""

    code = "attester.failed"


class AttesterUnavailableError(AttesterError):
    """The attestation interface (configfs-tsm, NVML) is not present on this machine."""

    code = "attester.unavailable"


class BundleError(RunnerError):
    """The model bundle is unsafe or malformed; nothing of it is run."""

    code = "bundle.invalid"


class BundlePathError(BundleError):
    """A member has an absolute path or climbs out of the workspace with ``..``."""

    code = "bundle.path_traversal"


class BundleLinkError(BundleError):
    """A member is a link that points outside the workspace."""

    code = "bundle.link_outside"


class BundleSpecialFileError(BundleError):
    """A member is a device node, FIFO or other special file."""

    code = "bundle.special_file"


class BundleSizeError(BundleError):
    """A member, or the bundle in total, exceeds the size limits."""

    code = "bundle.too_large"


class BundleManifestError(BundleError):
    """The bundle's manifest is missing or invalid."""

    code = "bundle.manifest_invalid"


class JobError(RunnerError):
    """The job itself failed in a way the runner reports."""

    code = "job.failed"


class JobTimeoutError(JobError):
    """The job exceeded its maximum runtime and was killed."""

    code = "job.timeout"


class JobOutputError(JobError):
    """The job wrote outside its output directory, or left links or special files in it."""

    code = "job.output_invalid"


class WorkspaceError(RunnerError):
    """The private workspace could not be created or written (missing base, full disk, permissions)."""

    code = "workspace.unavailable"


class InputError(RunnerError):
    """A downloaded input does not decrypt (its envelope does not authenticate under the released key)."""

    code = "input.invalid"


class InputDigestError(InputError):
    """A downloaded ciphertext does not match its pinned digest; it was removed before any decryption."""

    code = "input.digest_mismatch"


class InputKeyError(InputError):
    """A released data key does not open: sealed to another public key, or for another artefact or session."""

    code = "input.sealed_key_invalid"


class ReleaseError(RunnerError):
    """The gateway's answer to the attestation released nothing usable (denials, or no session token)."""

    code = "release.denied"


class ReleaseMismatchError(ReleaseError):
    """The released keys do not cover exactly the artefacts and ciphertext digests the manifest pins."""

    code = "release.mismatch"


class GatewayRefusedError(RunnerError):
    """The gateway refused a request (its problem code is kept)."""

    code = "gateway.refused"

    def __init__(self, problem_code: str, status: int, detail: str) -> None:
        super().__init__(f"{status} {problem_code}: {detail}")
        self.problem_code = problem_code
        self.status = status


class GatewayUnreachableError(RunnerError):
    """The gateway could not be reached, or stayed unavailable through every retry where retrying is safe."""

    code = "gateway.unreachable"
