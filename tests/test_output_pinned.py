"""The exact bytes of JSON Lines, JSON and CSV output, written out by hand from the formats' rules.

Three records cover every kind of field: unknown values (`None`), Decimals with many digits and
with exponents (`1E-9`, `0E-8`, a vendor's `-0.0` made `0.0`), times with and without
microseconds and given in another zone, enums, line items with non-ASCII and quoted names, an
empty split and an empty `cost_covers`, booleans, vendor text with quotes, commas, a line
break, an escape sequence and a bidirectional override, text that starts like a spreadsheet
formula (and a plain figure that does not count as one), and extras of every JSON kind.

The rules: JSON is compact, in field order, UTF-8 (non-ASCII as it is), control characters
escaped (`\\n`, `\\t`, `\\u001b`), Decimals as strings in their own notation, times as ISO 8601
UTC with `Z`, extras in their own order. CSV: the header, then one row a record; unknown is an
empty cell; line items and extras as `json.dumps(..., sort_keys=True)` (ASCII, `", "` and
`": "`); `cost_covers` comma-separated; `true`/`false`; vendor text with control characters
but tab and line feed shown as escapes, and a leading `'` where it starts like a formula
(`=`, `+`, `-`, `@`, tab) and is not a plain figure; cells quoted only when they hold a comma,
a quote or a line break, quotes doubled.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from voice_usage import Grain, UsageRecord
from voice_usage._outputs._serialize import write_csv, write_json, write_jsonl

PLUS_TWO = timezone(timedelta(hours=2))

RECORDS = [
    UsageRecord(
        provider="flireo",
        grain="event",
        period_start=datetime(2026, 10, 1, tzinfo=UTC),
        period_end=datetime(2026, 10, 1, 0, 0, 1, 500000, tzinfo=UTC),
    ),
    UsageRecord(
        provider="flireo",
        account='Acme "Ops", Zürich',
        grain="window",
        period_start=datetime(2026, 10, 1, tzinfo=UTC),
        period_end=datetime(2026, 11, 1, 0, 0, 0, 1, tzinfo=UTC),
        calls=3,
        failed_calls=0,
        connected_calls=2,
        duration_seconds=Decimal("1E-9"),
        billed_minutes=Decimal("0E-8"),
        cost=Decimal("12345.678901234567890123"),
        currency="EUR",
        cost_source="rate_card",
        cost_note="=SUM(A1) \x1b[2J\u202e line\nbreak",
        rate_card="flireo/call@2026-01-01",
        cost_components={
            'télé"com': Decimal("0.25"),
            "model": Decimal("12345.428901234567890123"),
        },
        cost_covers=["telephony", "platform"],
        cost_estimate=True,
        item="sip",
        agent_id="-agent",
        number_id="+31 20 123",
        call_id="@call,1",
        extras={
            "zeta": None,
            "alpha": 'ünï "q"',
            "n": 3,
            "flag": True,
            "half": 0.5,
            "nested": {"b": [1, "x"], "a": Decimal("1E-9")},
        },
    ),
    UsageRecord(
        provider="ultravox",
        grain="event",
        period_start=datetime(2026, 10, 1, 2, 0, tzinfo=PLUS_TWO),
        period_end=datetime(2026, 10, 1, 2, 0, 7, 250000, tzinfo=PLUS_TWO),
        calls=1,
        duration_seconds=Decimal("7.250"),
        billed_minutes=Decimal("1"),
        cost=Decimal("-0.0"),
        currency="USD",
        cost_source="reported",
        cost_components={},
        cost_covers=[],
        agent_id="\t tab",
        call_id="-0.5",
    ),
]

JSONL = (
    '{"provider":"flireo","account":null,"grain":"event",'
    '"period_start":"2026-10-01T00:00:00Z","period_end":"2026-10-01T00:00:01.500000Z",'
    '"calls":null,"failed_calls":null,"connected_calls":null,"duration_seconds":null,'
    '"billed_minutes":null,"cost":null,"currency":null,"cost_source":null,"cost_note":null,'
    '"rate_card":null,"cost_components":null,"cost_covers":null,"cost_estimate":false,'
    '"item":"call","agent_id":null,"number_id":null,"call_id":null,"extras":{}}\n'
    '{"provider":"flireo","account":"Acme \\"Ops\\", Zürich","grain":"window",'
    '"period_start":"2026-10-01T00:00:00Z","period_end":"2026-11-01T00:00:00.000001Z",'
    '"calls":3,"failed_calls":0,"connected_calls":2,"duration_seconds":"1E-9",'
    '"billed_minutes":"0E-8","cost":"12345.678901234567890123","currency":"EUR",'
    '"cost_source":"rate_card","cost_note":"=SUM(A1) \\u001b[2J\u202e line\\nbreak",'
    '"rate_card":"flireo/call@2026-01-01",'
    '"cost_components":{"télé\\"com":"0.25","model":"12345.428901234567890123"},'
    '"cost_covers":["platform","telephony"],"cost_estimate":true,"item":"sip",'
    '"agent_id":"-agent","number_id":"+31 20 123","call_id":"@call,1",'
    '"extras":{"zeta":null,"alpha":"ünï \\"q\\"","n":3,"flag":true,"half":0.5,'
    '"nested":{"b":[1,"x"],"a":"1E-9"}}}\n'
    '{"provider":"ultravox","account":null,"grain":"event",'
    '"period_start":"2026-10-01T00:00:00Z","period_end":"2026-10-01T00:00:07.250000Z",'
    '"calls":1,"failed_calls":null,"connected_calls":null,"duration_seconds":"7.250",'
    '"billed_minutes":"1","cost":"0.0","currency":"USD","cost_source":"reported",'
    '"cost_note":null,"rate_card":null,"cost_components":{},"cost_covers":[],'
    '"cost_estimate":false,"item":"call","agent_id":"\\t tab","number_id":null,'
    '"call_id":"-0.5","extras":{}}\n'
)

CSV = (
    "provider,account,grain,period_start,period_end,calls,failed_calls,connected_calls,"
    "duration_seconds,billed_minutes,cost,currency,cost_source,cost_note,rate_card,"
    "cost_components,cost_covers,cost_estimate,item,agent_id,number_id,call_id,extras\n"
    # provider .. period_end, then 12 empty cells (calls .. cost_covers), false, call, 4 empty
    "flireo,,event,2026-10-01T00:00:00Z,2026-10-01T00:00:01.500000Z,"
    ",,,,,,,,,,,,false,call,,,,\n"
    'flireo,"Acme ""Ops"", Zürich",window,2026-10-01T00:00:00Z,2026-11-01T00:00:00.000001Z,'
    "3,0,2,1E-9,0E-8,12345.678901234567890123,EUR,rate_card,"
    '"\'=SUM(A1) \\x1b[2J\\u202e line\nbreak",flireo/call@2026-01-01,'
    '"{""model"": ""12345.428901234567890123"", ""t\\u00e9l\\u00e9\\""com"": ""0.25""}",'
    '"platform,telephony",true,sip,\'-agent,\'+31 20 123,"\'@call,1",'
    '"{""alpha"": ""\\u00fcn\\u00ef \\""q\\"""", ""flag"": true, ""half"": 0.5, ""n"": 3, '
    '""nested"": {""a"": ""1E-9"", ""b"": [1, ""x""]}, ""zeta"": null}"\n'
    "ultravox,,event,2026-10-01T00:00:00Z,2026-10-01T00:00:07.250000Z,"
    "1,,,7.250,1,0.0,USD,reported,,,{},,false,call,'\t tab,,-0.5,\n"
)


def test_jsonl_bytes_are_pinned():
    out = io.StringIO()
    assert write_jsonl(RECORDS, out) == 3
    assert out.getvalue() == JSONL


def test_json_array_bytes_are_pinned():
    out = io.StringIO()
    assert write_json(RECORDS, out) == 3
    lines = JSONL.rstrip("\n").split("\n")  # JSON strings may hold other line breaks
    assert out.getvalue() == "[\n  " + ",\n  ".join(lines) + "\n]\n"
    empty = io.StringIO()
    assert write_json([], empty) == 0
    assert empty.getvalue() == "[]\n"


def test_csv_bytes_are_pinned():
    out = io.StringIO()
    assert write_csv(RECORDS, out) == 3
    assert out.getvalue() == CSV


def test_an_empty_csv_is_its_header():
    out = io.StringIO()
    assert write_csv([], out) == 0
    assert out.getvalue() == CSV.split("\n", 1)[0] + "\n"


# Rows written directly: values that repeat from one record to the next are written once and
# reused, so each record below changes some of them and the third goes back to the first's.
# The fourth, built without validation, holds UTC under other zone objects and a year before 1000.
NOTE = 'a,"b" ü\x7f'  # a comma, quotes, non-ASCII and DEL in a record's only extra
RUNS = [
    UsageRecord(
        provider="flireo",
        grain="event",
        period_start=datetime(2026, 10, 1, tzinfo=UTC),
        period_end=datetime(2026, 10, 1, 0, 0, 0, 10, tzinfo=UTC),
        calls=1,
        cost=Decimal("0.5"),
        currency="EUR",
        cost_source="reported",
        cost_covers=["platform"],
        call_id='x"y',
        extras={"note": NOTE},
    ),
    UsageRecord(
        provider="flireo",
        account="acme",
        grain="event",
        period_start=datetime(2026, 10, 1, tzinfo=UTC),
        period_end=datetime(2026, 10, 1, 0, 0, 0, 10, tzinfo=UTC),
        calls=1,
        cost=Decimal("0.5"),
        currency="USD",
        cost_source="reported",
        cost_covers=["platform"],
        agent_id="=a",
        call_id='x"y',
        extras={"note": NOTE},
    ),
    UsageRecord(
        provider="flireo",
        grain="event",
        period_start=datetime(2026, 10, 1, tzinfo=UTC),
        period_end=datetime(2026, 10, 1, 0, 0, 0, 10, tzinfo=UTC),
        calls=1,
        cost=Decimal("0.5"),
        currency="EUR",
        cost_source="reported",
        cost_covers=["platform"],
        call_id="",
    ),
    UsageRecord.model_construct(
        provider="ultravox",
        grain=Grain.EVENT,
        period_start=datetime(999, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(0), "UTC")),
        period_end=datetime(2026, 1, 1, tzinfo=ZoneInfo("UTC")),
    ),
]

RUNS_CSV = (
    CSV.split("\n", 1)[0] + "\n"
    "flireo,,event,2026-10-01T00:00:00Z,2026-10-01T00:00:00.000010Z,1,,,,,0.5,EUR,reported,,,,"
    'platform,false,call,,,"x""y","{""note"": ""a,\\""b\\"" \\u00fc\\u007f""}"\n'
    "flireo,acme,event,2026-10-01T00:00:00Z,2026-10-01T00:00:00.000010Z,1,,,,,0.5,USD,reported,,,,"
    'platform,false,call,\'=a,,"x""y","{""note"": ""a,\\""b\\"" \\u00fc\\u007f""}"\n'
    "flireo,,event,2026-10-01T00:00:00Z,2026-10-01T00:00:00.000010Z,1,,,,,0.5,EUR,reported,,,,"
    "platform,false,call,,,,\n"
    "ultravox,,event,0999-01-02T03:04:05Z,2026-01-01T00:00:00Z,,,,,,,,,,,,,false,call,,,,\n"
)

RUNS_JSONL_FIRST = (
    '{"provider":"flireo","account":null,"grain":"event",'
    '"period_start":"2026-10-01T00:00:00Z","period_end":"2026-10-01T00:00:00.000010Z",'
    '"calls":1,"failed_calls":null,"connected_calls":null,"duration_seconds":null,'
    '"billed_minutes":null,"cost":"0.5","currency":"EUR","cost_source":"reported",'
    '"cost_note":null,"rate_card":null,"cost_components":null,"cost_covers":["platform"],'
    '"cost_estimate":false,"item":"call","agent_id":null,"number_id":null,"call_id":"x\\"y",'
    '"extras":{"note":"a,\\"b\\" ü\x7f"}}\n'
)
RUNS_JSONL_LAST = (
    '{"provider":"ultravox","account":null,"grain":"event",'
    '"period_start":"0999-01-02T03:04:05Z","period_end":"2026-01-01T00:00:00Z",'
    '"calls":null,"failed_calls":null,"connected_calls":null,"duration_seconds":null,'
    '"billed_minutes":null,"cost":null,"currency":null,"cost_source":null,"cost_note":null,'
    '"rate_card":null,"cost_components":null,"cost_covers":null,"cost_estimate":false,'
    '"item":"call","agent_id":null,"number_id":null,"call_id":null,"extras":{}}\n'
)


def test_csv_rows_where_repeating_values_change_are_pinned():
    out = io.StringIO()
    assert write_csv(RUNS, out) == 4
    assert out.getvalue() == RUNS_CSV


def test_jsonl_of_other_utc_zones_and_a_single_extra_is_pinned():
    out = io.StringIO()
    assert write_jsonl([RUNS[0], RUNS[3]], out) == 2
    assert out.getvalue() == RUNS_JSONL_FIRST + RUNS_JSONL_LAST
