"""Module attributes imported on first use, so that importing a package stays cheap.

`voice_usage`, `voice_usage.provider` and each provider's package name what they offer in a table
(name -> the module that defines it) and let `lazy_attributes` import it when first read.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, MutableMapping

__all__ = ["lazy_attributes"]


def lazy_attributes(
    module: str, where: Mapping[str, str], namespace: MutableMapping[str, object]
) -> Callable[[str], object]:
    """A module `__getattr__` that imports ``where[name]`` and keeps the value in ``namespace``.

    ``namespace`` is the module's `globals()`: once loaded, the name is a plain attribute and this
    is not called for it again.
    """

    def __getattr__(name: str) -> object:
        defining = where.get(name)
        if defining is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(defining), name)
        namespace[name] = value
        return value

    return __getattr__
