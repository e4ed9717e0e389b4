"""`python -m orchestration` runs the cofre CLI (same as the `cofre` entry point)."""

from orchestration.cli.app import main

main()
