"""The error root of the wire contract, with stable dotted codes."""

from typing import ClassVar


class ProtocolError(Exception):
    """Base of every error raised by ``enclave_runner.protocol``.

    ``code`` is stable and safe to show to any client; the message may carry detail for the
    person at the terminal but never key material or plaintext.
    """

    code: ClassVar[str] = "protocol.invalid"


class CanonicalJsonError(ProtocolError):
    """A value cannot be written as canonical JSON (a float, a non-string key, NaN...)."""

    code = "protocol.canonical_json"


class BindingError(ProtocolError):
    """An input to a binding function has the wrong size or type."""

    code = "protocol.binding_input"


class SealingError(ProtocolError):
    """A sealed box could not be opened, or its labelled context did not match."""

    code = "protocol.sealed_box_invalid"


class SealedContextMismatchError(SealingError):
    """The sealed payload opened, but was made for another artefact, job or session."""

    code = "protocol.sealed_context_mismatch"


class SimulatedDeviceError(ProtocolError):
    """Simulated TEE hardware was given unusable material (wrong sizes, a key that is not the chain's)."""

    code = "protocol.simulated_device_invalid"


class SimulatedDeviceFileError(SimulatedDeviceError):
    """A simulated device directory is incomplete or malformed, or a private key file has lax permissions."""

    code = "protocol.simulated_device_file"


class BundleFormatError(ProtocolError):
    """A model bundle's manifest or member list does not follow ``ccgate-bundle/v1``."""

    code = "bundle.manifest_invalid"
