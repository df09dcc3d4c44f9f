"""What every command that talks to a gateway shares: ``--url``, ``--token``, ``--json`` and the output."""

from collections.abc import Callable, Sequence
from typing import Annotated, TypeVar

import typer
from pydantic import BaseModel

from gateway.cli.console import print_json, stdout
from gateway.client.config import ClientSettings
from gateway.client.http import GatewayClient

UrlOption = Annotated[str | None, typer.Option("--url", help="Gateway URL (default: $CCGATE_URL).")]
TokenOption = Annotated[str | None, typer.Option("--token", help="API token (default: $CCGATE_TOKEN).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]

_M = TypeVar("_M", bound=BaseModel)


def connect(url: str | None, token: str | None) -> GatewayClient:
    """A client for the gateway named by the options, else by ``CCGATE_URL`` / ``CCGATE_TOKEN``."""
    settings = ClientSettings()
    secret = token or (settings.token.get_secret_value() if settings.token else None)
    return GatewayClient(url or settings.url, secret, timeout=settings.timeout_seconds)


def show(model: _M, as_json: bool, lines: Callable[[_M], Sequence[str]] | None = None) -> None:
    """Print one result as JSON, or as ``key: value`` lines (or the given lines)."""
    if as_json:
        print_json(model.model_dump(mode="json"))
        return
    rendered = lines(model) if lines else [f"{k}: {v}" for k, v in model.model_dump(mode="json").items()]
    for line in rendered:
        stdout.print(line, markup=False)


def show_many(models: Sequence[_M], as_json: bool, line: Callable[[_M], str]) -> None:
    """Print a list as a JSON array, or one line per item."""
    if as_json:
        print_json({"items": [m.model_dump(mode="json") for m in models]})
        return
    for model in models:
        stdout.print(line(model), markup=False)
    if not models:
        stdout.print("(none)", markup=False)
