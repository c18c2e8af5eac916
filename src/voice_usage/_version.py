"""The package version.

Written out, not read from the installed distribution's metadata: `importlib.metadata` costs
more to import than the rest of `voice-usage --version`. A test holds it to the distribution's
version (`pyproject.toml`).
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
