"""How records become rows: the fast JSON text is the standard encoder's, byte for byte."""

from __future__ import annotations

import json
from typing import Any

import pytest

from voice_usage._store._rows import _ENCODE_JSON

STANDARD = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


@pytest.mark.parametrize(
    "value",
    [
        {},
        {"log_id": "log-1"},
        {"ünï": 'cödé \n\t"quoted" \\ \u2028', "n": -0.0, "big": 10**30, "e": 1e16},
        {"nested": {"a": [1, 2.5, None, "x", True, False, []]}, "z": {}},
        {"floats": [0.1, 1e-7, 123456789.123, float("inf"), float("-inf")]},
        {"2": "key order", "1": "as written", "10": "kept"},
    ],
)
def test_extras_text_is_the_standard_encoders(value: dict[str, Any]) -> None:
    assert _ENCODE_JSON(value) == STANDARD(value)


def test_a_value_json_cannot_hold_is_refused() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        _ENCODE_JSON({"when": object()})
