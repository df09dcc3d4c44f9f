"""The ccgate enclave runner: the Attester, and the only ccgate code that ever sees plaintext.

This package's ``__init__`` deliberately imports nothing, so that ``import enclave_runner.protocol``
(the wire contract the gateway shares) pulls in none of the runner itself.
"""
