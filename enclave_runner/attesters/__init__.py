"""Attesters: collect Evidence inside the TEE (DESIGN §9).

``tsm`` covers AMD SEV-SNP and Intel TDX through Linux configfs-tsm, ``nvml`` covers NVIDIA GPUs, and
``simulated`` stands in for both on machines without a TEE.
"""

from enclave_runner.attesters.base import CpuAttester, GpuAttester

__all__ = ["CpuAttester", "GpuAttester"]
