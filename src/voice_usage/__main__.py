"""`python -m voice_usage` runs the CLI."""

from voice_usage.cli import main

main()
