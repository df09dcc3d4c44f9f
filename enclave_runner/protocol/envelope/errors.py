"""Envelope errors: one class, one stable code per way an envelope can be bad."""

from enclave_runner.protocol.errors import ProtocolError


class EnvelopeError(ProtocolError):
    """Base of every envelope error."""

    code = "envelope.invalid"


class EnvelopeKeyError(EnvelopeError):
    """The data key itself is unusable (not 32 bytes)."""

    code = "envelope.key_invalid"


class EnvelopeEmptyError(EnvelopeError):
    """The ciphertext is empty: not even a header."""

    code = "envelope.empty"


class EnvelopeHeaderError(EnvelopeError):
    """The header is not a ccgate envelope header (bad magic, reserved bits, sizes)."""

    code = "envelope.header_invalid"


class EnvelopeVersionError(EnvelopeError):
    """The header is a ccgate header of a format version this code does not read."""

    code = "envelope.unsupported_version"


class EnvelopeWrongKeyError(EnvelopeError):
    """The key commitment in the header does not match this key (or the header was altered)."""

    code = "envelope.wrong_key"


class EnvelopeArtefactMismatchError(EnvelopeError):
    """The key matches, but the envelope was made for another artefact id (or the header was altered)."""

    code = "envelope.wrong_artefact_id"


class EnvelopeTruncatedError(EnvelopeError):
    """The ciphertext ends before the last segment."""

    code = "envelope.truncated"


class EnvelopeTrailingDataError(EnvelopeError):
    """Bytes follow the last segment."""

    code = "envelope.trailing_data"


class EnvelopeSegmentError(EnvelopeError):
    """A segment failed authentication: a flipped bit, or segments reordered or spliced from another file."""

    code = "envelope.segment_corrupt"

    def __init__(self, index: int) -> None:
        super().__init__(f"segment {index} failed authentication (altered, reordered or from another file)")
        self.index = index
