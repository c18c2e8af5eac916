"""An emulator of Twilio's Usage Records and Calls list, for the demo and the tests.

Serves, for one account and any date range, from deterministic data (each UTC day's calls are
drawn from a random generator seeded with the day):

- `GET /2010-04-01/Accounts/{AccountSid}/Calls.json`: call legs, most recent first, filtered by
  `StartTime>`/`StartTime<`/`StartTime` (whole UTC days, both ends inclusive);
- `GET /2010-04-01/Accounts/{AccountSid}/Usage/Records/Daily.json` and `Monthly.json`: one record
  per day (month) of `[StartDate, EndDate]` (inclusive) for the asked `Category`, or for every
  voice category without one.

Lists page as Twilio's do: `PageSize` (default 50, at most 1000), `Page`, `PageToken`, and a
`next_page_uri` relative to the host that carries the filters. Auth is HTTP Basic with the account
SID and auth token, or an API key SID and secret; a wrong pair is Twilio's 401 (code 20003), an
account SID in the path that is not the authenticated one a 404 (code 20404).

The records agree with the calls by construction, which is what the provider's reconciliation
checks: a day's `calls` record counts every call leg started that day (failed ones too), its
`usage` is the sum of the legs' minutes (each rounded up to the whole minute) and its `price` the
sum of their prices (as positive totals; the calls carry them as negative strings). Each leg
falls in exactly one child category: `calls-inbound`, `calls-outbound`, `calls-client` or
`calls-sip`, so the children add up to `calls`.
"""

from __future__ import annotations

import base64
import hashlib
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode

from voice_usage.emulator import Emulator, EmulatorRequest, EmulatorResponse, json_response

__all__ = [
    "CATEGORY_RATES",
    "DEMO_ACCOUNT_SID",
    "DEMO_PHONE_NUMBER_SID",
    "EmulatedCall",
    "TwilioEmulator",
]

DEMO_ACCOUNT_SID = "AC0123456789abcdef0123456789abcdef"
"""The emulated account's SID (a placeholder of the right shape, not a real account)."""
DEMO_PHONE_NUMBER_SID = "PN0123456789abcdef0123456789abcdef"
"""The emulated account's one phone number."""

CATEGORY_RATES: Mapping[str, Decimal] = {
    "calls-inbound": Decimal("0.0085"),
    "calls-outbound": Decimal("0.014"),
    "calls-client": Decimal("0.004"),
    "calls-sip": Decimal("0.004"),
}
"""USD per minute the emulator charges each category (illustrative list prices)."""
_DESCRIPTIONS = {
    "calls": "Voice Minutes",
    "calls-inbound": "Inbound Voice Minutes",
    "calls-outbound": "Outbound Voice Minutes",
    "calls-client": "Client Voice Minutes",
    "calls-sip": "SIP Voice Minutes",
}
_FAILED = ("busy", "no-answer", "failed", "canceled")
_DEFAULT_PAGE_SIZE = 50
_MAX_PAGE_SIZE = 1000
_API = "/2010-04-01/Accounts/"


def _rfc2822(instant: datetime) -> str:
    return format_datetime(instant.astimezone(UTC))


def _money(amount: Decimal) -> str:
    return f"{amount:.5f}"


@dataclass(frozen=True)
class EmulatedCall:
    """One call leg of the emulated account."""

    sid: str
    category: str
    """The child of `calls` it is billed under."""
    direction: str
    status: str
    start: datetime
    seconds: int | None
    """`duration`; `None` when Twilio leaves it empty."""
    to: str
    from_: str

    @property
    def minutes(self) -> int:
        """Billed minutes: the duration rounded up to the whole minute."""
        return math.ceil((self.seconds or 0) / 60)

    @property
    def charge(self) -> Decimal:
        """What the leg costs, as a positive amount."""
        return self.minutes * CATEGORY_RATES[self.category]

    def to_json(self, account_sid: str, priced: bool) -> dict[str, Any]:
        """The call as the Calls list writes it (numbers as strings, RFC 2822 times)."""
        end = self.start + timedelta(seconds=self.seconds or 0)
        answered = self.status == "completed"
        return {
            "sid": self.sid,
            "account_sid": account_sid,
            "annotation": None,
            "answered_by": None,
            "api_version": "2010-04-01",
            "caller_name": None,
            "date_created": _rfc2822(self.start - timedelta(seconds=2)),
            "date_updated": _rfc2822(end),
            "direction": self.direction,
            "duration": None if self.seconds is None else str(self.seconds),
            "end_time": _rfc2822(end) if answered or self.seconds is not None else None,
            "forwarded_from": None,
            "from": self.from_,
            "from_formatted": self.from_,
            "group_sid": None,
            "parent_call_sid": None,
            "phone_number_sid": DEMO_PHONE_NUMBER_SID if self.direction == "inbound" else None,
            # Twilio writes a charge as a negative amount, and no amount before rating the call.
            "price": _money(-self.charge) if priced else None,
            "price_unit": "USD",
            "queue_time": "0",
            "start_time": _rfc2822(self.start),
            "status": self.status,
            "subresource_uris": {},
            "to": self.to,
            "to_formatted": self.to,
            "trunk_sid": None,
            "uri": f"{_API}{account_sid}/Calls/{self.sid}.json",
        }


class TwilioEmulator(Emulator):
    """Twilio's Usage Records and Calls list for one account.

    Args:
        auth_token: The account's auth token (HTTP Basic password with the account SID).
        account_sid: The account's SID.
        api_key: An API key SID accepted as Basic user name, with ``api_secret``.
        api_secret: That API key's secret.
        calls_per_day: Fewest and most call legs a day.
        unpriced_since: Calls started at or after this instant have no price yet (`null`).
        max_page_size: The largest `PageSize` honoured.
    """

    name = "twilio"

    def __init__(
        self,
        auth_token: str = "test-key",
        *,
        account_sid: str = DEMO_ACCOUNT_SID,
        api_key: str | None = None,
        api_secret: str | None = None,
        calls_per_day: tuple[int, int] = (4, 12),
        unpriced_since: datetime | None = None,
        max_page_size: int = _MAX_PAGE_SIZE,
    ) -> None:
        super().__init__(api_key=auth_token)
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.key_sid = api_key
        self.key_secret = api_secret
        self.calls_per_day = calls_per_day
        self.unpriced_since = unpriced_since
        self.max_page_size = max_page_size

    @property
    def credentials(self) -> dict[str, str]:
        """What a client needs to read this account, by credential name."""
        return {"account_sid": self.account_sid, "auth_token": self.auth_token}

    # -- data ------------------------------------------------------------------------------------

    def calls_on(self, day: date) -> list[EmulatedCall]:
        """The day's call legs, in start order."""
        rng = random.Random(f"twilio:{self.account_sid}:{day.isoformat()}")
        low, high = self.calls_per_day
        calls = []
        for index in range(rng.randint(low, high)):
            start = datetime.combine(day, time.min, UTC) + timedelta(
                seconds=rng.randrange(0, 86_400 - 3_600)
            )
            category = rng.choices(list(CATEGORY_RATES), weights=(55, 25, 8, 12))[0]
            status = rng.choices(["completed", *_FAILED], weights=(82, 6, 6, 3, 3))[0]
            if status == "completed":
                seconds: int | None = rng.choice((0, rng.randint(1, 59), rng.randint(60, 900)))
                seconds = seconds or 1  # Twilio rounds sub-second completed calls up to 1 s
            else:
                seconds = None if status == "failed" else 0
            digest = hashlib.sha256(f"{self.account_sid}{day}{index}".encode()).hexdigest()
            direction = "inbound" if category == "calls-inbound" else "outbound-api"
            if category == "calls-sip":
                direction = rng.choice(("inbound", "outbound-api"))
            # Our side of the leg: the account's number, a SIP endpoint or a Client identity.
            ours = {
                "calls-sip": "sip:agent@demo.sip.twilio.com",
                "calls-client": "client:agent",
            }.get(category, "+15555550100")
            caller = "+15555550123"
            to, from_ = (ours, caller) if direction == "inbound" else (caller, ours)
            calls.append(
                EmulatedCall(
                    sid=f"CA{digest[:32]}",
                    category=category,
                    direction=direction,
                    status=status,
                    start=start,
                    seconds=seconds,
                    to=to,
                    from_=from_,
                )
            )
        return sorted(calls, key=lambda call: call.start)

    def calls_between(self, first: date, last: date) -> list[EmulatedCall]:
        """Legs started on the days ``first`` to ``last``, inclusive, in start order."""
        calls: list[EmulatedCall] = []
        day = first
        while day <= last:
            calls.extend(self.calls_on(day))
            day += timedelta(days=1)
        return calls

    def priced(self, call: EmulatedCall) -> bool:
        """Whether the list shows a price for ``call`` yet."""
        return self.unpriced_since is None or call.start < self.unpriced_since

    def totals(self, calls: Iterable[EmulatedCall], category: str) -> tuple[int, int, Decimal]:
        """Count, minutes and price of ``calls`` in ``category`` (`calls` for all of them)."""
        chosen = [c for c in calls if category in ("calls", c.category)]
        return (
            len(chosen),
            sum(c.minutes for c in chosen),
            sum((c.charge for c in chosen), Decimal(0)),
        )

    # -- HTTP ------------------------------------------------------------------------------------

    def authorized(self, request: EmulatorRequest) -> bool:
        """HTTP Basic: the account SID and auth token, or the API key SID and its secret."""
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        pairs = {(self.account_sid, self.auth_token)}
        if self.key_sid and self.key_secret:
            pairs.add((self.key_sid, self.key_secret))
        return (user, password) in pairs

    def unauthorized(self, request: EmulatorRequest) -> EmulatorResponse:
        """Twilio's answer to a wrong account SID, token or key."""
        return _error(401, 20003, "Authenticate")

    def error(self, status: int, request: EmulatorRequest) -> EmulatorResponse:
        """Twilio's error body for a scripted status."""
        code = 20429 if status == 429 else 20500 if status >= 500 else 20000 + status
        return _error(status, code, "injected fault")

    def handle(self, request: EmulatorRequest) -> EmulatorResponse:
        """Answer the Calls list and the Usage Records lists."""
        if not request.path.startswith(_API):
            return _error(404, 20404, f"The requested resource {request.path} was not found")
        account, _, rest = request.path[len(_API) :].partition("/")
        if account != self.account_sid:
            return _error(404, 20404, f"The requested resource {request.path} was not found")
        try:
            if rest == "Calls.json":
                return self._calls(request)
            if rest == "Usage/Records/Daily.json":
                return self._usage(request, monthly=False)
            if rest == "Usage/Records/Monthly.json":
                return self._usage(request, monthly=True)
        except _BadParameter as exc:
            return _error(400, 20001, str(exc))
        return _error(404, 20404, f"The requested resource {request.path} was not found")

    def _calls(self, request: EmulatorRequest) -> EmulatorResponse:
        exact = _date_param(request, "StartTime")
        first = _date_param(request, "StartTime>") or exact
        last = _date_param(request, "StartTime<") or exact
        if first is None or last is None:
            raise _BadParameter("the emulator needs StartTime> and StartTime< (or StartTime)")
        calls = self.calls_between(first, last)
        calls.reverse()  # the list is most recent first
        filters = {k: v[-1] for k, v in request.query.items() if k.startswith("StartTime")}
        items = [c.to_json(self.account_sid, self.priced(c)) for c in calls]
        return self._page(request, "calls", items, filters)

    def _usage(self, request: EmulatorRequest, *, monthly: bool) -> EmulatorResponse:
        first = _date_param(request, "StartDate")
        last = _date_param(request, "EndDate")
        if first is None or last is None:
            raise _BadParameter("the emulator needs StartDate and EndDate")
        category = request.param("Category")
        categories: Sequence[str] = [category] if category else ["calls", *CATEGORY_RATES]
        for name in categories:
            if name not in _DESCRIPTIONS:
                raise _BadParameter(f"Category {name!r} is not a valid usage category")
        items = []
        for start, end in _periods(first, last, monthly):
            calls = self.calls_between(start, end)
            for name in categories:
                count, minutes, price = self.totals(calls, name)
                items.append(self._record(name, start, end, count, minutes, price, monthly))
        filters = {
            key: value
            for key, value in (
                ("Category", category),
                ("StartDate", first.isoformat()),
                ("EndDate", last.isoformat()),
                ("IncludeSubaccounts", request.param("IncludeSubaccounts")),
            )
            if value is not None
        }
        return self._page(request, "usage_records", items, filters)

    def _record(
        self,
        category: str,
        start: date,
        end: date,
        count: int,
        minutes: int,
        price: Decimal,
        monthly: bool,
    ) -> dict[str, Any]:
        kind = "Monthly" if monthly else "Daily"
        query = urlencode(
            {"Category": category, "StartDate": start.isoformat(), "EndDate": end.isoformat()}
        )
        return {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "as_of": f"{end.isoformat()}T23:59:59+00:00",
            "category": category,
            "count": str(count),
            "count_unit": "calls",
            "description": _DESCRIPTIONS[category],
            "end_date": end.isoformat(),
            "price": _money(price),
            "price_unit": "usd",
            "start_date": start.isoformat(),
            "subresource_uris": {},
            "uri": f"{_API}{self.account_sid}/Usage/Records/{kind}.json?{query}",
            "usage": str(minutes),
            "usage_unit": "minutes",
        }

    def _page(
        self,
        request: EmulatorRequest,
        key: str,
        items: list[dict[str, Any]],
        filters: Mapping[str, str],
    ) -> EmulatorResponse:
        size = _int_param(request, "PageSize", _DEFAULT_PAGE_SIZE)
        if size < 1:
            raise _BadParameter(f"PageSize must be at least 1, got {size}")
        size = min(size, self.max_page_size)
        page = _int_param(request, "Page", 0)
        if page > 0 and not request.param("PageToken"):
            raise _BadParameter("Page beyond the first needs the PageToken of next_page_uri")
        start = page * size
        chunk = items[start : start + size]
        base = request.path

        def uri(number: int) -> str:
            params: dict[str, Any] = {**filters, "PageSize": size, "Page": number}
            if number > 0:
                params["PageToken"] = (
                    f"PA{hashlib.sha256(f'{base}{number}'.encode()).hexdigest()[:32]}"
                )
            return f"{base}?{urlencode(params)}"

        more = start + size < len(items)
        return json_response(
            {
                key: chunk,
                "end": start + max(len(chunk), 1) - 1,
                "first_page_uri": uri(0),
                "next_page_uri": uri(page + 1) if more else None,
                "page": page,
                "page_size": size,
                "previous_page_uri": uri(page - 1) if page > 0 else None,
                "start": start,
                "uri": uri(page),
            }
        )


class _BadParameter(ValueError):
    pass


def _error(status: int, code: int, message: str) -> EmulatorResponse:
    return json_response(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        status,
    )


def _date_param(request: EmulatorRequest, name: str) -> date | None:
    value = request.param(name)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _BadParameter(f"Invalid {name}: {value!r} is not a YYYY-MM-DD date") from None


def _int_param(request: EmulatorRequest, name: str, default: int) -> int:
    value = request.param(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise _BadParameter(f"Invalid {name}: {value!r} is not a whole number") from None


def _periods(first: date, last: date, monthly: bool) -> list[tuple[date, date]]:
    """`(start, end)` days, both inclusive: each day, or each calendar month clipped to the range."""
    periods = []
    start = first
    while start <= last:
        if monthly:
            following = (start.replace(day=1) + timedelta(days=32)).replace(day=1)
            end = min(following - timedelta(days=1), last)
        else:
            end = start
        periods.append((start, end))
        start = end + timedelta(days=1)
    return periods
