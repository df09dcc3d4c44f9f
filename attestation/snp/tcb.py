"""SEV-SNP products and their TCB_VERSION byte layouts.

A TCB_VERSION is a 64-bit value whose bytes name the security patch level (SPL) of each firmware
component. Milan and Genoa put the boot loader in byte 0, the PSP OS (TEE) in byte 1, SNP firmware in
byte 6 and microcode in byte 7; Turin adds the FMC in byte 0 and moves the others down (bl 1, tee 2,
snp 3, microcode 7). Comparing a VCEK's SPL extensions with the report therefore needs the product.
"""

from dataclasses import dataclass
from enum import StrEnum

from attestation.result import SnpTcb


class SnpProduct(StrEnum):
    """The AMD EPYC generations ccgate verifies; values are the AMD KDS product names."""

    MILAN = "Milan"
    GENOA = "Genoa"
    TURIN = "Turin"


@dataclass(frozen=True, slots=True)
class _TcbBytes:
    boot_loader: int
    tee: int
    snp: int
    microcode: int
    fmc: int | None


_LAYOUTS: dict[SnpProduct, _TcbBytes] = {
    SnpProduct.MILAN: _TcbBytes(boot_loader=0, tee=1, snp=6, microcode=7, fmc=None),
    SnpProduct.GENOA: _TcbBytes(boot_loader=0, tee=1, snp=6, microcode=7, fmc=None),
    SnpProduct.TURIN: _TcbBytes(boot_loader=1, tee=2, snp=3, microcode=7, fmc=0),
}


def decode_tcb(raw: bytes, product: SnpProduct) -> SnpTcb:
    """Decode an 8-byte little-endian TCB_VERSION with ``product``'s byte layout."""
    layout = _LAYOUTS[product]
    return SnpTcb(
        raw=f"{int.from_bytes(raw, 'little'):016x}",
        boot_loader=raw[layout.boot_loader],
        tee=raw[layout.tee],
        snp=raw[layout.snp],
        microcode=raw[layout.microcode],
        fmc=None if layout.fmc is None else raw[layout.fmc],
    )


def product_from_cpuid(family: int, model: int) -> SnpProduct | None:
    """The product a version-3+ report's CPUID family/model names, or None when it is not one we know.

    Family 19h models 00h-0Fh are Milan, 10h-1Fh and A0h-AFh Genoa (and Bergamo/Siena, same ARK);
    family 1Ah models 00h-11h are Turin.
    """
    if family == 0x19 and model <= 0x0F:
        return SnpProduct.MILAN
    if family == 0x19 and (0x10 <= model <= 0x1F or 0xA0 <= model <= 0xAF):
        return SnpProduct.GENOA
    if family == 0x1A and model <= 0x11:
        return SnpProduct.TURIN
    return None
