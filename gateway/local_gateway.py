"""A gateway process on loopback (``ccgate serve`` under uvicorn), for the demo and the benchmarks.

It gets its own data directory (SQLite, blobs, keys), its first admin from ``ccgate admin
bootstrap``, and extra settings through ``CCGATE_*`` variables (a simulated site, say); it is
stopped when the context exits. The environment is passed explicitly to the child process, so no
variable the caller happens to have (a production database URL) leaks into it.
"""

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import httpx

# Variables a child gateway must not inherit from the caller: it is configured only by ``settings``.
_INHERITED_PREFIX: Final = "CCGATE_"


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class LocalGateway:
    """A running gateway: its URL, its first admin's token and its data directory."""

    url: str
    admin_token: str
    data_dir: Path
    log: Path
    pid: int


def _environment(data_dir: Path, settings: Mapping[str, str]) -> dict[str, str]:
    base = {key: value for key, value in os.environ.items() if not key.startswith(_INHERITED_PREFIX)}
    return {**base, "CCGATE_DATA_DIR": str(data_dir), **settings}


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the gateway exited during start-up; see {log}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the gateway did not become ready within 60 s; see {log}")


@contextlib.contextmanager
def local_gateway(
    data_dir: Path, settings: Mapping[str, str] | None = None, http: str = "httptools", workers: int = 1
) -> Iterator[LocalGateway]:
    """Bootstrap and start a gateway on a free loopback port; stop it on exit.

    Raises:
        RuntimeError: the gateway did not start.
        subprocess.CalledProcessError: the bootstrap failed.
    """
    env = _environment(data_dir, settings or {})
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "admin", "bootstrap", "--json"],
        env=env,
        capture_output=True,
        check=True,
    )
    admin_token = str(json.loads(done.stdout)["token"])
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = data_dir.parent / f"gateway-{port}.log"
    command = [sys.executable, "-m", "gateway.cli", "serve", "--port", str(port), "--http", http]
    command += ["--workers", str(workers)]
    with open(log, "wb") as output:
        server = subprocess.Popen(  # noqa: S603 - this interpreter running ccgate itself.
            command,
            env=env,
            stdout=output,
            stderr=output,
        )
    try:
        _wait_ready(url, server, log)
        yield LocalGateway(url, admin_token, data_dir, log, server.pid)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
