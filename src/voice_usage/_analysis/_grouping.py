"""Grouping records: one window record per provider and day, month, agent or number.

Shared by `fetch --group-by`, `compare` (one row per group) and the demo. `fetch_granularity` says
which granularity to ask a provider for so that its records can be grouped a given way.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from enum import StrEnum

from voice_usage._engine._provider import Provider
from voice_usage._exceptions import ConfigurationError
from voice_usage._rollup import Totals, rollup
from voice_usage._schema import Granularity, UsageRecord

__all__ = ["GroupBy", "fetch_granularity", "group_key", "group_records", "key_order"]


class GroupBy(StrEnum):
    """How records are grouped into rows."""

    PROVIDER = "provider"
    """One row per provider over the whole period."""
    DAY = "day"
    """One row per provider and UTC day."""
    MONTH = "month"
    """One row per provider and UTC month."""
    AGENT = "agent"
    """One row per provider and agent (records without an agent form their own row)."""
    NUMBER = "number"
    """One row per provider and phone number."""

    @classmethod
    def parse(cls, value: GroupBy | str) -> GroupBy:
        """``value`` as a `GroupBy`.

        Raises:
            ConfigurationError: naming the argument `group_by` and the choices, for another value.
        """
        try:
            return cls(value)
        except ValueError:
            choices = ", ".join(member.value for member in cls)
            raise ConfigurationError(
                f"group_by must be one of {choices}, got {value!r}", argument="group_by"
            ) from None


def group_key(record: UsageRecord, by: GroupBy) -> str | None:
    """The group ``record`` belongs to: a day (`2026-10-01`), a month (`2026-10`), an id, or None."""
    if by is GroupBy.DAY:
        return record.period_start.date().isoformat()
    if by is GroupBy.MONTH:
        return record.period_start.strftime("%Y-%m")
    if by is GroupBy.AGENT:
        return record.agent_id
    if by is GroupBy.NUMBER:
        return record.number_id
    return None


def fetch_granularity(
    provider: Provider, by: GroupBy, options: Mapping[str, str] | None = None
) -> Granularity:
    """The granularity to ask ``provider`` for so that records can be grouped ``by``.

    The provider's own records are asked for, never a core roll-up, so records stream (and
    progress shows) as pages arrive: the coarsest granularity the vendor reports that is at least
    as fine as a day (grouping by day) or a month (by month or over the whole period). Agents and
    numbers need the finest records the vendor has, since windows merge agents.
    """
    capabilities = provider.capabilities
    reported = capabilities.reported(options)
    if not reported:
        return Granularity.CALL
    if by in (GroupBy.AGENT, GroupBy.NUMBER):
        return min(reported, key=lambda g: g.rank)
    wanted = Granularity.DAY if by is GroupBy.DAY else Granularity.MONTH
    # None: the provider refuses ``wanted`` with a clear UnsupportedQueryError when fetched.
    return capabilities.native(wanted, options) or wanted


def key_order(key: str | None) -> tuple[bool, str]:
    """Sort key for group keys: named groups in order, then the records without one."""
    return (key is None, key or "")


def group_records(
    records: Iterable[UsageRecord],
    by: GroupBy | str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Iterator[UsageRecord]:
    """One `window` record per provider, account, metered item and group of ``by``.

    Days and months are UTC windows clipped to `[since, until)`; agent, number and provider groups
    span `[since, until)` (or the records' own extent when not given). Memory grows with the
    number of groups, not records.
    """
    by = GroupBy.parse(by)
    if by is GroupBy.DAY:
        yield from rollup(records, Granularity.DAY, since=since, until=until)
        return
    if by is GroupBy.MONTH:
        yield from rollup(records, Granularity.MONTH, since=since, until=until)
        return
    groups: dict[tuple[str, str | None, str, str | None], Totals] = {}
    for record in records:
        key = (record.provider, record.account, record.item, group_key(record, by))
        totals = groups.get(key)
        if totals is None:
            totals = groups[key] = Totals()
        totals.add(record)
    for (provider, account, item, _), totals in sorted(
        groups.items(),
        key=lambda kv: (kv[0][0], kv[0][1] or "", key_order(kv[0][3]), kv[0][2]),
    ):
        assert totals.first_start is not None and totals.last_end is not None
        start = since or totals.first_start
        end = until or totals.last_end
        yield totals.to_record(provider, start, end, account=account, item=item)
