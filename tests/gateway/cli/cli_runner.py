"""Run the real ``ccgate`` entry point in a subprocess, as a user would."""

import subprocess
import sys
from pathlib import Path


def ccgate(
    *args: str | Path, stdin: bytes | None = None, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *map(str, args)],
        input=stdin,
        capture_output=True,
        cwd=cwd,
        env=env,
        check=False,
    )
