"""A real gateway process (``ccgate serve`` under uvicorn) on loopback, for end-to-end and crash tests."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.gateway.cli.cli_runner import ccgate


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


SERVE = (sys.executable, "-m", "gateway.cli", "serve")


@dataclass
class LiveGateway:
    """A gateway process and what it takes to talk to it."""

    data_dir: Path
    database_url: str
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    workers: int = 1

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, token: str | None = None) -> dict[str, str]:
        env = {
            **os.environ,
            "CCGATE_DATA_DIR": str(self.data_dir),
            "CCGATE_DATABASE_URL": self.database_url,
            "CCGATE_ALLOW_SIMULATED_TEE": "true",
            "CCGATE_URL": self.url,
            **self.extra_env,
        }
        if token:
            env["CCGATE_TOKEN"] = token
        return env

    def bootstrap(self) -> str:
        done = ccgate("admin", "bootstrap", "--json", env=self.env())
        assert done.returncode == 0, done.stderr
        return str(json.loads(done.stdout)["token"])

    def start(self) -> None:
        self.log = self.data_dir.parent / f"gateway-{self.port}.log"
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [*SERVE, "--port", str(self.port), "--workers", str(self.workers)],
                env=self.env(),
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the gateway exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError("the gateway did not become ready")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
