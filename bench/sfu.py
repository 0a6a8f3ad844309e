"""
SFU benchmark: hubsd's SFU against Janus, with the same WebRTC generator, in the same run.

N members each publish one Opus stream (50 packets/s; ``--video K``: the
first K also publish 320x240 VP8 at 30 fps), and every member subscribes to
every other member: N x (N-1) forwarded streams. The SFU under test runs
pinned to core 0 (``taskset -c 0``, all its threads and children), the
generator (bench/sfuload.py) on core 1. Per load it prints forwarded
packets/s, the SFU's CPU (from /proc, its process and descendants) per
forwarded packet, loss and jitter at the receivers, and the generator's own
CPU and ceiling.

Everything runs in a private network namespace (``unshare --net``, root)
with lo and a veth pair ``bench0``/``bench1`` that leads nowhere: Janus
gathers ICE candidates on interfaces, never on lo, so it gets ``bench0``
(10.77.0.1), and nothing can leave the machine.

    .venv/bin/python bench/sfu.py --target janus,hubsd --publishers 5,25 \\
        --json-out bench/results/sfu.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from servers import core_busy, cpu_seconds, rss_bytes  # noqa: E402
from sfu_janus import JanusAdapter  # noqa: E402
from sfuload import Publisher, Subscriber, host_address_only  # noqa: E402
from sfumedia import Recording, encode_opus, encode_vp8  # noqa: E402
from wampload import percentile  # noqa: E402

NETNS_FLAG = "SFU_BENCH_NETNS"
ADDRESS = "10.77.0.1"
DRAIN = 1.0  # seconds after the window for packets in flight
INTERFACE = "bench0"


def enter_netns() -> None:
    """Re-run this script inside a fresh network namespace, unless already there."""
    if os.environ.get(NETNS_FLAG) == "1":
        for cmd in (
            "ip link set lo up",
            f"ip link add {INTERFACE} type veth peer name bench1",
            f"ip addr add {ADDRESS}/24 dev {INTERFACE}",
            f"ip link set {INTERFACE} up",
            "ip link set bench1 up",
        ):
            subprocess.run(cmd.split(), check=True)
        # A veth's carrier comes up asynchronously; Janus skips interfaces not RUNNING.
        deadline = time.monotonic() + 10
        show = ["ip", "-o", "link", "show", "dev", INTERFACE]
        while time.monotonic() < deadline:
            if "LOWER_UP" in subprocess.run(show, capture_output=True, text=True).stdout:
                break
            time.sleep(0.05)
        return
    if os.geteuid() != 0 or not shutil.which("unshare"):
        raise SystemExit("bench/sfu.py needs root and unshare(1) for its private network namespace")
    env = dict(os.environ, **{NETNS_FLAG: "1"})
    os.execvpe("unshare", ["unshare", "--net", "--", sys.executable, *sys.argv], env)


def family(pids: list[int]) -> set[int]:
    """C{pids} and every descendant still alive."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                pass
    found, frontier = set(pids), list(pids)
    while frontier:
        parent = frontier.pop()
        kids = [p for p, pp in parents.items() if pp == parent and p not in found]
        found.update(kids)
        frontier.extend(kids)
    return found


def tree_cpu(pids: list[int]) -> float:
    """CPU seconds of C{pids} and every descendant still alive."""
    total = 0.0
    for pid in family(pids):
        try:
            total += cpu_seconds(pid)
        except OSError:
            pass
    return total


def make_adapter(target: str, args: argparse.Namespace) -> Any:
    if target == "janus":
        return JanusAdapter(args.sfu_core, args.janus_event_loops, INTERFACE)
    if target == "hubsd" or target.startswith("hubsd@"):
        from sfu_hubsd import HubsdAdapter

        # hubsd@PATH: the daemon from another checkout, for A/B runs in one bench run.
        tree = Path(target.split("@", 1)[1]).resolve() if "@" in target else None
        return HubsdAdapter(args.sfu_core, ADDRESS, tree=tree)
    raise SystemExit(f"unknown target {target!r}")


async def bounded(limit: int, jobs: list[Any]) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def one(job: Any) -> Any:
        async with gate:
            return await job

    return await asyncio.gather(*(one(j) for j in jobs))


def udp_counters() -> dict[str, int]:
    """This network namespace's UDP counters (/proc/net/snmp): all of them are the bench's."""
    with open("/proc/net/snmp") as f:
        rows = [line.split() for line in f if line.startswith("Udp:")]
    return dict(zip(rows[0][1:], map(int, rows[1][1:]), strict=True))


class LoopLag:
    """The generator's own event-loop lag: how late a 10 ms timer fires (max per window)."""

    def __init__(self) -> None:
        self.max = 0.0
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            t = loop.time()
            await asyncio.sleep(0.01)
            self.max = max(self.max, loop.time() - t - 0.01)

    def take(self) -> float:
        value, self.max = self.max, 0.0
        return value

    def stop(self) -> None:
        self._task.cancel()


class Snapshot:
    def __init__(
        self, adapter: Any, pubs: list[Publisher], subs: list[Subscriber], core: int, gen_core: int
    ) -> None:
        self.t = time.monotonic()
        self.udp = udp_counters()
        self.sfu_cpu = tree_cpu(adapter.pids())
        self.gen_cpu = time.process_time()
        self.core = core_busy(core)
        self.gen_core = core_busy(gen_core)
        self.sent = sum(p.sent + p.sent_video for p in pubs)
        self.fanout_sent = sum((p.sent + p.sent_video) * (len(pubs) - 1) for p in pubs)
        self.streams = {
            (s.index, ssrc): (st.received, st.ext_max)
            for s in subs
            for ssrc, st in s.streams.items()
        }


async def one_load(args: argparse.Namespace, target: str, n: int, rec: Recording) -> dict[str, Any]:
    adapter = make_adapter(target, args)
    layout = args.layout
    if layout not in adapter.layouts:
        raise SystemExit(f"{target} supports layouts {adapter.layouts}, not {layout}")
    loop = asyncio.get_running_loop()
    pubs: list[Publisher] = []
    subs: list[Subscriber] = []
    payloads = rec.payloads()
    row: dict[str, Any] = {
        "target": target,
        "publishers": n,
        "layout": layout,
        "video_publishers": min(args.video, n),
    }
    setup_started = time.monotonic()
    try:
        await adapter.start(n)
        row["sfu"] = adapter.describe()

        async def publish(i: int) -> Publisher:
            p = Publisher(i, rec, video=i < args.video)
            answer = await adapter.publish(i, await p.offer())
            await p.accept(answer, args.connect_timeout)
            return p

        pubs = await bounded(args.setup_concurrency, [publish(i) for i in range(n)])
        t0 = loop.time() + 0.05
        for p in pubs:
            p.start(loop, t0, p.index * 0.020 / n)

        pairs: list[tuple[int, list[int]]]
        if layout == "per-member":
            pairs = [(j, [i for i in range(n) if i != j]) for j in range(n)]
        else:
            pairs = [(j, [i]) for j in range(n) for i in range(n) if i != j]

        failures: list[str] = []

        async def subscribe(k: int, member: int, feeds: list[int]) -> Subscriber | None:
            s = Subscriber(k, payloads)
            try:
                sub, offer = await adapter.subscribe(member, feeds)
                answer = await s.answer(offer, args.connect_timeout)
                await adapter.start_subscription(sub, answer)
                await s.connected(args.connect_timeout)
            except Exception as exc:  # noqa: BLE001 - the SFU's refusal is a result
                # A subscription the SFU refuses or drops is counted as lost
                # media (the expected fan-out still includes it), not a crash.
                failures.append(f"{type(exc).__name__}: {exc}"[:300])
                await s.close()
                return None
            return s

        made = await bounded(
            args.setup_concurrency, [subscribe(k, m, f) for k, (m, f) in enumerate(pairs)]
        )
        subs = [s for s in made if s is not None]
        row["subscribe_failures"] = len(failures)
        if failures:
            row["first_subscribe_failure"] = failures[0]
            row["sfu_notes"] = adapter.log_tail()[:1500]
        expected_streams = sum(len(f) + sum(1 for i in f if i < args.video) for _, f in pairs)
        deadline = time.monotonic() + args.connect_timeout
        while time.monotonic() < deadline:
            if sum(len(s.streams) for s in subs) >= expected_streams:
                break
            await asyncio.sleep(0.2)
        row["setup_s"] = round(time.monotonic() - setup_started, 1)
        row["streams_expected"] = expected_streams
        row["streams_up"] = sum(len(s.streams) for s in subs)
        row["peer_connections"] = len(pubs) + len(subs)
        await asyncio.sleep(args.warmup)
        a = Snapshot(adapter, pubs, subs, args.sfu_core, args.generator_core)
        lag = LoopLag()
        await asyncio.sleep(args.duration)
        b = Snapshot(adapter, pubs, subs, args.sfu_core, args.generator_core)
        row["generator_max_lag_ms"] = round(lag.take() * 1000, 1)
        lag.stop()
        # Stop sending and let what is in flight arrive: the packets sent in
        # the window are then all counted, however late.
        for p in pubs:
            p.stop()
        await asyncio.sleep(DRAIN)
        drained = Snapshot(adapter, pubs, subs, args.sfu_core, args.generator_core)
        row.update(measure(a, b, drained, subs))
        # Peer connections that went down on the generator's side: aioice gives
        # up when its consent checks go unanswered, i.e. when the SFU stalls.
        row["publishers_down"] = sum(1 for p in pubs if p.pc.connectionState != "connected")
        row["subscribers_down"] = sum(1 for x in subs if x.pc.connectionState != "connected")
        row["sfu_rss_mb"] = round(sum(rss_bytes(p) for p in family(adapter.pids())) / 2**20, 1)
    except (RuntimeError, TimeoutError, ConnectionError, OSError) as exc:
        raise RuntimeError(
            f"{type(exc).__name__}: {exc}\n--- {target} log, last lines:\n{adapter.log_tail()}"
        ) from exc
    finally:
        for p in pubs:
            p.stop()
        await bounded(32, [x.close() for x in [*pubs, *subs]])
        await adapter.stop()
    return row


def measure(a: Snapshot, b: Snapshot, drained: Snapshot, subs: list[Subscriber]) -> dict[str, Any]:
    """Rates and CPU over the window [a, b]; loss over what was sent in it (counted at drained)."""
    dt = b.t - a.t
    received = sum(rb - a.streams.get(k, (0, 0))[0] for k, (rb, _) in b.streams.items())
    arrived = sum(rd - a.streams.get(k, (0, 0))[0] for k, (rd, _) in drained.streams.items())
    expected_seq = 0
    worst = 0.0
    for key, (rb, eb) in b.streams.items():
        ra, ea = a.streams.get(key, (0, eb - rb))
        got, span = rb - ra, eb - ea
        expected_seq += span
        if span > 0:
            worst = max(worst, 1 - got / span)
    jitters = sorted(st.jitter * 1000 for s in subs for st in s.streams.values())
    fanout = b.fanout_sent - a.fanout_sent
    sfu_cpu = b.sfu_cpu - a.sfu_cpu
    gen_cpu = b.gen_cpu - a.gen_cpu
    handled = received + (b.sent - a.sent)
    udp = {k: b.udp[k] - a.udp[k] for k in ("InDatagrams", "InErrors", "RcvbufErrors")}
    return {
        "window_s": round(dt, 2),
        "udp_in_datagrams": udp["InDatagrams"],
        "udp_in_errors": udp["InErrors"],
        "udp_rcvbuf_errors": udp["RcvbufErrors"],
        "sent_pps": round((b.sent - a.sent) / dt),
        "forwarded_pps": round(received / dt),
        "delivered_ratio": round(arrived / fanout, 4) if fanout else None,
        "loss": round(max(0.0, 1 - arrived / fanout), 4) if fanout else None,
        "seq_loss": round(1 - received / expected_seq, 4) if expected_seq else None,
        "worst_stream_loss": round(worst, 4),
        "late_packets": sum(st.late for s in subs for st in s.streams.values()),
        "repeated_audio_packets": sum(st.repeats for s in subs for st in s.streams.values()),
        "jitter_ms_mean": round(sum(jitters) / len(jitters), 3) if jitters else None,
        "jitter_ms_p99": round(percentile(jitters, 0.99) or 0, 3),
        "jitter_ms_max": round(jitters[-1], 3) if jitters else None,
        "sfu_cpu": round(sfu_cpu / dt, 3),
        "sfu_core_busy": round((b.core - a.core) / dt, 3),
        "us_per_forwarded": round(sfu_cpu / received * 1e6, 2) if received else None,
        "generator_cpu": round(gen_cpu / dt, 3),
        "generator_core_busy": round((b.gen_core - a.gen_core) / dt, 3),
        "generator_us_per_packet": round(gen_cpu / handled * 1e6, 2) if handled else None,
        "generator_ceiling_pps": round(received / gen_cpu) if gen_cpu else None,
        "payload_checked": sum(s.sampled for s in subs),
        "payload_ok": sum(s.payload_ok for s in subs),
        "payload_bad": sum(s.payload_bad for s in subs),
        "srtp_errors": sum(s.srtp_errors for s in subs),
    }


COLUMNS = [
    ("target", "target"),
    ("publishers", "N"),
    ("layout", "layout"),
    ("video_publishers", "video"),
    ("peer_connections", "PCs"),
    ("streams_up", "streams"),
    ("forwarded_pps", "fwd pkt/s"),
    ("loss", "loss"),
    ("worst_stream_loss", "worst stream"),
    ("jitter_ms_mean", "jitter ms"),
    ("jitter_ms_p99", "jitter p99 ms"),
    ("sfu_cpu", "SFU CPU"),
    ("sfu_core_busy", "core0 busy"),
    ("us_per_forwarded", "us/fwd pkt"),
    ("sfu_rss_mb", "SFU RSS MB"),
    ("generator_cpu", "gen CPU"),
    ("generator_us_per_packet", "gen us/pkt"),
    ("generator_ceiling_pps", "gen ceiling pkt/s"),
    ("payload_ok", "payload ok"),
    ("payload_bad", "bad"),
]


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| " + " | ".join(h for _, h in COLUMNS) + " | x Janus |",
        "|" + "---|" * (len(COLUMNS) + 1),
    ]
    janus = {
        (r["publishers"], r["layout"], r["video_publishers"]): r
        for r in rows
        if r["target"] == "janus" and r.get("us_per_forwarded")
    }
    for r in rows:
        peer = janus.get((r["publishers"], r["layout"], r["video_publishers"]))
        ratio = "-"
        if peer and r.get("us_per_forwarded") and r["target"] != "janus":
            # > 1: cheaper than Janus per forwarded packet.
            ratio = f"{peer['us_per_forwarded'] / r['us_per_forwarded']:.2f}"
        cells = ["-" if r.get(k) is None else str(r.get(k)) for k, _ in COLUMNS]
        lines.append("| " + " | ".join(cells) + f" | {ratio} |")
    return "\n".join(lines)


async def main(args: argparse.Namespace) -> int:
    task = asyncio.current_task()
    assert task is not None
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, task.cancel)
    os.sched_setaffinity(0, {args.generator_core})
    host_address_only(ADDRESS)
    rec = Recording(encode_opus(), encode_vp8() if args.video else [])
    print(
        f"recording: {len(rec.audio)} Opus frames, {rec.audio_bitrate() / 1000:.1f} kbit/s; "
        f"{len(rec.video)} VP8 frames, {rec.video_bitrate() / 1000:.0f} kbit/s",
        flush=True,
    )
    rows: list[dict[str, Any]] = []
    started = time.time()
    try:
        for _ in range(args.repeat):
            for n in [int(x) for x in args.publishers.split(",")]:
                for target in args.target.split(","):
                    try:
                        row = await one_load(args, target, n, rec)
                    except (RuntimeError, TimeoutError, ConnectionError) as exc:
                        traceback.print_exc()
                        row = {
                            "target": target,
                            "publishers": n,
                            "layout": args.layout,
                            "video_publishers": min(args.video, n),
                            "error": f"{type(exc).__name__}: {exc}"[:2000],
                        }
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    finally:
        print()
        print(table([r for r in rows if "error" not in r]))
        for r in rows:
            if "error" in r:
                print(f"\n{r['target']} N={r['publishers']} failed: {r['error']}")
        if args.json_out:
            meta = {
                "command": " ".join(sys.argv),
                "started": started,
                "elapsed_s": round(time.time() - started, 1),
                "machine": f"{platform.machine()} {os.cpu_count()} cores "
                f"Python {platform.python_version()}",
                "event_loop": type(asyncio.get_running_loop()).__module__,
            }
            Path(args.json_out).write_text(json.dumps({"meta": meta, "results": rows}, indent=1))
    return 0


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "--target",
        default="janus,hubsd",
        help="comma list: janus, hubsd, hubsd@PATH (hubsd from the checkout at PATH)",
    )
    p.add_argument("--publishers", default="25", help="comma list of room sizes N")
    p.add_argument("--video", type=int, default=0, help="members that also publish VP8")
    p.add_argument(
        "--layout",
        default="per-publisher",
        choices=["per-member", "per-publisher"],
        help="one receive PC per member, or one per (member, publisher)",
    )
    p.add_argument("--warmup", type=float, default=5.0)
    p.add_argument("--duration", type=float, default=20.0)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--connect-timeout", type=float, default=60.0)
    p.add_argument("--setup-concurrency", type=int, default=6)
    p.add_argument(
        "--janus-event-loops",
        type=int,
        default=1,
        help="Janus event_loops (0: a thread per handle, Janus' default)",
    )
    p.add_argument(
        "--nice",
        type=int,
        default=0,
        help="niceness of the bench, the SFU and its workers (e.g. -10 on a busy shared machine)",
    )
    p.add_argument("--sfu-core", type=int, default=0)
    p.add_argument("--generator-core", type=int, default=1)
    p.add_argument("--json-out")
    return p.parse_args()


def run() -> int:
    args = parse()
    enter_netns()
    if args.nice:
        os.nice(args.nice)  # inherited by the SFU processes started later
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main(args))
    return uvloop.run(main(args))


if __name__ == "__main__":
    sys.exit(run())
