"""``python -m gateway.cli`` is ``ccgate``."""

from gateway.cli.main import main

main()
