"""``ccgate demo``: the README's first command.

For now it shows the data owner's first step end to end: generate a realistic sample dataset,
encrypt it into an envelope with a fresh data key, decrypt it again, check the bytes and print the
throughput. Later issues grow it into the full gateway + runner demo.
"""

import hashlib
import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer

from enclave_runner.protocol.envelope import decrypt_file, encrypt_file
from gateway.cli.console import byte_progress, stdout
from gateway.demo.dataset import write_sample_patients
from gateway.keyfiles import load_or_create_data_key

MIB = 1 << 20


def demo(
    rows: Annotated[int, typer.Option("--rows", help="Synthetic patient records to generate.")] = 400_000,
) -> None:
    """Encrypt and decrypt a generated sample dataset and print the throughput."""
    with tempfile.TemporaryDirectory(prefix="ccgate-demo-") as scratch:
        work = Path(scratch)
        plain, envelope, back, key_file = (
            work / "patients.csv",
            work / "patients.ccge",
            work / "back.csv",
            work / "k",
        )
        write_sample_patients(plain, rows)
        size = plain.stat().st_size
        stdout.print(f"1. generated {rows:,} synthetic patient records: {size / MIB:.1f} MiB")
        key, _ = load_or_create_data_key(key_file)
        stdout.print(f"2. fresh 32-byte data key in {key_file.name} (mode 0600)")
        started = time.perf_counter()
        with byte_progress("encrypting", size, enabled=True) as advance:
            encrypt_file(plain, envelope, key, "demo-patients", progress=advance)
        encrypt_seconds = time.perf_counter() - started
        stdout.print(
            f"3. encrypted into an envelope of {envelope.stat().st_size / MIB:.1f} MiB "
            f"at {size / encrypt_seconds / 1e6:,.0f} MB/s"
        )
        started = time.perf_counter()
        with byte_progress("decrypting", size, enabled=True) as advance:
            decrypt_file(envelope, back, key, "demo-patients", progress=advance)
        decrypt_seconds = time.perf_counter() - started
        same = hashlib.sha256(plain.read_bytes()).digest() == hashlib.sha256(back.read_bytes()).digest()
        stdout.print(
            f"4. decrypted at {size / decrypt_seconds / 1e6:,.0f} MB/s; identical to the original: {same}"
        )
        if not same:
            raise typer.Exit(1)
