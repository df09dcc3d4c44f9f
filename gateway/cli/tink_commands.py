"""``ccgate tink wrap|unwrap``: bring an artefact encrypted by Tink into ccgate, or take one out, as is.

    ccgate tink wrap patients.tink patients.ccge --artefact-id art_… --key-file patients.key
    ccgate tink unwrap patients.ccge patients.tink --artefact-id art_… --key-file patients.key

The Tink keyset's AES256_GCM_HKDF key material is the 32-byte data key, and the associated data the
Tink writer used is the artefact id. Every segment is opened before the output appears.
"""

from pathlib import Path
from typing import Annotated

import typer

from enclave_runner.protocol.envelope import DEFAULT_SEGMENT_SIZE
from enclave_runner.protocol.envelope.tink_interop import unwrap_tink_file, wrap_tink_file
from gateway.cli.console import print_json, stdout
from gateway.keyfiles import read_key_file

app = typer.Typer(help="Artefacts encrypted with Tink's streaming AEAD, in and out.", no_args_is_help=True)

ArtefactId = Annotated[str, typer.Option("--artefact-id", help="The artefact id: Tink's associated data.")]
KeyFile = Annotated[Path, typer.Option("--key-file", help="The 32-byte data key (mode 0600).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print a JSON document instead of text.")]


@app.command("wrap")
def wrap(
    source: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A bare Tink stream.")],
    target: Annotated[Path, typer.Argument(help="The ccgate envelope to write.")],
    artefact_id: ArtefactId,
    key_file: KeyFile,
    segment_size: Annotated[
        int, typer.Option("--segment-size", help="The Tink key's ciphertext segment size.")
    ] = DEFAULT_SEGMENT_SIZE,
    as_json: JsonOption = False,
) -> None:
    """Add the ccgate header to a Tink AES256_GCM_HKDF stream; the Tink bytes stay as they are."""
    length = wrap_tink_file(source, target, read_key_file(key_file), artefact_id, segment_size)
    if as_json:
        print_json({"source": str(source), "target": str(target), "plaintext_bytes": length})
    else:
        stdout.print(f"wrapped {source} -> {target}: {length:,} plaintext bytes verified", markup=False)


@app.command("unwrap")
def unwrap(
    source: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A ccgate envelope.")],
    target: Annotated[Path, typer.Argument(help="The bare Tink stream to write.")],
    artefact_id: ArtefactId,
    key_file: KeyFile,
    as_json: JsonOption = False,
) -> None:
    """Remove the ccgate header; print the segment size the Tink reader must use."""
    segment_size = unwrap_tink_file(source, target, read_key_file(key_file), artefact_id)
    if as_json:
        print_json({"source": str(source), "target": str(target), "segment_size": segment_size})
    else:
        stdout.print(f"unwrapped {source} -> {target}; Tink segment size {segment_size}", markup=False)
