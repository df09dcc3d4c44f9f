"""``ccgate admin …``: bootstrap (local), tenants, principals, tokens, providers and KEK rotation."""

from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.console import print_json, stdout
from gateway.cli.remote import JsonOption, TokenOption, UrlOption, connect, show, show_many
from gateway.domain import KycStatus, Role, TenantKind
from gateway.settings import Settings

app = typer.Typer(help="Platform administration (admin role).", no_args_is_help=True)
tenant_app = typer.Typer(help="Tenants.", no_args_is_help=True)
principal_app = typer.Typer(help="Principals and their tokens.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
provider_app = typer.Typer(help="Provider organisations and their KYC status.", no_args_is_help=True)
app.add_typer(tenant_app, name="tenant")
app.add_typer(principal_app, name="principal")
app.add_typer(token_app, name="token")
app.add_typer(provider_app, name="provider")

DataDirOption = Annotated[
    Path | None, typer.Option("--data-dir", help="The gateway's data directory (default: $CCGATE_DATA_DIR).")
]


@app.command("bootstrap")
def bootstrap(
    data_dir: DataDirOption = None,
    tenant_name: Annotated[str, typer.Option("--tenant", help="Name of the platform tenant.")] = "platform",
    admin_name: Annotated[str, typer.Option("--admin", help="Name of the first admin.")] = "admin",
    as_json: JsonOption = False,
) -> None:
    """Create the platform tenant and the first admin in the local data directory; print the token once.

    Refuses if the gateway was bootstrapped before.
    """
    # Imported here: building the service layer costs most of a second that no other command needs.
    from gateway.app import build_services, prepare  # noqa: PLC0415
    from gateway.services import identity  # noqa: PLC0415

    settings = Settings(data_dir=data_dir) if data_dir is not None else Settings()
    services = build_services(settings)
    try:
        prepare(services)
        made = identity.bootstrap(services, tenant_name, admin_name)
    finally:
        services.db.dispose()
    document = {
        "tenant_id": made.tenant.id,
        "principal_id": made.principal.id,
        "token": made.token.token,
        "jti": made.token.jti,
        "expires_at": made.token.expires_at.isoformat(),
    }
    if as_json:
        print_json(document)
    else:
        stdout.print(f"admin {admin_name} ({made.principal.id}) in tenant {tenant_name} ({made.tenant.id})")
        stdout.print(f"token (shown once; export CCGATE_TOKEN=...):\n{made.token.token}", markup=False)


@tenant_app.command("create")
def tenant_create(
    name: str,
    kind: Annotated[TenantKind, typer.Option("--kind")] = TenantKind.CUSTOMER,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a customer tenant."""
    with connect(url, token) as client:
        show(client.create_tenant(name, kind), as_json)


@tenant_app.command("list")
def tenant_list(url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False) -> None:
    """List tenants."""
    with connect(url, token) as client:
        show_many(
            client.list_tenants(), as_json, lambda t: f"{t.id}  {t.kind:<9} {t.name}  kyc={t.kyc_status}"
        )


@principal_app.command("create")
def principal_create(
    tenant_id: str,
    name: str,
    role: Annotated[list[Role], typer.Option("--role", help="Repeat for several roles.")],
    ttl: Annotated[int | None, typer.Option("--ttl", help="Token lifetime in seconds.")] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a principal with roles and print its first token (shown once)."""
    with connect(url, token) as client:
        made = client.create_principal(tenant_id, name, role, ttl)
    if as_json:
        print_json(made.model_dump(mode="json"))
        return
    stdout.print(
        f"principal {made.principal.name} ({made.principal.id}) roles={','.join(made.principal.roles)}"
    )
    stdout.print(
        f"token {made.token.jti} expires {made.token.expires_at.isoformat()}:\n{made.token.token}",
        markup=False,
    )


@token_app.command("issue")
def token_issue(
    principal_id: str,
    ttl: Annotated[int | None, typer.Option("--ttl")] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Issue another token for a principal."""
    with connect(url, token) as client:
        show(client.issue_token(principal_id, ttl), as_json)


@token_app.command("revoke")
def token_revoke(
    jti: str, url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False
) -> None:
    """Put a token on the deny-list."""
    with connect(url, token) as client:
        show(client.revoke_token(jti), as_json)


@provider_app.command("create")
def provider_create(
    name: str, url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False
) -> None:
    """Register a provider organisation (KYC pending)."""
    with connect(url, token) as client:
        show(client.create_provider(name), as_json)


@provider_app.command("kyc")
def provider_kyc(
    tenant_id: str,
    status: KycStatus,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Set a provider's KYC status (pending, approved, rejected)."""
    with connect(url, token) as client:
        show(client.set_kyc(tenant_id, status), as_json)


@provider_app.command("list")
def provider_list(url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False) -> None:
    """List providers and their KYC status."""
    with connect(url, token) as client:
        show_many(client.list_providers(), as_json, lambda t: f"{t.id}  {t.name}  kyc={t.kyc_status}")


@app.command("rotate-kek")
def rotate_kek(url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False) -> None:
    """Re-seal every stored data key to a new key-encryption key and retire the old one."""
    with connect(url, token) as client:
        show(client.rotate_kek(), as_json)
