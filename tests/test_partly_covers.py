"""Rows whose calls pay for different parts: what every call covers, what only some do, and an
assumed price added only to the minutes of the calls that lack the part.

Figures worked out by hand (below), apart from the code.

`mixed` (USD, one day), as a Vapi day looks: calls on Vapi's own number pay for the line, calls on
the user's own carrier number do not, an unanswered call costs nothing, one call came without a
split.

    call  seconds  cost  covers                          components
    A       120    0.30  platform telephony stt llm tts  transport 0.02 vapi 0.10 transcriber 0.05
                                                         model 0.08 voice 0.05
    B       300    0.60  platform stt llm tts            transport 0 vapi 0.25 transcriber 0.10
                                                         model 0.15 voice 0.10
    C         0    0     nothing (never answered)        vapi 0
    D        60    0.20  platform stt llm tts            none (did not add up)

- cost 1.10; duration 480 s = 8 min.
- covers on all the call time: platform, stt, llm, tts. C has no call time, so it needs no part.
- telephony on part of it: A pays for it; B and D (360 s = 6 min) go without it.
- components: transport 0.02 + 0 = 0.02; vapi 0.10 + 0.25 + 0 = 0.35; transcriber 0.15;
  model 0.23; voice 0.15; D's 0.20 unitemized: 0.02 + 0.35 + 0.15 + 0.23 + 0.15 + 0.20 = 1.10.
- `--add-cost telephony=USD:0.01`: 6 min x 0.01 = 0.06 (not 8 min x 0.01 = 0.08, which would
  charge A's line twice). All-in 1.10 + 0.06 = 1.16, 0.145 a minute.

`bare` (USD): one call of 240 s = 4 min, cost 0.40, covering platform, stt, llm, tts: nothing
covers telephony, so the price goes on all 4 min: 0.04; all-in 0.44, 0.11 a minute.
"""

from __future__ import annotations

import csv
import html
import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from voice_usage import (
    CallPart,
    CostSource,
    Grain,
    Granularity,
    Totals,
    UsageRecord,
    compare,
    rollup,
)
from voice_usage._analysis._comparison import Comparison
from voice_usage._outputs._page import ReportFigures, render_page
from voice_usage.cli._render import print_comparison
from voice_usage.testing import RecordsProvider

KEY = "test-key"
SINCE = datetime(2026, 10, 1, tzinfo=UTC)
UNTIL = datetime(2026, 11, 1, tzinfo=UTC)
ALL = tuple(CallPart)
PIPELINE = (CallPart.PLATFORM, CallPart.STT, CallPart.LLM, CallPart.TTS)


def call(
    provider: str,
    hour: int,
    seconds: int | None,
    cost: str,
    parts: tuple[CallPart, ...] | None,
    components: dict[str, str] | None,
) -> UsageRecord:
    start = datetime(2026, 10, 2, hour, tzinfo=UTC)
    return UsageRecord(
        provider=provider,
        grain=Grain.EVENT,
        period_start=start,
        period_end=start + timedelta(seconds=max(seconds or 0, 1)),
        calls=1,
        failed_calls=0,
        duration_seconds=None if seconds is None else Decimal(seconds),
        cost=Decimal(cost),
        currency="USD",
        cost_source=CostSource.REPORTED,
        cost_covers=parts,
        cost_components=None
        if components is None
        else {name: Decimal(amount) for name, amount in components.items()},
        call_id=f"{provider}-{hour}",
    )


SPLIT_A = {"transport": "0.02", "vapi": "0.10", "transcriber": "0.05", "model": "0.08",
           "voice": "0.05"}  # fmt: skip
SPLIT_B = {"transport": "0", "vapi": "0.25", "transcriber": "0.10", "model": "0.15",
           "voice": "0.10"}  # fmt: skip
MIXED = [
    call("mixed", 9, 120, "0.30", ALL, SPLIT_A),
    call("mixed", 10, 300, "0.60", PIPELINE, SPLIT_B),
    call("mixed", 11, 0, "0", (), {"vapi": "0"}),
    call("mixed", 12, 60, "0.20", PIPELINE, None),
]
BARE = [call("bare", 9, 240, "0.40", PIPELINE, {"fee": "0.40"})]


def run(*providers: RecordsProvider, add_cost: tuple[str, ...] = ()) -> Comparison:
    options = {p.name: {"api_key": KEY, "transport": p.transport(KEY)} for p in providers}
    return compare(list(providers), SINCE, UNTIL, connect_options=options, add_cost=add_cost)


def test_a_roll_up_keeps_what_every_call_covers_apart_from_what_some_do():
    [day] = rollup(MIXED, Granularity.DAY)
    assert day.cost == Decimal("1.10") and day.duration_seconds == Decimal(480)
    assert day.cost_covers == PIPELINE
    assert day.extras == {"partly_covers": {"telephony": "6.000000"}}
    assert day.cost_components == {
        "transport": Decimal("0.02"),
        "vapi": Decimal("0.35"),
        "transcriber": Decimal("0.15"),
        "model": Decimal("0.23"),
        "voice": Decimal("0.15"),
        "unitemized": Decimal("0.20"),
    }
    assert sum(day.cost_components.values()) == day.cost


def test_calls_that_all_cover_a_part_make_no_partial_and_no_unitemized_item():
    [day] = rollup([MIXED[0], MIXED[2]], Granularity.DAY)  # A and the unanswered C
    assert day.cost_covers == ALL and day.extras == {}
    assert day.cost_components is not None and "unitemized" not in day.cost_components
    # Only calls of no call time: nothing is covered on every call, and nothing in part.
    totals = Totals()
    totals.add(MIXED[2])
    assert totals.covers == frozenset() and totals.coverage.partly == {}


def test_a_call_that_does_not_say_what_it_covers_leaves_the_roll_up_unknown():
    unknown = call("mixed", 13, 30, "0.05", None, {"vapi": "0.05"})
    [day] = rollup([*MIXED, unknown], Granularity.DAY)
    assert day.cost_covers is None and day.extras == {}


def test_a_split_absent_from_the_first_calls_is_still_summed_exactly():
    # D (no split) first: its cost is unitemized once a call with a split comes.
    [day] = rollup([MIXED[3], MIXED[0]], Granularity.DAY)
    assert day.cost_components == {
        "unitemized": Decimal("0.20"),
        **{name: Decimal(amount) for name, amount in SPLIT_A.items()},
    }
    # No call with a split at all: no split, not a made-up one.
    [only] = rollup([MIXED[3]], Granularity.DAY)
    assert only.cost_components is None


def test_compare_adds_an_assumed_part_only_to_the_minutes_without_it():
    result = run(
        RecordsProvider(MIXED, name="mixed"),
        RecordsProvider(BARE, name="bare"),
        add_cost=("telephony=USD:0.01",),
    )
    mixed, bare = result.row("mixed"), result.row("bare")
    assert mixed.cost == Decimal("1.10") and mixed.duration_seconds == Decimal(480)
    assert mixed.cost_covers == ("platform", "stt", "llm", "tts")
    assert mixed.partly_covers == {"telephony": Decimal("6")}
    [assumed] = mixed.assumed
    assert (assumed["part"], assumed["partly_covered"]) == ("telephony", True)
    assert (Decimal(assumed["minutes"]), Decimal(assumed["cost"])) == (6, Decimal("0.06"))
    assert mixed.gaps == () and mixed.all_in_cost == Decimal("1.16")
    assert mixed.all_in_per_minute == Decimal("0.145")
    # Nothing of `bare` pays for the line: the price goes on all its minutes.
    [plain] = bare.assumed
    assert (plain["partly_covered"], Decimal(plain["minutes"])) == (False, 4)
    assert bare.all_in_cost == Decimal("0.44") and bare.all_in_per_minute == Decimal("0.11")
    assert result.notes[-1] == (
        "covers: mixed: platform, stt, llm, tts, and telephony on part of the calls; "
        "bare: platform, stt, llm, tts"
    )


def test_without_a_price_the_gap_names_the_minutes_without_the_part():
    result = run(RecordsProvider(MIXED, name="mixed"), RecordsProvider(BARE, name="bare"))
    mixed = result.row("mixed")
    assert mixed.gaps == ("telephony",) and mixed.all_in_cost is None
    assert mixed.unknown["all_in_cost"] == (
        "no price for telephony on 6.0 of 8.0 min (add one with --add-cost)"
    )
    assert "not like for like: mixed: no telephony on 6.0 of 8.0 min; bare: no telephony" in (
        result.notes
    )


def test_a_call_of_unknown_duration_without_the_part_leaves_the_all_in_unknown():
    unknown = call("mixed", 13, None, "0.05", PIPELINE, {"vapi": "0.05"})
    result = run(RecordsProvider([*MIXED, unknown], name="mixed"), add_cost=("telephony=USD:0.01",))
    row = result.row("mixed")
    assert row.partly_covers == {"telephony": None} and row.all_in_cost is None
    assert row.unknown["all_in_cost"] == (
        "telephony is assumed per minute, and the duration of the calls without it is unknown"
    )


def test_json_csv_and_the_report_say_it():
    result = run(
        RecordsProvider(MIXED, name="mixed"),
        RecordsProvider(BARE, name="bare"),
        add_cost=("telephony=USD:0.01",),
    )
    out = io.StringIO()
    print_comparison(result, "json", out)
    rows = {row["provider"]: row for row in json.loads(out.getvalue())["rows"]}
    assert rows["mixed"]["partly_covers"] == {"telephony": "6.000000"}
    assert rows["bare"]["partly_covers"] == {}
    assert rows["mixed"]["all_in_cost"] == "1.160000"
    out = io.StringIO()
    print_comparison(result, "csv", out)
    table = {row["provider"]: row for row in csv.DictReader(io.StringIO(out.getvalue()))}
    assert table["mixed"]["cost_covers"] == "platform,stt,llm,tts"
    assert json.loads(table["mixed"]["partly_covers"]) == {"telephony": "6.000000"}
    page = html.unescape(render_page(ReportFigures(overall=result, timeline=result)))
    assert "platform, stt, llm, tts; on part of the calls: telephony (6 min without)" in page
    assert "telephony at 0.01 USD/min on the 6.000000 min without it" in page
    assert "Covers: mixed: platform, stt, llm, tts, and telephony on part of the calls; " in page
    assert "Not like for like" not in page  # every gap was priced


def test_a_stack_says_a_part_one_member_pays_on_some_calls_and_another_on_all_is_paid_twice():
    # `line` carries the same 8 minutes and pays for the phone line on all of them; `mixed`
    # pays for it on A's 2 minutes too: those are paid twice, so the stack has no all-in figure.
    line = [call("line", 9, 480, "0.048", (CallPart.TELEPHONY,), {"minutes": "0.048"})]
    providers = [RecordsProvider(MIXED, name="mixed"), RecordsProvider(line, name="line")]
    options = {p.name: {"api_key": KEY, "transport": p.transport(KEY)} for p in providers}
    result = compare(providers, SINCE, UNTIL, connect_options=options, stacks=["mixed+line"])
    (stack,) = result.stacks
    assert stack.cost == Decimal("1.148") and stack.cost_covers == tuple(p.value for p in ALL)
    assert stack.partly_covers == {} and stack.double_counted == ("telephony",)
    assert stack.all_in_cost is None
    assert stack.unknown["all_in_cost"].startswith(
        "paid twice in the sum: telephony by mixed (some calls) and line"
    )
    # With `bare` under it instead, nobody pays for the line twice: the stack pays for it on
    # part of the calls, with the 6 minutes `mixed` goes without it.
    providers = [RecordsProvider(MIXED, name="mixed"), RecordsProvider(BARE, name="bare")]
    options = {p.name: {"api_key": KEY, "transport": p.transport(KEY)} for p in providers}
    result = compare(providers, SINCE, UNTIL, connect_options=options, stacks=["mixed+bare"])
    (stack,) = result.stacks
    assert stack.cost_covers == ("platform", "stt", "llm", "tts")
    assert stack.partly_covers == {"telephony": Decimal("6")}
    assert stack.double_counted == ("platform", "stt", "llm", "tts")  # both pay the pipeline
