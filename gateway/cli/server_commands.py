"""``ccgate serve`` and ``ccgate db upgrade``: run the gateway, migrate its database."""

import logging
from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.console import print_json, stdout
from gateway.settings import Settings

db_app = typer.Typer(help="The gateway's database.", no_args_is_help=True)

DataDirOption = Annotated[
    Path | None, typer.Option("--data-dir", help="Data directory (default: $CCGATE_DATA_DIR).")
]


def _settings(data_dir: Path | None) -> Settings:
    return Settings(data_dir=data_dir) if data_dir is not None else Settings()


def serve(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8443,
    data_dir: DataDirOption = None,
    http: Annotated[str, typer.Option("--http", help="uvicorn HTTP parser: httptools or h11.")] = "httptools",
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            help="Worker processes (one per core for throughput; they share the data directory).",
        ),
    ] = 1,
) -> None:
    """Run the gateway with uvicorn (configuration from CCGATE_* variables; JSON logs on stderr).

    Terminate TLS in front of it (a load balancer or reverse proxy): uvicorn serves plain HTTP here.
    """
    import uvicorn  # noqa: PLC0415 - only this command needs the server.

    from gateway.logs import configure_json_logging  # noqa: PLC0415 - needless for other commands.

    configure_json_logging()
    common = {
        "host": host,
        "port": port,
        "http": http,
        "loop": "auto",
        "log_config": None,
        "access_log": False,  # The gateway writes its own access line, with the request id.
        "server_header": False,
    }
    log = logging.getLogger("ccgate.gateway")
    if workers == 1:
        from gateway.app import create_app  # noqa: PLC0415 - as above.

        app = create_app(_settings(data_dir))
        log.info("serving on %s:%d", host, port)
        uvicorn.run(app, **common)  # type: ignore[arg-type]  # uvicorn types its options one by one.
        return
    from gateway.serving import prepare_for_workers  # noqa: PLC0415 - as above.

    prepare_for_workers(data_dir)
    log.info("serving on %s:%d with %d worker processes", host, port, workers)
    uvicorn.run("gateway.serving:worker_app", factory=True, workers=workers, **common)  # type: ignore[arg-type]  # as above.


@db_app.command("upgrade")
def upgrade(data_dir: DataDirOption = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Apply the schema migrations (the gateway also does this on every start)."""
    from gateway.storage import migrate  # noqa: PLC0415 - alembic loads only for this command.
    from gateway.storage.database import make_engine  # noqa: PLC0415 - as above.

    settings = _settings(data_dir)
    settings.check()
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    engine = make_engine(settings.sqlalchemy_url)
    try:
        revision = migrate.upgrade(engine)
    finally:
        engine.dispose()
    if as_json:
        print_json({"revision": revision})
    else:
        stdout.print(f"database at revision {revision}", markup=False)
