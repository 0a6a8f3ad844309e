"""
Markdown tables from a ``fanout.py --json-out`` file, for docs/benchmarks.md.

    .venv/bin/python bench/report.py bench/results/all.json
"""

from __future__ import annotations

import json
import sys
from typing import Any


def fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.0f}" if abs(v) >= 1000 else f"{v:g}"
    return str(v)


def pct(values: list[float], q: float) -> float | None:
    """Nearest-rank quantile, as the generator computes it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def best_sustainable(rows: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    best: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        if r.get("mode") in ("run", "sweep") and r.get("sustainable"):
            key = (r["serializer"], r["target"])
            if key not in best or r["events_per_s"] > best[key]["events_per_s"]:
                best[key] = r
    return best


def main(path: str) -> None:
    data = json.load(open(path))
    rows = data["results"]
    meta = data["meta"]
    print(
        f"Command: `{meta['command']}`  \nMachine: {meta['machine']}  \n"
        f"Run took {meta['elapsed_s']} s. hubsd code: {meta.get('hubsd_code_before')} "
        f"(at the end: {meta.get('hubsd_code_after')}).\n"
    )

    best = best_sustainable(rows)
    print("### Highest sustainable fan-out (delivered >= 99%, p99 < 100 ms)\n")
    print(
        "| serializer | router | rooms x 25 | Hz | delivered ev/s | x Crossbar | of bare hubsd "
        "| ratio | p50 ms | p99 ms | max ms | router CPU | core busy | router RSS MB "
        "| router CPU us/publish | generator CPU | generator ceiling ev/s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for (ser, target), r in sorted(best.items()):
        peer = best.get((ser, "crossbar"))
        bare = best.get((ser, "hubsd"))
        times = f"{r['events_per_s'] / peer['events_per_s']:.1f}" if peer else "-"
        of_bare = f"{100 * r['events_per_s'] / bare['events_per_s']:.0f}%" if bare else "-"
        print(
            f"| {ser} | {target} | {r['rooms']} | {r['hz']:g} | {fmt(r['events_per_s'])} | {times} "
            f"| {of_bare} | {r['ratio']:.4f} | {fmt(r['p50_ms'])} | {fmt(r['p99_ms'])} "
            f"| {fmt(r['max_ms'])} | {r['router_cpu']:.2f} | {r['router_core_busy']:.2f} "
            f"| {r['router_rss_mb']} | {fmt(r.get('router_cpu_us_per_publish'))} "
            f"| {r['generator_cpu']:.2f} | {fmt(r['generator_ceiling_ev_s'])} |"
        )

    print("\n### Every sweep step\n")
    print(
        "| serializer | router | rooms | Hz | delivered ev/s | ratio | p50 ms | p99 ms | max ms "
        "| router CPU | core busy | us/publish | generator CPU | sustainable |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if r.get("mode") in ("run", "sweep"):
            us = r.get("router_cpu_us_per_publish")
            print(
                f"| {r['serializer']} | {r['target']} | {r['rooms']} | {r['hz']:g} "
                f"| {fmt(r['events_per_s'])} "
                f"| {r['ratio']:.4f} | {fmt(r['p50_ms'])} | {fmt(r['p99_ms'])} "
                f"| {fmt(r['max_ms'])} | {r['router_cpu']:.2f} | {r['router_core_busy']:.2f} "
                f"| {fmt(us)} | {r['generator_cpu']:.2f} | {'yes' if r['sustainable'] else 'no'} |"
            )

    late = [r for r in rows if r.get("mode") == "latejoin"]
    if late:
        print("\n### Late joiners (join -> enter reply, one snapshot message)\n")
        print(
            "| serializer | router | rooms x 25 | Hz | entities in room | joiners "
            "| join->enter p50 ms | p99 ms | max ms | join p50 ms | enter p50 ms | enter p99 ms "
            "| snapshot bytes | fan-out ratio | fan-out p99 ms | router CPU |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for r in late:
            t = r["join_enter_ms"]
            sizes = r["snapshot_bytes"]
            ents = r["snapshot_entities"]
            print(
                f"| {r['serializer']} | {r['target']} | {r['rooms']} | {r['hz']:g} "
                f"| {fmt(max(ents) if ents else None)} | {r['joiners']} "
                f"| {fmt(pct(t, 0.5))} | {fmt(pct(t, 0.99))} | {fmt(max(t) if t else None)} "
                f"| {fmt(pct(r.get('join_ms', []), 0.5))} | {fmt(pct(r['enter_ms'], 0.5))} "
                f"| {fmt(pct(r['enter_ms'], 0.99))} | {fmt(max(sizes) if sizes else None)} "
                f"| {r['ratio']:.4f} | {fmt(r['p99_ms'])} | {r['router_cpu']:.2f} |"
            )

    print("\n### Overload: twice the sustainable rooms, 30 s\n")
    print(
        "| serializer | router | rooms | Hz | offered ev/s | delivered ev/s | um ratio | um p50 ms "
        "| um p99 ms | reliable delivered | reliable p99 ms | reliable max ms | RSS start -> max "
        "-> end MB | disconnected | min member ratio |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if r.get("mode") == "overload":
            s = r["rss_series_mb"] or [0]
            offered = r["expected"] / r["duration"]
            print(
                f"| {r['serializer']} | {r['target']} | {r['rooms']} | {r['hz']:g} "
                f"| {fmt(offered)} "
                f"| {fmt(r['events_per_s'])} | {r['ratio']:.4f} | {fmt(r['p50_ms'])} "
                f"| {fmt(r['p99_ms'])} | {r['reliable_delivered']}/{r['reliable_expected']} "
                f"| {fmt(r['reliable_p99_ms'])} | {fmt(r['reliable_max_ms'])} "
                f"| {s[0]} -> {max(s)} -> {s[-1]} | {r['disconnected']} "
                f"| {fmt(r['min_member_ratio'])} |"
            )

    print("\n### Idle sessions\n")
    print("| serializer | router | sessions | RSS before MB | RSS after MB | KB per session |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        if r.get("mode") == "idle":
            print(
                f"| {r['serializer']} | {r['target']} | {r['sessions']} | {r['rss_before_mb']} "
                f"| {r['rss_after_mb']} | {r['kb_per_session']} |"
            )
    errors = [r for r in rows if r.get("error") or r.get("errors")]
    for r in errors:
        print(
            f"\nerror: {r.get('target')} {r.get('serializer')}: {r.get('error') or r.get('errors')}"
        )


if __name__ == "__main__":
    main(sys.argv[1])
