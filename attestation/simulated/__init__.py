"""THE SIMULATED TEE: NOT SECURITY. Development, tests and the demo only.

This package is the *vendor side* of a software-only TEE: it generates, in memory, an NVIDIA-shaped
device PKI and RIM signing PKI and a CPU root, issues simulated GPUs and CPUs (their keys and
certificates), signs RIMs for their simulated firmware, and verifies simulated CPU reports. The
*device side* (the simulated hardware that signs Evidence) is ``enclave_runner.protocol.simulated``.

Every root here was made on the developer's machine a moment ago; nothing rests on any manufacturer.
So it is fenced (STYLE 8): ``SimulatedRoots`` refuses a pinned vendor root, constructing it and
verifying with it emit ``SimulatedTeeWarning``, the Verifier accepts simulated Evidence only when the
caller passes ``SimulatedRoots`` explicitly, and every claim it produces says ``simulated``, which
every bundled baseline policy denies outside development.
"""
