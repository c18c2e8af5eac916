"""Run every benchmark and print one table: `python -m benchmarks.run` (or `uv run ...`).

`--quick` uses fewer repetitions. Medians are of runs alternated in one process where a
comparison is made, since the machines are shared and noisy: compare ratios, not absolute times.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time

from benchmarks import (
    bench_accounts,
    bench_budget,
    bench_cli_output,
    bench_compare,
    bench_fetch,
    bench_memory,
    bench_normalize,
    bench_peers,
    bench_startup,
    bench_store,
)
from benchmarks._common import machine_speed, table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    runs = 3 if args.quick else 5
    started = time.perf_counter()
    print(
        f"python {platform.python_version()} on {platform.machine()}, {platform.system()}",
        file=sys.stderr,
    )

    rows: list[tuple[str, ...]] = []
    speed_before = machine_speed()

    fetch = bench_fetch.run(runs=runs, hand_runs=2 if args.quick else 3)
    rows.append(
        (
            "1. fetch 200,000 Flireo logs, 50 ms latency",
            f"voice-usage {fetch['voice_usage_s']:.2f} s; hand loop {fetch['hand_loop_s']:.2f} s; "
            f"ideal {fetch['ideal_s']:.2f} s",
            f"{fetch['speedup_vs_hand']:.1f}x faster than the loop; {fetch['vs_ideal']:.2f}x the ideal",
            ">= 5x; <= 1.5x",
        )
    )

    for result in bench_normalize.run(runs=runs + 2):
        rows.append(
            (
                f"2. normalize Flireo pages, shape ({result['shape']})",
                f"{result['records_per_s']:,.0f} records/s "
                f"({result['normalize_s'] * 1e6 / result['records']:.1f} us each); "
                f"json.loads {result['json_loads_s'] * 1e6 / result['records']:.1f} us",
                f"{result['ratio']:.1f}x json.loads; "
                + ("guard holds" if result["holds"] else "guard BROKEN"),
                f"guard: <= {result['guard']:g}x",
            )
        )

    memory = bench_memory.run()
    small, large = memory[0], memory[-1]
    rows.append(
        (
            "3. peak RSS of compare",
            f"{small['records']:,}: {small['peak_rss_mb']:.0f} MB; "
            f"{large['records']:,}: {large['peak_rss_mb']:.0f} MB "
            f"(imports alone {small['imports_only_mb']:.0f} MB)",
            f"{(large['peak_rss_mb'] / small['peak_rss_mb'] - 1) * 100:+.0f}% from 100k to 1M",
            "< 200 MB; within 25%",
        )
    )

    compare = bench_compare.run(runs=runs)
    rows.append(
        (
            "4. compare 3 providers, 100 ms latency",
            f"concurrent {compare['concurrent_s']:.2f} s; one after another "
            f"{compare['sequential_s']:.2f} s; slowest alone {compare['slowest_single_s']:.2f} s",
            f"{compare['concurrent_vs_slowest']:.2f}x the slowest provider",
            "close to the slowest",
        )
    )

    for result in bench_budget.run(runs=2 if args.quick else 3):
        rows.append(
            (
                "5. 100 pages under a budget of 20 requests / 2 s, "
                + ("with X-RateLimit headers" if result["headers"] else "no headers"),
                f"{result['took_s']:.2f} s; budget bound {result['bound_s']:.2f} s; "
                f"{result['throttled']} answers of 429 in {result['runs']} runs",
                f"{result['vs_bound']:.2f}x the bound",
                "<= 1.1x; no 429",
            )
        )

    output = bench_cli_output.run(runs=runs)
    for name in ("jsonl", "csv"):
        rows.append(
            (
                f"6. CLI fetch --format {name} vs the library, 200,000 logs",
                f"CLI {output[f'{name}_wall_s']:.2f} s wall, {output[f'{name}_cpu_s']:.2f} s CPU; "
                f"library {output['library_wall_s']:.2f} s, {output['library_cpu_s']:.2f} s CPU",
                f"{output[f'{name}_vs_library']:.2f}x the library "
                f"({output[f'{name}_cpu_vs_library']:.2f}x its CPU; the writer alone "
                f"{output[f'{name}_writer_cpu_us_per_record']:.1f} us a record, the library "
                f"{output['library_cpu_us_per_record']:.1f})",
                "<= 1.25x",
            )
        )

    startup = bench_startup.run(runs=5 if args.quick else 10)
    floor = startup["medians_s"]["python -c pass"]
    targets = {"--version": 0.150, "--help": 0.150, "providers": 0.300}
    for name, seconds in startup["medians_s"].items():
        if name == "python -c pass":
            continue
        target = targets[name.split()[-1]]
        rows.append(
            (
                f"7. start-up: {name}",
                f"{seconds * 1000:.0f} ms; python -c pass {floor * 1000:.0f} ms",
                f"{(seconds - floor) * 1000:.0f} ms more than an empty interpreter",
                f"< {target * 1000:.0f} ms",
            )
        )
    breakdown = "; ".join(
        f"{module} {total:.0f} ms" for module, _, total in startup["breakdown"][:6]
    )
    rows.append((f"7. where {startup['slowest']} spends its imports", breakdown, "", ""))

    peers = bench_peers.run(runs=runs)
    for peer in peers["rows"]:
        rows.append(
            (
                f"8. the same fetch: {peer['name']}",
                f"{peer['wall_s']:.2f} s wall, {peer['cpu_s']:.2f} s CPU",
                f"{peer['wall_vs_ours']:.2f}x our wall, {peer['cpu_vs_ours']:.2f}x our CPU",
                "async loop: ours within 1.2x of its wall" if "async" in peer["name"] else "",
            )
        )
    for name, why in peers["skipped"].items():
        rows.append((f"8. the same fetch: {name}", f"skipped: {why}", "", ""))

    store = bench_store.run(quick=args.quick)
    write = store["write"]
    postgres = (
        f"; PostgreSQL {write['postgresql_per_s']:,.0f}/s "
        f"({write['postgresql_per_cpu_s']:,.0f} per client CPU s)"
        if "postgresql_per_s" in write
        else f" (PostgreSQL: set {bench_store.POSTGRES_ENV})"
    )
    rows.append(
        (
            "9a. store: write already-fetched records",
            f"SQLite {write['sqlite_per_s']:,.0f} records/s "
            f"({write['sqlite_per_cpu_s']:,.0f} per CPU s){postgres}",
            f"one transaction per 31 days, as sync writes; load {write['load_average']:.1f}",
            ">= 50,000/s",
        )
    )
    resync = store["resync"]
    rows.append(
        (
            "9b. store: daily re-sync of a 90-day Flireo history",
            f"first sync {resync['first_records']:,} records, {resync['first_requests']} requests, "
            f"{resync['first_s']:.2f} s; next day {resync['daily_requests']} request(s), "
            f"{resync['daily_s']:.2f} s",
            f"{resync['daily_new']} new, {resync['daily_unchanged']} unchanged",
            "the lookback's requests only",
        )
    )
    small, large = store["rollup"][0], store["rollup"][-1]
    rows.append(
        (
            f"9c. store: roll-up by provider and day, {large['records']:,} records (SQLite)",
            f"{large['seconds']:.2f} s ({large['groups']} groups); peak RSS "
            f"{small['peak_rss_mb']:.0f} MB at {small['records']:,}, "
            f"{large['peak_rss_mb']:.0f} MB at {large['records']:,}",
            f"{(large['peak_rss_mb'] / small['peak_rss_mb'] - 1) * 100:+.0f}% RSS",
            "< 2 s; RSS flat",
        )
    )

    accounts = bench_accounts.run(runs=2 if args.quick else 3)
    rows.append(
        (
            "10. sync 10 accounts of 20 pages each, 100 ms latency",
            f"at once {accounts['at once']:.2f} s; one after another "
            f"{accounts['one after another']:.2f} s; one account alone {accounts['one alone']:.2f} s; "
            f"peak RSS {accounts['rss_10_mb']:.0f} MB for 10 accounts, "
            f"{accounts['rss_30_mb']:.0f} MB for 30",
            f"{accounts['at_once_vs_alone']:.2f}x one account alone "
            f"(one after another: {accounts['sequential_vs_alone']:.1f}x)",
            "close to the slowest; memory flat",
        )
    )
    rows.append(
        (
            "10. where the time of 10 at once goes",
            f"client CPU {accounts['at_once_cpu_s']:.2f} s, emulators' CPU "
            f"{accounts['at_once_emulators_cpu_s']:.2f} s; first sync in a fresh process "
            f"{accounts['first_sync_s']:.2f} s ({accounts['first_sync_cpu_s']:.2f} s CPU); "
            f"load {accounts['load']:.1f}",
            "",
            "",
        )
    )

    speed_after = machine_speed()
    print(table(rows, ("benchmark", "measured (medians)", "result", "target")))
    print(
        f"\nmachine drift: json.loads of one page took {speed_before * 1e3:.2f} ms at the start "
        f"and {speed_after * 1e3:.2f} ms at the end ({speed_after / speed_before:.2f}x)"
    )
    print(f"\n(all benchmarks: {time.perf_counter() - started:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
