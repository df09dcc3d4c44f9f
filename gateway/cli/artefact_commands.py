"""``ccgate artefact …``: the data owner's commands (upload = encrypt + upload + deposit in one pass)."""

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.console import byte_progress, print_json, stdout
from gateway.cli.remote import JsonOption, TokenOption, UrlOption, connect, show, show_many
from gateway.client.owner import download_file, upload_file
from gateway.domain import ArtefactKind
from gateway.schemas.artefacts import ArtefactCreate, ArtefactOut, PolicyRef

app = typer.Typer(help="Encrypted datasets and model bundles (owner role).", no_args_is_help=True)


def _line(artefact: ArtefactOut) -> str:
    return (
        f"{artefact.id}  {artefact.kind:<7} {artefact.name}  v{artefact.current_version or '-'}  "
        f"{artefact.state}  labels={','.join(artefact.labels) or '-'}"
    )


def _detail(artefact: ArtefactOut) -> list[str]:
    lines = [_line(artefact)]
    if artefact.policy:
        lines.append(
            f"policy: {artefact.policy.name} v{artefact.policy.version} ({artefact.policy.digest[:16]}…)"
        )
    lines.append(f"releases: {artefact.release_count} of {artefact.max_releases or 'unlimited'}")
    for version in artefact.versions:
        lines.append(
            f"  v{version.version}  {version.state:<16} {version.size or 0:>14,} bytes  "
            f"sha256={version.ciphertext_digest or '-'}"
        )
    return lines


@app.command("upload")
def upload(
    source: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The plaintext file.")],
    key_file: Annotated[
        Path, typer.Option("--key-file", help="Where to keep the new data key (created 0600).")
    ],
    name: Annotated[str | None, typer.Option("--name", help="A new artefact's name.")] = None,
    kind: Annotated[ArtefactKind, typer.Option("--kind")] = ArtefactKind.DATASET,
    label: Annotated[list[str] | None, typer.Option("--label", help="Repeat for several labels.")] = None,
    policy: Annotated[str | None, typer.Option("--policy", help="Release policy as NAME:VERSION.")] = None,
    max_releases: Annotated[int | None, typer.Option("--max-releases")] = None,
    expires: Annotated[datetime | None, typer.Option("--expires", help="RFC 3339 with a time zone.")] = None,
    new_version_of: Annotated[
        str | None, typer.Option("--new-version-of", help="Upload as a new version.")
    ] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Encrypt a file with a fresh data key, stream it to the gateway and deposit the sealed key."""
    if (name is None) == (new_version_of is None):
        raise typer.BadParameter("give --name for a new artefact or --new-version-of for a new version")
    create = None
    if name is not None:
        reference = None
        if policy is not None:
            policy_name, _, policy_version = policy.partition(":")
            if not policy_version.isdigit():
                raise typer.BadParameter("--policy is NAME:VERSION", param_hint="--policy")
            reference = PolicyRef(name=policy_name, version=int(policy_version))
        create = ArtefactCreate(
            kind=kind,
            name=name,
            labels=label or [],
            policy=reference,
            max_releases=max_releases,
            expires_at=expires,
        )
    size = source.stat().st_size
    with (
        connect(url, token) as client,
        byte_progress("encrypt + upload", size, enabled=not as_json) as advance,
    ):
        result = upload_file(
            client, source, key_file, create=create, artefact_id=new_version_of, progress=advance
        )
    if as_json:
        print_json(
            {
                "artefact": result.artefact.model_dump(mode="json"),
                "version": result.version.version,
                "ciphertext_digest": result.ciphertext_digest,
                "key_file": str(result.key_file),
            }
        )
        return
    stdout.print(
        f"uploaded {source} as {result.artefact.id} v{result.version.version} ({result.version.state})"
    )
    stdout.print(
        f"ciphertext sha256 {result.ciphertext_digest}; data key in {key_file} (0600) — keep it safe"
    )


@app.command("list")
def list_artefacts(url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False) -> None:
    """List the tenant's artefacts."""
    with connect(url, token) as client:
        show_many(client.list_artefacts(), as_json, _line)


@app.command("show")
def show_artefact(
    artefact_id: str, url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False
) -> None:
    """Show an artefact and its versions."""
    with connect(url, token) as client:
        show(client.artefact(artefact_id), as_json, _detail)


@app.command("versions")
def versions(
    artefact_id: str, url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False
) -> None:
    """List an artefact's versions."""
    with connect(url, token) as client:
        artefact = client.artefact(artefact_id)
    show_many(
        artefact.versions,
        as_json,
        lambda v: (
            f"v{v.version}  {v.state:<16} {v.size or 0:>14,} bytes  sha256={v.ciphertext_digest or '-'}"
        ),
    )


@app.command("download")
def download(
    artefact_id: str,
    target: Annotated[
        Path, typer.Argument(help="Where to write (the envelope, or the plaintext with --key-file).")
    ],
    version: Annotated[int | None, typer.Option("--version")] = None,
    key_file: Annotated[Path | None, typer.Option("--key-file", help="Decrypt with this data key.")] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Download an artefact's envelope (digest checked), decrypting it when given the key file."""
    with connect(url, token) as client, byte_progress("download", None, enabled=not as_json) as advance:
        written = download_file(
            client, artefact_id, target, version=version, key_file=key_file, progress=advance
        )
    if as_json:
        print_json(
            {
                "artefact_id": artefact_id,
                "target": str(target),
                "bytes": written,
                "decrypted": key_file is not None,
            }
        )
    else:
        what = "plaintext" if key_file else "envelope"
        stdout.print(f"wrote {written:,} bytes of {what} to {target} (digest verified)")


@app.command("retire")
def retire(
    artefact_id: str, url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False
) -> None:
    """Retire an artefact: no new versions, never released again."""
    with connect(url, token) as client:
        show(client.retire(artefact_id), as_json, _detail)


@app.command("set-policy")
def set_policy(
    artefact_id: str,
    name: str,
    version: int,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Point an artefact at a release-policy version (pinned by digest)."""
    with connect(url, token) as client:
        show(client.set_artefact_policy(artefact_id, name, version), as_json, _detail)
