"""The runner's ephemeral key pairs: X25519 to receive sealed data keys, Ed25519 to sign the receipt.

Generated in memory inside the TEE for one attestation session and never written anywhere; their
public halves are bound into the Evidence through the report data.
"""

from dataclasses import dataclass, field

import nacl.public
import nacl.signing

from enclave_runner.protocol.messages import RunnerKeys, b64encode


@dataclass(frozen=True)
class SessionKeys:
    """One session's key pairs. ``repr`` shows only public halves."""

    x25519: nacl.public.PrivateKey = field(repr=False)
    ed25519: nacl.signing.SigningKey = field(repr=False)

    @classmethod
    def generate(cls) -> "SessionKeys":
        """Fresh keys from the operating system's CSPRNG."""
        return cls(nacl.public.PrivateKey.generate(), nacl.signing.SigningKey.generate())

    @property
    def x25519_public(self) -> bytes:
        """The sealing public key (32 bytes)."""
        return bytes(self.x25519.public_key)

    @property
    def ed25519_public(self) -> bytes:
        """The receipt-signing public key (32 bytes)."""
        return bytes(self.ed25519.verify_key)

    def wire(self) -> RunnerKeys:
        """The public keys as posted with the Evidence."""
        return RunnerKeys(x25519=b64encode(self.x25519_public), ed25519=b64encode(self.ed25519_public))
