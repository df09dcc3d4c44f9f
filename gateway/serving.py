"""Running the gateway under uvicorn, in one process or several (``ccgate serve --workers N``).

One Python process serves one core at a time, whatever its thread count, and a release is mostly
Python (parsing, policies, the ORM) around a little native cryptography. Several worker processes on
one data directory share nothing but the database, the key files and the blob store, which is what
replicas share too: PostgreSQL orders their writes with row locks, and on SQLite an advisory file
lock beside the database queues the workers' write transactions (``gateway.storage.database``).

Start-up maintenance (migrations, the first KEK, removing unfinished uploads) runs once, here,
before any worker starts; the workers are told to skip it, so that uvicorn restarting a dead worker
never removes an upload that another worker is still receiving.
"""

import logging
import os
from pathlib import Path
from typing import Final

from fastapi import FastAPI

from gateway.settings import Settings

log = logging.getLogger("ccgate.gateway")

# The settings the workers read: the parent's resolved data directory, maintenance switched off.
_WORKER_ENVIRONMENT: Final = {"CCGATE_STARTUP_MAINTENANCE": "false"}


def worker_app() -> FastAPI:
    """The app factory each uvicorn worker process calls (settings from ``CCGATE_*`` variables)."""
    from gateway.app import create_app  # noqa: PLC0415 - the worker imports the app, the CLI need not.
    from gateway.logs import configure_json_logging  # noqa: PLC0415 - as above.

    configure_json_logging()
    return create_app(Settings())


def prepare_for_workers(data_dir: Path | None) -> None:
    """Run start-up maintenance once and set the environment the worker processes inherit.

    Raises:
        ConfigurationError: unsafe settings.
        KeyFileError: a key file is readable by others or malformed.
    """
    from gateway.app import build_services, prepare  # noqa: PLC0415 - only serving needs the app.

    if data_dir is not None:
        os.environ["CCGATE_DATA_DIR"] = str(data_dir.resolve())
    services = build_services(Settings())
    try:
        prepare(services)
    finally:
        services.db.dispose()
    os.environ.update(_WORKER_ENVIRONMENT)
