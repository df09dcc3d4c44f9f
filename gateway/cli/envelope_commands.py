"""``ccgate keygen``, ``ccgate encrypt`` and ``ccgate decrypt``: the data owner's first touch.

Files go through the parallel positional path; ``-`` (stdin/stdout) and other non-seekable ends go
through the ordered streaming path. Both write the same envelope format.
"""

import base64
import os
import stat
import sys
import time
from pathlib import Path
from typing import Annotated, BinaryIO

import typer

from enclave_runner.protocol.envelope import (
    DEFAULT_SEGMENT_SIZE,
    decrypt_file,
    decrypt_fileobj,
    encrypt_file,
    encrypt_fileobj,
)
from enclave_runner.protocol.sealing import generate_x25519
from gateway.cli.console import byte_progress, print_json, stdout
from gateway.keyfiles import load_or_create_data_key, read_key_file, write_key_file

JsonOption = Annotated[bool, typer.Option("--json", help="Print a JSON document instead of text.")]
ArtefactIdOption = Annotated[
    str, typer.Option("--artefact-id", help="Artefact id bound into the envelope (its associated data).")
]


def register(app: typer.Typer) -> None:
    """Add the envelope commands to the root app."""
    app.command("keygen")(keygen)
    app.command("encrypt")(encrypt)
    app.command("decrypt")(decrypt)


def keygen(
    out: Annotated[Path, typer.Option("--out", help="Private key file to create (mode 0600).")] = Path(
        "ccgate-result.key"
    ),
    as_json: JsonOption = False,
) -> None:
    """Generate an X25519 key pair for receiving results; the public half goes next to it as OUT.pub."""
    pair = generate_x25519()
    write_key_file(out, pair.private)
    public_b64 = base64.b64encode(pair.public).decode("ascii")
    public_path = out.with_name(out.name + ".pub")
    public_path.write_text(public_b64 + "\n", encoding="ascii")
    if as_json:
        print_json(
            {"private_key_file": str(out), "public_key_file": str(public_path), "public_key": public_b64}
        )
    else:
        stdout.print(f"private key: {out} (0600)\npublic key:  {public_path}\n{public_b64}")


def _is_positional(path: str, for_writing: bool) -> bool:
    """Whether ``path`` supports positional I/O (a regular file, or a device like /dev/null)."""
    if path == "-":
        return False
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return for_writing
    return stat.S_ISREG(mode) or (for_writing and stat.S_ISCHR(mode))


def _open_in(path: str) -> BinaryIO:
    return sys.stdin.buffer if path == "-" else open(path, "rb")


def _open_out(path: str) -> BinaryIO:
    if path == "-":
        return sys.stdout.buffer
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    return os.fdopen(fd, "wb")


def _input_size(path: str) -> int | None:
    if path == "-":
        mode = os.fstat(sys.stdin.fileno()).st_mode
        return os.fstat(sys.stdin.fileno()).st_size if stat.S_ISREG(mode) else None
    return os.stat(path).st_size


def encrypt(
    source: Annotated[str, typer.Argument(help="Plaintext file, or - for stdin.")],
    target: Annotated[str, typer.Argument(help="Envelope to write, or - for stdout.")],
    artefact_id: ArtefactIdOption,
    key_file: Annotated[
        Path,
        typer.Option("--key-file", help="32-byte data key; created (0600) with a fresh key when absent."),
    ],
    segment_size: Annotated[int, typer.Option("--segment-size", help="Ciphertext segment size in bytes.")] = (
        DEFAULT_SEGMENT_SIZE
    ),
    as_json: JsonOption = False,
) -> None:
    """Encrypt a dataset or model bundle into a ccgate envelope."""
    key, created = load_or_create_data_key(key_file)
    size = _input_size(source)
    started = time.perf_counter()
    with byte_progress("encrypting", size, enabled=not as_json and target != "-") as advance:
        if _is_positional(source, False) and _is_positional(target, True):
            encrypt_file(source, target, key, artefact_id, segment_size=segment_size, progress=advance)
        else:
            with _open_in(source) as fin, _open_out(target) as fout:
                encrypt_fileobj(
                    fin,
                    fout,
                    key,
                    artefact_id,
                    plaintext_length=size,
                    segment_size=segment_size,
                    progress=advance,
                )
    _report("encrypted", source, target, size, time.perf_counter() - started, as_json, key_file, created)


def decrypt(
    source: Annotated[str, typer.Argument(help="Envelope file, or - for stdin.")],
    target: Annotated[str, typer.Argument(help="Plaintext file to write (0600), or - for stdout.")],
    artefact_id: ArtefactIdOption,
    key_file: Annotated[Path, typer.Option("--key-file", help="The 32-byte data key (mode 0600).")],
    as_json: JsonOption = False,
) -> None:
    """Decrypt a ccgate envelope. The output appears only if every segment authenticated (files)."""
    key = read_key_file(key_file)
    size = _input_size(source)
    started = time.perf_counter()
    with byte_progress("decrypting", size, enabled=not as_json and target != "-") as advance:
        if _is_positional(source, False) and _is_positional(target, True):
            decrypt_file(source, target, key, artefact_id, progress=advance)
        else:
            with _open_in(source) as fin, _open_out(target) as fout:
                decrypt_fileobj(fin, fout, key, artefact_id, progress=advance)
    _report("decrypted", source, target, size, time.perf_counter() - started, as_json, key_file, False)


def _report(
    verb: str,
    source: str,
    target: str,
    size: int | None,
    seconds: float,
    as_json: bool,
    key_file: Path,
    created: bool,
) -> None:
    rate = (size / seconds / 1e6) if size and seconds > 0 else None
    if as_json:
        print_json(
            {
                "operation": verb,
                "source": source,
                "target": target,
                "bytes": size,
                "seconds": round(seconds, 6),
                "key_file": str(key_file),
                "key_created": created,
            }
        )
    elif target != "-":
        note = f" (new key written to {key_file}, mode 0600)" if created else ""
        speed = f" at {rate:,.0f} MB/s" if rate else ""
        typer.echo(f"{verb} {source} -> {target}{speed}{note}", err=True)
