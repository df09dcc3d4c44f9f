"""``ccgate sim init``: create a SIMULATED vendor and one node's simulated devices on disk (NOT SECURITY).

For development and the demo: the gateway is given the simulated roots and RIMs explicitly (and must
be started with simulation enabled), the runner's simulated Attester loads the node directory. An
older ``--driver`` (e.g. 535.86.10) makes a node whose Evidence verifies but that a baseline policy
with a minimum driver version denies.
"""

import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from attestation.simulated.firmware import SimulatedFirmware
from attestation.simulated.roots import SimulatedTeeWarning
from gateway.cli.console import print_json, stderr, stdout
from gateway.simulation import (
    NODE_DIRECTORY,
    RIMS_DIRECTORY,
    ROOTS_DIRECTORY,
    create_simulated_site,
    require_empty_directory,
    site_summary,
    write_site,
)

app = typer.Typer(
    help="Simulated TEE hardware for development and demos (NOT SECURITY).", no_args_is_help=True
)


@app.command("init")
def init(
    directory: Annotated[Path, typer.Argument(help="Directory to create (must not exist or be empty).")],
    gpus: Annotated[int, typer.Option("--gpus", min=0, max=64, help="Simulated GPUs on the node.")] = 1,
    driver: Annotated[
        str, typer.Option("--driver", help="Driver version the GPUs run (e.g. 535.86.10 to show a denial).")
    ] = SimulatedFirmware().driver_version,
    vbios: Annotated[str, typer.Option("--vbios", help="VBIOS version, like 96.00.CC.00.01.")] = (
        SimulatedFirmware().vbios_version
    ),
    cpu_debug: Annotated[
        bool, typer.Option("--cpu-debug", help="Make the simulated CPU report a debuggable guest.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary instead of text.")] = False,
) -> None:
    """Create a simulated vendor (roots, RIMs) and one node's devices (CPU, GPUs) under DIRECTORY."""
    try:
        firmware = SimulatedFirmware(driver_version=driver, vbios_version=vbios)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    require_empty_directory(directory)
    # The fence's warning is the point of this command's output, so it is shown as a clean line.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SimulatedTeeWarning)
        site = create_simulated_site(datetime.now(UTC), gpus=gpus, firmware=firmware, cpu_debug=cpu_debug)
    for warning in {str(item.message) for item in caught if issubclass(item.category, SimulatedTeeWarning)}:
        stderr.print(f"ccgate: warning: {warning}", markup=False)
    write_site(site, directory)
    summary = site_summary(site)
    if as_json:
        print_json({**summary, "directory": str(directory)})
        return
    stdout.print(f"SIMULATED site in {directory} (NOT SECURE: development and demos only)", markup=False)
    stdout.print(
        f"  gateway collateral: {directory / ROOTS_DIRECTORY}, {directory / RIMS_DIRECTORY}", markup=False
    )
    stdout.print(f"  runner devices:     {directory / NODE_DIRECTORY} (private keys 0600)", markup=False)
    stdout.print(f"  driver {driver}, VBIOS {vbios}, {gpus} GPU(s), CPU debug {cpu_debug}", markup=False)
    stdout.print(f"  runner measurement: {summary['runner_measurement']}", markup=False)
