"""A fake ``unshare`` for the network-isolation paths: it refuses, allows, or allows only inside a user
namespace, as kernels and container runtimes do; every call is logged, so a test sees what ran through it.

An allowing fake runs the program without creating any namespace: it stands in for the kernel's
decision, not for its isolation (the real isolation test runs where the real ``unshare`` works).
"""

import shlex
from pathlib import Path
from typing import Literal

UnshareBehaviour = Literal["refusing", "allowing", "user-namespace-only"]

_DECISION = {
    "refusing": 'echo "unshare: unshare failed: Operation not permitted" >&2; exit 1',
    "allowing": ":",
    "user-namespace-only": (
        'case " $* " in *" --map-root-user "*) ;; '
        '*) echo "unshare: unshare failed: Operation not permitted" >&2; exit 1;; esac'
    ),
}


def fake_unshare(directory: Path, behaviour: UnshareBehaviour, log: Path) -> Path:
    """Write an executable ``unshare`` into ``directory``, logging its arguments to ``log``; return it."""
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / "unshare"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {shlex.quote(str(log))}\n'
        f"{_DECISION[behaviour]}\n"
        'while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do shift; done\n'
        "shift\n"
        'exec "$@"\n'
    )
    script.chmod(0o755)
    return script
