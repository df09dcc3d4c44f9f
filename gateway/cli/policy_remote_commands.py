"""The gateway side of ``ccgate policy …`` and ``ccgate ref-values …``: stored documents, versions, diffs,
the tenant baseline. The local side (check, test, explain) is ``policy_commands``; both share one group."""

from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.console import stdout
from gateway.cli.remote import JsonOption, TokenOption, UrlOption, connect, show, show_many
from gateway.domain import DocumentKind
from gateway.schemas.policies import DiffOut, DocumentDetail, DocumentOut

reference_app = typer.Typer(help="Reference values (security role).", no_args_is_help=True)


def _line(document: DocumentOut) -> str:
    created = f"{document.created_at:%Y-%m-%d %H:%M}"
    return f"{document.name}  v{document.version}  sha256={document.digest}  {created}"


def _register(app: typer.Typer, kind: DocumentKind) -> None:
    @app.command("upload")
    def upload(
        file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The YAML document.")],
        url: UrlOption = None,
        token: TokenOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Upload a document: new content becomes the next version; the problems are listed if rejected."""
        with connect(url, token) as client:
            show(
                client.upload_document(kind, file.read_text(encoding="utf-8")), as_json, lambda d: [_line(d)]
            )

    @app.command("list")
    def list_documents(
        name: Annotated[str | None, typer.Option("--name")] = None,
        url: UrlOption = None,
        token: TokenOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """List document versions."""
        with connect(url, token) as client:
            show_many(client.list_documents(kind, name), as_json, _line)

    @app.command("show")
    def show_document(
        name: str,
        version: Annotated[int | None, typer.Option("--version")] = None,
        url: UrlOption = None,
        token: TokenOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Show a version (default: the newest) with its source."""

        def text(document: DocumentDetail) -> list[str]:
            return [_line(document), "", document.source]

        with connect(url, token) as client:
            show(client.document(kind, name, version), as_json, text)

    @app.command("diff")
    def diff(
        name: str,
        old: int,
        new: int,
        url: UrlOption = None,
        token: TokenOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Unified diff between two versions."""

        def text(result: DiffOut) -> list[str]:
            return [result.diff or "(no difference)"]

        with connect(url, token) as client:
            show(client.diff_documents(kind, name, old, new), as_json, text)


_register(reference_app, DocumentKind.REFERENCE_VALUES)


def register_remote(policy_app: typer.Typer) -> None:
    """Add the gateway-side commands to the ``policy`` group (``set-baseline``: ``baseline`` prints a
    bundled one)."""
    _register(policy_app, DocumentKind.RELEASE_POLICY)
    policy_app.command("set-baseline")(tenant_baseline)


def tenant_baseline(
    name: Annotated[
        str | None, typer.Argument(help="Set the baseline to this policy (omit to show it).")
    ] = None,
    version: Annotated[int | None, typer.Argument()] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show the tenant's baseline, or set it to NAME VERSION (security)."""
    with connect(url, token) as client:
        if name is None:
            show(client.baseline(), as_json)
            return
        if version is None:
            raise typer.BadParameter("give the policy version too")
        result = client.set_baseline(name, version)
    show(result, as_json)
    if not as_json:
        stdout.print("every release in this tenant must now also pass this policy", markup=False)
