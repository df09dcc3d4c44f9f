"""``ccgate bundle create``: pack a directory into a model bundle (``ccgate-bundle/v1``) for upload.

    ccgate bundle create ./my-model -o model.tar --entrypoint train='python3 train.py' \\
        --entrypoint evaluate='python3 eval.py --split test' --env OMP_NUM_THREADS=2

The bundle is then encrypted and uploaded like any artefact (``ccgate artefact upload --kind model``).
Links, devices and FIFOs are refused here already, because the runner would refuse them later.
"""

import shlex
from pathlib import Path
from typing import Annotated

import typer

from enclave_runner.protocol.bundle_format import BundleManifest, write_bundle
from enclave_runner.protocol.errors import BundleFormatError
from gateway.cli.console import fail, print_json, stdout

app = typer.Typer(help="Model bundles: the code a job runs, packed with how to run it.", no_args_is_help=True)


def _pairs(values: list[str], what: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        name, separator, rest = value.partition("=")
        if not separator or not name or not rest:
            raise typer.BadParameter(f"{what} takes NAME=VALUE, got {value!r}")
        pairs[name] = rest
    return pairs


def _members(source: Path) -> dict[str, Path]:
    members: dict[str, Path] = {}
    for path in sorted(source.rglob("*")):
        if path.is_dir() and not path.is_symlink():
            continue
        if path.is_symlink() or not path.is_file():
            fail("bundle.special_file", f"{path} is a link or a special file; bundles hold regular files")
        members[path.relative_to(source).as_posix()] = path
    return members


@app.command("create")
def create(
    source: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="The directory to pack.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The bundle tar to write.")],
    entrypoint: Annotated[
        list[str],
        typer.Option("--entrypoint", help="NAME='command line' (repeatable); a job names one."),
    ],
    env: Annotated[
        list[str] | None, typer.Option("--env", help="NAME=VALUE for the job (repeatable).")
    ] = None,
    output_dir: Annotated[str, typer.Option("--output-dir", help="Where the job writes results.")] = "output",
    as_json: Annotated[bool, typer.Option("--json", help="Print what was packed as JSON.")] = False,
) -> None:
    """Pack SOURCE into a bundle whose manifest names the entrypoints, environment and output directory."""
    entrypoints = {
        name: tuple(shlex.split(line)) for name, line in _pairs(entrypoint, "--entrypoint").items()
    }
    manifest = BundleManifest(entrypoints, _pairs(env or [], "--env"), output_dir)
    members = _members(source)
    try:
        write_bundle(output, members, manifest)
    except BundleFormatError as exc:
        fail(exc.code, str(exc))
    if as_json:
        print_json(
            {
                "bundle": str(output),
                "files": sorted(members),
                "entrypoints": {name: list(argv) for name, argv in sorted(entrypoints.items())},
                "output_dir": output_dir,
            }
        )
        return
    stdout.print(
        f"{output}: {len(members)} files, entrypoints {', '.join(sorted(entrypoints))}", markup=False
    )
