"""An emulator of the Flireo API (`GET /usage`, `GET /organizations`) for the demo and tests.

Serve it with `voice_usage.emulator.EmulatorServer`::

    with EmulatorServer(FlireoEmulator(api_key="k", logs_per_day=80, shape="c")) as server:
        connection = voice_usage.connect("flireo", api_key="k", base_url=server.base_url)

What it does, as the vendor documents it:

- Bearer auth (401 with the auth page's flat body otherwise);
- `limit` (default 100, at most 1000: more is rejected with a validation error), `offset`,
  `start_date`/`end_date` as ISO 8601 datetimes or dates;
- `X-RateLimit-Limit`/`-Remaining`/`-Reset` (a Unix timestamp) on every answer, and 429 with
  `Retry-After` once the budget (100 requests a minute by default) is spent;
- the `summary` computed from every log the date filter matched (the same on every page);
- each documented response shape (`shape="a"`...`"d"`, see `voice_usage_flireo._wire`).

Where the vendor is silent, the emulator picks (and the provider must cope): logs are listed newest
first, `end_date` is inclusive (a date-only `end_date` means the whole day).

Data are synthetic and deterministic for a `seed`: each UTC day has `logs_per_day` logs spread over
the day; every log is computed on its own from `(seed, day, index)`, so a page is generated only
when asked, whatever the range. Faults (status sequences, `Retry-After`, latency, malformed
bodies) are scripted on the server: `server.faults.add(Fault(...))`.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from voice_usage.emulator import Budget, Emulator, EmulatorRequest, EmulatorResponse, json_response

__all__ = ["FlireoEmulator", "Shape", "spread"]

Shape = Literal["a", "b", "c", "d"]
"""(a) API reference, (b) billing guide, (c) SDK types, (d) OpenAPI-rendered reference."""

OrganizationShape = Literal["reference", "spec", "billing"]

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
_DAY_MS = 86_400_000
_MASK = (1 << 64) - 1
_API_PREFIX = "/api/v1"
_AGENTS = ("Customer Support", "Sales", "Reception")
_PHONES = ("+31850835037", "+31850835038", "+31201234567")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _mix(value: int) -> int:
    """splitmix64's finalizer: a bijection on 64-bit integers that scrambles every bit."""
    value = (value + 0x9E3779B97F4A7C15) & _MASK
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK
    return value ^ (value >> 31)


def _uuid(high: int, low: int) -> str:
    text = f"{high:016x}{low:016x}"
    return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-a{text[17:20]}-{text[20:32]}"


def spread(total: int, start: date, end: date) -> Callable[[date], int]:
    """A `logs_per_day` that puts exactly ``total`` logs in the days `[start, end)`, evenly.

    The first `total % days` days get one log more; days outside the range get none.
    """
    days = (end - start).days
    if days <= 0:
        raise ValueError("end must be after start")
    base, extra = divmod(total, days)

    def per_day(day: date) -> int:
        index = (day - start).days
        if not 0 <= index < days:
            return 0
        return base + (1 if index < extra else 0)

    return per_day


@dataclass(frozen=True)
class _Log:
    """One synthetic log, before it is written in a shape."""

    id: str
    created_ms: int
    seconds: int
    h1: int
    h2: int

    @property
    def minutes(self) -> int:
        return math.ceil(self.seconds / 60)


@dataclass(frozen=True)
class _Slice:
    """The logs of one day inside a filtered range: indices `[lo, hi)` of that day."""

    day: date
    lo: int
    hi: int

    @property
    def count(self) -> int:
        return self.hi - self.lo


@dataclass(frozen=True)
class _Range:
    """What a date filter matched: its day slices (newest day first) and their totals."""

    slices: tuple[_Slice, ...]
    total: int
    seconds: int
    minutes: int


class _BadRequest(Exception):
    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param
        self.message = message


def _number(value: Decimal | int) -> int | float:
    """A JSON number: integral values as integers, others as the shortest float."""
    if isinstance(value, int):
        return value
    return int(value) if value == value.to_integral_value() else float(value)


class FlireoEmulator(Emulator):
    """The Flireo API over deterministic synthetic usage logs.

    Args:
        api_key: The Bearer key the emulator accepts.
        logs_per_day: Logs on each UTC day: a number, or a function of the day (see `spread`).
        shape: Which documented `/usage` shape to answer with, `"a"` to `"d"`.
        include_cost: Whether each log carries `cost` (default: only shape (a) does).
        include_minutes_used: Whether each log carries `minutes_used` (default: only (a)).
        summary_cost: Whether the summary carries `total_cost` (default: (a) and (b), or when
            logs carry cost).
        summary_minutes: `"per_call"`: the summary's minutes are the sum of per-call minutes
            rounded up; `"plain"`: total seconds / 60, to two decimals.
        price_per_minute: EUR per billed minute behind `cost` and `total_cost`.
        seed: Makes a different, equally deterministic data set.
        data_start: No logs before this day.
        data_end: No logs from this day on (`None`: no end).
        midnight_logs: Put each day's first log at exactly 00:00:00.000, to test boundaries.
        extra_log_fields: Undocumented fields added to every log, to test tolerance.
        rate_limit: Requests allowed per `rate_window` seconds (`None`: no limit, no headers).
        rate_window: Length of the rate-limit window in seconds.
        rate_headers: Whether answers carry the `X-RateLimit-*` headers; without them the
            budget is still enforced (429 with `Retry-After`), as a vendor that documents a
            budget but says nothing of it per answer would.
        clock: Wall clock (Unix seconds) for the rate-limit window and "now"; injectable in tests.
        validation_status: 400 (the SDK's flat error body) or 422 (the nested body) for a
            rejected parameter.
        organization_shape: `/organizations` as the `"reference"` page, the `"spec"`-rendered
            page (fractional balance, children) or the `"billing"` guide (`company_name`).
        minutes_balance: The organization's balance in minutes.
        monthly_usage_minutes: Minutes used this month, as `/organizations` reports it.
    """

    name = "flireo"

    def __init__(
        self,
        api_key: str = "test-key",
        *,
        logs_per_day: int | Callable[[date], int] = 80,
        shape: Shape = "a",
        include_cost: bool | None = None,
        include_minutes_used: bool | None = None,
        summary_cost: bool | None = None,
        summary_minutes: Literal["per_call", "plain"] = "per_call",
        price_per_minute: Decimal | str = Decimal("0.07"),
        seed: int = 0,
        data_start: date = date(2025, 1, 1),
        data_end: date | None = None,
        midnight_logs: bool = False,
        extra_log_fields: Mapping[str, Any] | None = None,
        rate_limit: int | None = 100,
        rate_window: float = 60.0,
        rate_headers: bool = True,
        clock: Callable[[], float] = time.time,
        validation_status: Literal[400, 422] = 400,
        organization_shape: OrganizationShape = "spec",
        minutes_balance: Decimal | str = Decimal("500.5"),
        monthly_usage_minutes: int = 120,
    ) -> None:
        super().__init__(api_key)
        if shape not in ("a", "b", "c", "d"):
            raise ValueError(f"shape must be one of a, b, c, d; got {shape!r}")
        self._per_day = logs_per_day if callable(logs_per_day) else (lambda _day: logs_per_day)
        self.shape: Shape = shape
        self.include_cost = shape == "a" if include_cost is None else include_cost
        self.include_minutes_used = (
            shape == "a" if include_minutes_used is None else include_minutes_used
        )
        self.summary_cost = (
            (shape in ("a", "b") or self.include_cost) if summary_cost is None else summary_cost
        )
        self.summary_minutes = summary_minutes
        self.price_per_minute = Decimal(price_per_minute)
        self.seed = seed
        self.data_start = data_start
        self.data_end = data_end
        self.midnight_logs = midnight_logs
        self.extra_log_fields = dict(extra_log_fields or {})
        self.clock = clock
        self.budget = (
            Budget(rate_limit, rate_window, headers=rate_headers, clock=clock)
            if rate_limit is not None
            else None
        )
        self.validation_status = validation_status
        self.organization_shape = organization_shape
        self.minutes_balance = Decimal(minutes_balance)
        self.monthly_usage_minutes = monthly_usage_minutes
        self._lock = threading.Lock()
        self._window: tuple[int, int] = (-1, 0)  # (window index, requests in it)
        self._day_totals: dict[date, tuple[int, int]] = {}
        self._ranges: dict[tuple[int, int], _Range] = {}

    # -- data -------------------------------------------------------------------------------

    def logs_on(self, day: date) -> int:
        """How many logs the day has."""
        if day < self.data_start or (self.data_end is not None and day >= self.data_end):
            return 0
        return max(0, int(self._per_day(day)))

    def _log(self, day: date, index: int, count: int) -> _Log:
        key = ((self.seed * 1_000_003 + day.toordinal()) << 24) + index
        h1 = _mix(key)
        h2 = _mix(h1 ^ 0x5BD1E995)
        day_ms = (day.toordinal() - _EPOCH.toordinal()) * _DAY_MS
        if self.midnight_logs and index == 0:
            offset = 0
        else:
            slot = _DAY_MS / count
            offset = int((index + (h1 & 0xFFFF) / 65536) * slot)
        pick = (h1 >> 16) % 1000
        if pick < 20:
            seconds = 0  # rejected or unanswered: logged with no duration
        elif pick >= 985:
            seconds = 600 + (h1 >> 32) % 1800
        else:
            seconds = 15 + (h1 >> 32) % 400
        return _Log(_uuid(h2, h1), day_ms + offset, seconds, h1, h2)

    def _day_total(self, day: date) -> tuple[int, int]:
        """(seconds, per-call minutes) of a whole day, computed once."""
        with self._lock:
            cached = self._day_totals.get(day)
        if cached is None:
            count = self.logs_on(day)
            seconds = minutes = 0
            for index in range(count):
                log = self._log(day, index, count)
                seconds += log.seconds
                minutes += log.minutes
            cached = (seconds, minutes)
            with self._lock:
                self._day_totals[day] = cached
        return cached

    def _first_index_at_or_after(self, day: date, count: int, ms: int) -> int:
        lo, hi = 0, count
        while lo < hi:
            mid = (lo + hi) // 2
            if self._log(day, mid, count).created_ms < ms:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def _range(self, lo_ms: int, hi_ms: int) -> _Range:
        """The logs with `lo_ms <= created < hi_ms`, by day, newest day first."""
        with self._lock:
            cached = self._ranges.get((lo_ms, hi_ms))
        if cached is not None:
            return cached
        slices: list[_Slice] = []
        total = seconds = minutes = 0
        if lo_ms < hi_ms:
            first = _EPOCH.date() + timedelta(days=lo_ms // _DAY_MS)
            last = _EPOCH.date() + timedelta(days=(hi_ms - 1) // _DAY_MS)
            first = max(first, self.data_start)
            if self.data_end is not None:
                last = min(last, self.data_end - timedelta(days=1))
            day = last
            while day >= first:
                count = self.logs_on(day)
                if count:
                    day_ms = (day.toordinal() - _EPOCH.toordinal()) * _DAY_MS
                    if lo_ms <= day_ms and day_ms + _DAY_MS <= hi_ms:
                        part = _Slice(day, 0, count)
                        day_seconds, day_minutes = self._day_total(day)
                    else:
                        part = _Slice(
                            day,
                            self._first_index_at_or_after(day, count, lo_ms),
                            self._first_index_at_or_after(day, count, hi_ms),
                        )
                        logs = [self._log(day, i, count) for i in range(part.lo, part.hi)]
                        day_seconds = sum(log.seconds for log in logs)
                        day_minutes = sum(log.minutes for log in logs)
                    if part.count:
                        slices.append(part)
                        total += part.count
                        seconds += day_seconds
                        minutes += day_minutes
                day -= timedelta(days=1)
        matched = _Range(tuple(slices), total, seconds, minutes)
        with self._lock:
            if len(self._ranges) > 64:
                self._ranges.clear()
            self._ranges[(lo_ms, hi_ms)] = matched
        return matched

    def _page(self, matched: _Range, offset: int, limit: int) -> Iterator[_Log]:
        """Logs `[offset, offset + limit)` of the range, newest first."""
        skip, wanted = offset, limit
        for part in matched.slices:
            if wanted <= 0:
                return
            if skip >= part.count:
                skip -= part.count
                continue
            count = self.logs_on(part.day)
            index = part.hi - 1 - skip
            skip = 0
            while index >= part.lo and wanted > 0:
                yield self._log(part.day, index, count)
                index -= 1
                wanted -= 1

    def totals(self, start_date: str, end_date: str) -> dict[str, Any]:
        """The summary the emulator answers for these `/usage` date parameters (for tests)."""
        lo_ms, hi_ms = self._bounds({"start_date": [start_date], "end_date": [end_date]})
        matched = self._range(lo_ms, hi_ms)
        return {
            "calls": matched.total,
            "seconds": matched.seconds,
            "minutes": matched.minutes,
            "cost": matched.minutes * self.price_per_minute,
        }

    # -- wire -------------------------------------------------------------------------------

    def _log_json(self, log: _Log) -> dict[str, Any]:
        created = datetime.fromtimestamp(log.created_ms / 1000, tz=UTC)
        created_at = created.strftime("%Y-%m-%dT%H:%M:%S.") + f"{log.created_ms % 1000:03d}Z"
        h1, h2 = log.h1, log.h2
        body: dict[str, Any] = {"id": log.id}
        if self.shape == "a":
            body["call_id"] = f"call-_+316{h2 % 10**8:08d}_{h1 & 0xFFFFFF:06x}"
            body["duration_seconds"] = log.seconds
        else:
            body["duration_sec"] = log.seconds
        if self.include_minutes_used:
            body["minutes_used"] = log.minutes
        if self.include_cost:
            body["cost"] = _number(log.minutes * self.price_per_minute)
        if self.shape == "b":
            body["number_id"] = _uuid(_mix(self.seed + 7), _mix((h2 >> 8) % 3))
        if self.shape in ("c", "d"):
            web = (h2 >> 4) % 10 == 0
            if self.shape == "c":
                body["call_type"] = "web" if web else "phone"
            else:
                body["byok_stt"] = bool(h2 >> 20 & 1)
                body["byok_llm"] = bool(h2 >> 21 & 1)
                body["byok_tts"] = bool(h2 >> 22 & 1)
            body["phone_number"] = None if web else _PHONES[(h2 >> 8) % len(_PHONES)]
            body["agent_name"] = _AGENTS[(h2 >> 12) % len(_AGENTS)]
            body["business_name"] = "Acme Corp"
        body["created_at"] = created_at
        body.update(self.extra_log_fields)
        return body

    def _summary(self, matched: _Range) -> dict[str, Any]:
        seconds, per_call = matched.seconds, matched.minutes
        minutes: Decimal | int = per_call
        if self.summary_minutes == "plain":
            minutes = (Decimal(seconds) / 60).quantize(Decimal("0.01"), ROUND_HALF_UP)
        cost = _number(per_call * self.price_per_minute)
        summary: dict[str, Any]
        if self.shape == "a":
            summary = {"total_minutes": _number(minutes)}
            if self.summary_cost:
                summary["total_cost"] = cost
            summary["total_calls"] = matched.total
        elif self.shape == "b":
            summary = {"total_seconds": seconds, "total_minutes": _number(minutes)}
            if self.summary_cost:
                summary["total_cost"] = cost
        else:
            summary = {
                "total_calls": matched.total,
                "total_duration_seconds": seconds,
                "total_duration_minutes": _number(minutes),
            }
            if self.summary_cost:
                summary["total_cost"] = cost
        return summary

    @staticmethod
    def _instant(param: str, text: str, *, end: bool) -> int:
        """A date parameter as Unix milliseconds: the first ms it covers, or one past the last."""
        value = text.strip()
        try:
            if len(value) == 10:
                day = date.fromisoformat(value)
                ms = (day.toordinal() - _EPOCH.toordinal()) * _DAY_MS
                return ms + _DAY_MS if end else ms
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise _BadRequest(param, f"{param} must be an ISO 8601 date-time") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        micros = (parsed - _EPOCH) // timedelta(microseconds=1)
        if end:
            return micros // 1000 + 1  # inclusive end
        return -(-micros // 1000)

    def _bounds(self, query: Mapping[str, list[str]]) -> tuple[int, int]:
        start = query.get("start_date", [""])[-1]
        end = query.get("end_date", [""])[-1]
        lo = (
            self._instant("start_date", start, end=False)
            if start
            else ((self.data_start.toordinal() - _EPOCH.toordinal()) * _DAY_MS)
        )
        hi = self._instant("end_date", end, end=True) if end else int(self.clock() * 1000) + 1
        return lo, hi

    @staticmethod
    def _int_param(
        request: EmulatorRequest, name: str, default: int, low: int, high: int | None
    ) -> int:
        text = request.param(name)
        if text is None or text == "":
            return default
        try:
            value = int(text)
        except ValueError:
            raise _BadRequest(name, f"{name} must be an integer") from None
        if value < low:
            raise _BadRequest(name, f"{name} must be greater than or equal to {low}")
        if high is not None and value > high:
            raise _BadRequest(name, f"{name} must be less than or equal to {high}")
        return value

    def _validation_error(self, error: _BadRequest) -> EmulatorResponse:
        if self.validation_status == 422:
            return json_response(
                {
                    "error": {
                        "code": "invalid_request",
                        "message": error.message,
                        "param": error.param,
                        "type": "invalid_request_error",
                    }
                },
                422,
            )
        return json_response(
            {"error": "Validation failed", "message": error.message, "details": [error.message]},
            400,
        )

    def handle(self, request: EmulatorRequest) -> EmulatorResponse:
        """Answer `/usage` and `/organizations` (with or without the `/api/v1` prefix)."""
        path = request.path.removeprefix(_API_PREFIX).rstrip("/") or "/"
        try:
            if path == "/usage":
                response = self._usage(request)
            elif path == "/organizations":
                response = json_response(self._organization())
            else:
                response = json_response(
                    {"error": {"code": "not_found", "message": f"No route for GET {request.path}"}},
                    404,
                )
        except _BadRequest as exc:
            response = self._validation_error(exc)
        return response

    def _usage(self, request: EmulatorRequest) -> EmulatorResponse:
        limit = self._int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        offset = self._int_param(request, "offset", 0, 0, None)
        matched = self._range(*self._bounds(request.query))
        logs = [self._log_json(log) for log in self._page(matched, offset, limit)]
        body: dict[str, Any] = {"usage" if self.shape == "b" else "logs": logs}
        if self.shape != "b":
            body["pagination"] = {"total": matched.total, "limit": limit, "offset": offset}
        body["summary"] = self._summary(matched)
        return EmulatorResponse(
            200,
            json.dumps(body, separators=(",", ":")).encode(),
            {"Content-Type": "application/json"},
        )

    def _organization(self) -> dict[str, Any]:
        org_id = _uuid(_mix(self.seed + 1), _mix(self.seed + 2))
        if self.organization_shape == "billing":
            return {
                "id": org_id,
                "company_name": "Acme Corp",
                "minutes_balance": _number(self.minutes_balance),
                "monthly_usage_minutes": self.monthly_usage_minutes,
            }
        body: dict[str, Any] = {
            "id": org_id,
            "name": "Acme Corp",
            "minutes_balance": (
                int(self.minutes_balance)
                if self.organization_shape == "reference"
                else _number(self.minutes_balance)
            ),
            "monthly_usage_minutes": self.monthly_usage_minutes,
            "active_numbers": 3,
            "active_agents": 2,
            "active_calls": 1,
        }
        if self.organization_shape == "spec":
            body.update(has_local_models_access=False, parent_org_id=None, children=[])
        return body

    # -- errors -----------------------------------------------------------------------------

    def error(self, status: int, request: EmulatorRequest) -> EmulatorResponse:
        """The vendor's documented error bodies, for a scripted fault's status."""
        if status == 401:
            return self.unauthorized(request)
        if status == 403:
            return json_response(
                {"error": "Forbidden", "message": "You don't have access to this resource"}, 403
            )
        codes = {
            400: ("invalid_request", "Invalid request"),
            402: (
                "insufficient_credits",
                "Insufficient credits to make outbound call. "
                "Please add credits in your billing dashboard.",
            ),
            404: ("not_found", "Resource not found"),
            409: ("conflict", "Conflict"),
            422: ("invalid_request", "Invalid request"),
            429: ("rate_limit_exceeded", "Too many requests. Please retry later."),
        }
        code, message = codes.get(
            status,
            ("server_error", "Internal server error")
            if status >= 500
            else (f"http_{status}", "Error"),
        )
        return json_response({"error": {"code": code, "message": message}}, status)
