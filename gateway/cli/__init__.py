"""The ``ccgate`` command line (typer + rich), for owners, providers and security teams."""
