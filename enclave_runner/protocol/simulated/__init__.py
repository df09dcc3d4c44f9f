"""SIMULATED TEE HARDWARE: NOT SECURITY. For development, tests and the demo only.

This package plays the *device side* of a confidential-computing node in software: a CPU that signs
reports with a key held in ordinary process memory, and NVIDIA-shaped GPUs that answer SPDM
GET_MEASUREMENTS with real-format Evidence signed by a locally generated "device" key. Anyone who can
read these key files can forge this Evidence, so it proves nothing about any machine.

It exists so that the real Verifier code (the NVIDIA SPDM parser, chain, RIM and measurement checks)
runs end to end without a GPU, and so the demo can show a policy denial. The matching *vendor side*
(the simulated device PKI, RIM signing and the simulated CPU report verifier) lives in
``attestation.simulated``; the gateway accepts this Evidence only when it is started with simulation
explicitly enabled and given the simulated roots, and every claim it produces says ``simulated``.
"""
