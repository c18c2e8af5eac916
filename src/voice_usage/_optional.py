"""Optional dependencies (pandas, pyarrow), imported only when a feature needs them."""

from __future__ import annotations

import importlib
from typing import Any

from voice_usage._exceptions import ConfigurationError

__all__ = ["require"]


def require(module: str, extra: str) -> Any:
    """Import ``module``, or say which extra to install.

    Raises:
        ConfigurationError: naming the extra, when the module is not installed.
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigurationError(
            f"this export needs {module}: install the extra with pip install 'voice-usage[{extra}]'"
        ) from None
