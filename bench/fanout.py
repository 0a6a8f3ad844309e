"""
Fan-out benchmark: hubsd's WAMP router against Crossbar.io, in the same run.

R rooms of M members; every member subscribes to its room topic and
publishes a networked-aframe ``um`` update (about 500 bytes of JSON) to it
at H Hz; the router delivers each publish to the M-1 other members
(exclude_me). The router runs pinned to core 0, this generator on core 1.

Modes (each bounded in time and count; the script stops by itself):

- ``run``: one load of ``--rooms`` rooms.
- ``sweep``: raise the room count until delivery < 99% or p99 >= 100 ms;
  report the highest sustainable load.
- ``overload``: twice the sustainable rooms (``--rooms`` or the sweep's),
  RSS sampled every second, reliable chat events timed on their own.
- ``idle``: open ``--idle-sessions`` joined sessions, report RSS per session.
- ``all``: sweep, then overload at 2x, then idle.

Run ``bench/setup-crossbar.sh`` once first. Example:
``.venv/bin/python bench/fanout.py --target both --serializer json --mode all``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import random
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from phoenixload import PhoenixMember, sent_of_any  # noqa: E402
from servers import (  # noqa: E402
    ROUTERS,
    TREE,
    Hubsd,
    HubsdRooms,
    Router,
    core_busy,
    cpu_seconds,
    rss_bytes,
)
from wampload import (  # noqa: E402
    Codec,
    Member,
    PublishTemplate,
    Stats,
    avatar_sync,
    chat_message,
    naf_update,
    percentile,
    room_first_sync,
    room_update,
    sent_of_room_event,
    set_sync_sent,
)

RATIO_MIN = 0.99
P99_MAX = 0.100
RELIABLE_BELOW = 300  # bytes: chat events are ~150, um events ~600
#: Topics of the bare router loads (outside ``hubsd.``, which the room core gates).
BARE_PREFIX = "bench.room."
#: Targets whose members join rooms through the room API.
ROOM_TARGETS = ("hubsd-rooms", "hubsd-phoenix", "hubsd-mixed")
#: Targets with members on the Phoenix socket: all of them, or every second one.
PHOENIX_TARGETS = {"hubsd-phoenix": 1, "hubsd-mixed": 2}
ALL_MEMBER_PERMISSIONS = {
    name: True
    for name in (
        "spawn_and_move_media",
        "spawn_camera",
        "spawn_drawing",
        "pin_objects",
        "spawn_emoji",
        "fly",
        "voice_chat",
        "text_chat",
    )
}


@dataclass
class Result:
    """One measured load."""

    target: str
    serializer: str
    mode: str
    rooms: int
    members: int
    hz: float
    duration: float
    published: int = 0
    expected: int = 0
    delivered: int = 0
    events_per_s: float = 0.0
    ratio: float = 0.0
    p50_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None
    samples: int = 0
    router_cpu: float = 0.0
    router_rss_mb: float = 0.0
    generator_cpu: float = 0.0
    generator_ceiling_ev_s: float | None = None
    disconnected: int = 0
    min_member_ratio: float | None = None
    payload_bytes: int = 0
    reliable_expected: int = 0
    reliable_delivered: int = 0
    reliable_p99_ms: float | None = None
    reliable_max_ms: float | None = None
    rss_series_mb: list[float] = field(default_factory=list)
    router_core_busy: float = 0.0
    loadavg: list[float] = field(default_factory=list)
    router_cpu_us_per_publish: float | None = None
    entities_per_member: int = 0
    setup_s: float = 0.0
    # Late joiners (mode latejoin): per joiner, join call sent -> enter reply.
    joiners: int = 0
    join_enter_ms: list[float] = field(default_factory=list)
    join_ms: list[float] = field(default_factory=list)
    enter_ms: list[float] = field(default_factory=list)
    snapshot_bytes: list[int] = field(default_factory=list)
    snapshot_entities: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def sustainable(self) -> bool:
        return (
            self.ratio >= RATIO_MIN
            and self.p99_ms is not None
            and self.p99_ms < P99_MAX * 1000
            and not self.disconnected
        )


def ms(v: float | None) -> float | None:
    return None if v is None else round(v * 1000, 2)


async def connect_all(
    router: Router, codec: Codec, topics: list[list[str]], stats: Stats, timeout: float = 60
) -> list[Member]:
    """Open one session per entry of C{topics}, each subscribed to its topics."""
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(50)

    async def one(subs: list[str]) -> Member:
        async with gate:
            member = Member(codec, "127.0.0.1", router.port, router.path, "hubsd", subs, stats)
            await loop.create_connection(lambda: member, "127.0.0.1", router.port)
            await asyncio.wait_for(member.ready, timeout)
            return member

    return list(await asyncio.gather(*(one(t) for t in topics)))


async def load(
    router: Router,
    codec: Codec,
    rooms: int,
    members: int,
    hz: float,
    warmup: float,
    duration: float,
    sample_every: int,
    mode: str = "run",
    reliable_hz: float = 0.0,
    entities: int = 1,
    joiners: int = 0,
) -> Result:
    """Run one load against a started router and measure it."""
    rnd = random.Random(rooms * 1000 + members)
    stats = Stats(sample_every, RELIABLE_BELOW if reliable_hz else 0)
    res = Result(router.name, codec.name, mode, rooms, members, hz, duration)
    in_rooms = router.name in ROOM_TARGETS
    t0 = time.monotonic()
    crowd: list[Member] = []
    try:
        if in_rooms:
            if reliable_hz:
                raise RuntimeError("the overload mode has no room-rules variant")
            stats.sent_of = sent_of_any if router.name in PHOENIX_TARGETS else sent_of_room_event
            res.entities_per_member = entities
            crowd = await connect_rooms(router, codec, rooms, members, entities, stats, rnd)
        else:
            topics = []
            for r in range(rooms):
                subs = [f"{BARE_PREFIX}{r}.naf"]
                if reliable_hz:
                    subs.append(f"{BARE_PREFIX}{r}.chat")
                topics += [subs] * members
            crowd = await connect_all(router, codec, topics, stats)
    except Exception as e:  # noqa: BLE001 - reported, not raised: the run goes on
        res.errors.append(f"connect failed: {e!r}")
        for m in crowd:
            m.close()
        return res
    res.setup_s = round(time.monotonic() - t0, 2)
    during = None
    if joiners:
        hub_sid = crowd[0].hub_sid

        def during() -> Awaitable[None]:
            return late_joiners(router, codec, hub_sid, joiners, duration, res)

    try:
        return await _measure(router, codec, crowd, res, stats, rnd, warmup, reliable_hz, during)
    finally:
        for m in crowd:
            m.close()
        await asyncio.sleep(0.5)


async def connect_rooms(
    router: Router,
    codec: Codec,
    rooms: int,
    members: int,
    entities: int,
    stats: Stats,
    rnd: random.Random,
    timeout: float = 60,
) -> list[Member]:
    """
    C{rooms} rooms of C{members} members through the room API, in room order.

    The first member of each room creates it and joins with the creator
    token (which it shows nobody); every member joins, subscribes to the
    room's NAF topic, enters and spawns C{entities} entities with
    acknowledged first syncs (``u``), the first of them the avatar it
    updates later. Raises on any refusal: a load whose set-up failed
    measures nothing.
    """
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(50)
    every = PHOENIX_TARGETS.get(router.name, 0)

    async def open_member(n: int) -> Member:
        """Member C{n} of a room: on Phoenix for every C{every}-th from the last."""
        async with gate:
            m: Member
            if every and (members - 1 - n) % every == 0:
                m = PhoenixMember(codec, "127.0.0.1", router.port, stats)
            else:
                m = Member(codec, "127.0.0.1", router.port, router.path, "hubsd", [], stats, True)
            await loop.create_connection(lambda: m, "127.0.0.1", router.port)
            await asyncio.wait_for(m.ready, timeout)
            return m

    async def seat(m: Member, hub_sid: str, n: int, token: str | None) -> None:
        async with gate:
            if isinstance(m, PhoenixMember):
                # The join seats and enters; pushes keep their order, so the
                # first syncs are in place before the first update.
                await asyncio.wait_for(m.join_hub(hub_sid, n, token), timeout)
                for k in range(entities):
                    template = "#remote-avatar" if k == 0 else "#x-avatar"
                    nid = f"{m.session_id}-{k}"
                    sync = avatar_sync(rnd, m.session_id, nid, template, True, None)
                    m.push(m.channel, "naf", room_first_sync(sync), m.join_ref)
                # A request answered after the pushes before it were handled
                # (frames are handled in order): the entities now exist.
                await asyncio.wait_for(
                    m.request(m.channel, "refresh_perms_token", {}, m.join_ref), timeout
                )
                m.entity = f"{m.session_id}-0"
                return
            await asyncio.wait_for(enter_room(m, hub_sid, n, token), timeout)
            for k in range(entities):
                template = "#remote-avatar" if k == 0 else "#x-avatar"
                sync = avatar_sync(rnd, m.session_id, f"{m.session_id}-{k}", template, True, None)
                await asyncio.wait_for(m.publish_acked(m.topic, room_first_sync(sync)), timeout)
            m.entity = f"{m.session_id}-0"

    async def room(r: int) -> list[Member]:
        crowd = list(await asyncio.gather(*(open_member(n) for n in range(members))))
        creator: Member = crowd[0]
        if isinstance(creator, PhoenixMember):
            # Rooms are created over WAMP (hubsd.room.create); the creator
            # token then seats the first Phoenix member as the creator.
            creator = Member(codec, "127.0.0.1", router.port, router.path, "hubsd", [], stats, True)
            await loop.create_connection(lambda: creator, "127.0.0.1", router.port)
            await asyncio.wait_for(creator.ready, timeout)
        try:
            async with gate:
                info, _ = await creator.call(
                    "hubsd.room.create",
                    name=f"bench room {r}",
                    # seats for late joiners too (each leaves, but a seat
                    # whose leave is lost is held for the reconnect grace)
                    room_size=members + 30,
                    member_permissions=ALL_MEMBER_PERMISSIONS,
                )
            if creator is not crowd[0]:
                creator.close()
            await seat(crowd[0], info["hub_sid"], 0, info["creator_token"])
            await asyncio.gather(
                *(seat(m, info["hub_sid"], n, None) for n, m in enumerate(crowd) if n)
            )
        except BaseException:
            for m in crowd:
                m.close()
            raise
        return crowd

    groups = await asyncio.gather(*(room(r) for r in range(rooms)), return_exceptions=True)
    failed = [g for g in groups if isinstance(g, BaseException)]
    if failed:
        for g in groups:
            if not isinstance(g, BaseException):
                for m in g:
                    m.close()
        raise failed[0]
    crowd = [m for g in groups if not isinstance(g, BaseException) for m in g]
    for m in crowd:
        m.go_hot()
    return crowd


async def enter_room(m: Member, hub_sid: str, n: int, token: str | None = None) -> tuple[Any, int]:
    """join, subscribe to the NAF topic, enter: the enter reply (the snapshot) and its size."""
    kw: dict[str, Any] = {"hub_sid": hub_sid}
    if token is not None:
        kw["creator_token"] = token
    reply, _ = await m.call("hubsd.room.join", **kw)
    m.hub_sid = hub_sid
    m.session_id = reply["session_id"]
    m.topic = f"hubsd.room.{hub_sid}.naf"
    await m.subscribe(m.topic)
    return await m.call(
        "hubsd.room.enter",
        hub_sid=hub_sid,
        profile={"displayName": f"bench member {n}"},
        context={},
    )


async def late_joiners(
    router: Router, codec: Codec, hub_sid: str, count: int, window: float, res: Result
) -> None:
    """
    C{count} new members join room C{hub_sid} one after the other, spread over
    C{window} seconds: each is timed from sending ``join`` to the ``enter``
    reply (subscribing in between, as a client must); the snapshot's size
    (the whole RESULT message) and entity count are kept. Each leaves at once.
    """
    loop = asyncio.get_running_loop()
    spacing = window / max(count, 1)
    stats = Stats(10**9)
    for j in range(count):
        started = loop.time()
        m = Member(
            codec, "127.0.0.1", router.port, router.path, "hubsd", [], stats, stay_decoding=True
        )
        try:
            await loop.create_connection(lambda: m, "127.0.0.1", router.port)  # noqa: B023
            await asyncio.wait_for(m.ready, 10)
            t0 = time.perf_counter()
            kw = {"hub_sid": hub_sid}
            reply, _ = await asyncio.wait_for(m.call("hubsd.room.join", **kw), 10)
            m.session_id = reply["session_id"]
            joined = time.perf_counter()
            await asyncio.wait_for(m.subscribe(f"hubsd.room.{hub_sid}.naf"), 10)
            t1 = time.perf_counter()
            snapshot, size = await asyncio.wait_for(
                m.call(
                    "hubsd.room.enter",
                    hub_sid=hub_sid,
                    profile={"displayName": f"late joiner {j}"},
                    context={},
                ),
                10,
            )
            t2 = time.perf_counter()
            res.join_enter_ms.append(round((t2 - t0) * 1000, 2))
            res.enter_ms.append(round((t2 - t1) * 1000, 2))
            res.join_ms.append(round((joined - t0) * 1000, 2))
            res.snapshot_bytes.append(size)
            res.snapshot_entities.append(len(snapshot.get("entities") or []))
            res.joiners += 1
            await asyncio.wait_for(m.call("hubsd.room.leave", hub_sid=hub_sid), 10)
        except Exception as e:  # noqa: BLE001 - reported with the load
            res.errors.append(f"late joiner {j}: {e!r}")
        finally:
            m.close()
        await asyncio.sleep(max(0.0, started + spacing - loop.time()))


async def _measure(
    router: Router,
    codec: Codec,
    crowd: list[Member],
    res: Result,
    stats: Stats,
    rnd: random.Random,
    warmup: float,
    reliable_hz: float,
    during: Callable[[], Awaitable[None]] | None = None,
) -> Result:
    members, hz = res.members, res.hz
    naf = []
    chat = []
    for i, m in enumerate(crowd):
        room = i // members
        if m.entity:
            # A member in a room updates its own avatar through the room rules.
            sync = avatar_sync(rnd, m.session_id, m.entity, "#remote-avatar", False, 0.0)
            env = room_update(sync)
            if isinstance(m, PhoenixMember):
                naf.append(m.template(env, set_sync_sent))
            else:
                naf.append(PublishTemplate(codec, m.topic, env, m.mask, True, set_sync_sent))
            continue
        body = naf_update(rnd, 0.0)
        naf.append(PublishTemplate(codec, f"{BARE_PREFIX}{room}.naf", body, m.mask))
        if reliable_hz:
            body = chat_message(rnd, 0.0)
            chat.append(PublishTemplate(codec, f"{BARE_PREFIX}{room}.chat", body, m.mask))
    res.payload_bytes = naf[0].size
    slots = 20
    groups: list[list[int]] = [list(range(k, len(crowd), slots)) for k in range(slots)]
    tick = 1.0 / hz / slots
    chat_every = round(hz / reliable_hz) if reliable_hz else 0
    fanout = members - 1
    counts = {"published": 0, "expected": 0, "reliable_expected": 0}
    stop = asyncio.Event()

    async def publisher() -> None:
        loop = asyncio.get_running_loop()
        nxt = loop.time()
        k = rnd.randrange(slots)
        rounds = 0
        while not stop.is_set():
            now = time.time()
            sent = 0
            reliable = chat_every and rounds % chat_every == 0
            for i in groups[k]:
                m = crowd[i]
                if m.alive:
                    m.transport.write(naf[i].frame(now))
                    sent += 1
                    if reliable:
                        m.transport.write(chat[i].frame(now))
            if stats.measuring:
                counts["published"] += sent
                counts["expected"] += sent * fanout
                if reliable:
                    counts["reliable_expected"] += sent * fanout
            k += 1
            if k == slots:
                k = 0
                rounds += 1
            nxt += tick
            await asyncio.sleep(max(0.0, nxt - loop.time()))

    task = asyncio.ensure_future(publisher())
    await asyncio.sleep(warmup)
    got0 = [m.received for m in crowd]
    rel0 = stats.reliable_received
    gen0 = _own_cpu()
    cpu0 = cpu_seconds(router.pid)
    core0 = core_busy(router.core)
    t0 = time.monotonic()
    stats.measuring = True
    side = asyncio.ensure_future(during()) if during is not None else None
    end = t0 + res.duration
    while time.monotonic() < end:
        await asyncio.sleep(min(1.0, max(0.0, end - time.monotonic())))
        res.rss_series_mb.append(round(rss_bytes(router.pid) / 2**20, 1))
    stats.measuring = False
    if side is not None:
        # Late joiners are spread over the window; the last may end just after it.
        await asyncio.wait_for(side, 30)
    elapsed = time.monotonic() - t0
    cpu1 = cpu_seconds(router.pid)
    core1 = core_busy(router.core)
    gen1 = _own_cpu()
    got = [m.received - g for m, g in zip(crowd, got0, strict=True)]
    rel = stats.reliable_received - rel0
    stop.set()
    await task

    res.published = counts["published"]
    res.expected = counts["expected"]
    res.delivered = sum(got) - rel
    res.reliable_expected = counts["reliable_expected"]
    res.reliable_delivered = rel
    res.events_per_s = round(res.delivered / elapsed, 1)
    res.ratio = round(res.delivered / res.expected, 4) if res.expected else 0.0
    per_member = (res.published / len(crowd)) * fanout if crowd else 0
    if per_member:
        res.min_member_ratio = round(min(got) / per_member, 4)
    lat = stats.latency
    res.samples = len(lat)
    res.p50_ms, res.p99_ms = ms(percentile(lat, 0.5)), ms(percentile(lat, 0.99))
    res.max_ms = ms(max(lat)) if lat else None
    if stats.reliable_latency:
        res.reliable_p99_ms = ms(percentile(stats.reliable_latency, 0.99))
        res.reliable_max_ms = ms(max(stats.reliable_latency))
    res.router_cpu = round((cpu1 - cpu0) / elapsed, 3)
    if res.published:
        res.router_cpu_us_per_publish = round((cpu1 - cpu0) / res.published * 1e6, 1)
    # Busy time of the router's core: well above router_cpu means other
    # processes on this shared machine took part of that core.
    res.router_core_busy = round((core1 - core0) / elapsed, 3)
    res.loadavg = [round(x, 2) for x in os.getloadavg()]
    res.router_rss_mb = round(rss_bytes(router.pid) / 2**20, 1)
    res.generator_cpu = round((gen1 - gen0) / elapsed, 3)
    if res.generator_cpu > 0:
        # Events the generator could handle on its whole core at this cost per event.
        res.generator_ceiling_ev_s = round(res.events_per_s / res.generator_cpu)
    res.disconnected = stats.disconnected
    res.errors += stats.errors[:5]
    return res


def _own_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def idle_sessions(router: Router, codec: Codec, count: int) -> dict[str, Any]:
    """RSS of the router before and after C{count} joined idle sessions."""
    await asyncio.sleep(2)
    before = rss_bytes(router.pid)
    stats = Stats(10**9)
    crowd: list[Member] = []
    try:
        for start in range(0, count, 500):
            batch = [[] for _ in range(min(500, count - start))]
            crowd += await connect_all(router, codec, batch, stats)
        await asyncio.sleep(3)
        after = rss_bytes(router.pid)
    finally:
        for m in crowd:
            m.close()
    return {
        "target": router.name,
        "serializer": codec.name,
        "mode": "idle",
        "sessions": count,
        "rss_before_mb": round(before / 2**20, 1),
        "rss_after_mb": round(after / 2**20, 1),
        "kb_per_session": round((after - before) / count / 1024, 2),
    }


class Bench:
    """Runs the requested modes for one target and serializer, fresh router per load."""

    def __init__(self, args: argparse.Namespace, target: str, serializer: str) -> None:
        self.args = args
        self.target = target
        self.codec = Codec(serializer)

    def router(self) -> Router:
        a = self.args
        if self.target == "hubsd":
            droppable = a.droppable if a.droppable is not None else BARE_PREFIX + ".naf"
            extra = f"droppable_topics = {droppable}" if droppable else ""
            return Hubsd(storage=a.hubsd_storage, extra_wamp=extra).start()
        if self.target in ROOM_TARGETS:
            droppable = a.droppable if a.droppable is not None else "hubsd.room..naf"
            extra = f"droppable_topics = {droppable}" if droppable else ""
            rooms_router = ROUTERS[self.target]
            assert issubclass(rooms_router, HubsdRooms)
            return rooms_router(
                storage=a.hubsd_storage, extra_wamp=extra, rate_messages=a.rate_messages
            ).start()
        return ROUTERS[self.target]().start()

    async def one(
        self,
        rooms: int,
        mode: str = "run",
        duration: float | None = None,
        hz: float = 0.0,
        entities: int = 1,
        joiners: int = 0,
    ) -> Result:
        a = self.args
        router = self.router()
        try:
            res = await load(
                router,
                self.codec,
                rooms,
                a.members,
                hz or a.hz,
                a.warmup,
                duration or a.duration,
                a.sample,
                mode,
                reliable_hz=a.reliable_hz if mode == "overload" else 0.0,
                entities=entities,
                joiners=joiners,
            )
            if router.process is not None and router.process.poll() is not None:
                res.errors.append(f"router exited {router.process.returncode}")
            return res
        finally:
            router.stop()

    async def sweep(self, report: list[dict[str, Any]]) -> float:
        """Highest sustainable load in rooms at C{--hz} (0 if the first load fails)."""
        best, fail = 0, 0
        rooms = self.args.rooms
        if self.target != "crossbar" and self.args.hubsd_first_rooms:
            rooms = self.args.hubsd_first_rooms
        for _ in range(self.args.max_steps):
            res = await self.step(rooms, report)
            if res.sustainable:
                best = rooms
                if rooms >= self.args.max_rooms:
                    break
                if fail:
                    rooms = (best + fail) // 2
                    if rooms == best:
                        break
                else:
                    rooms = min(self.args.max_rooms, max(rooms + 1, int(rooms * 1.4)))
            else:
                fail = rooms
                if fail - best <= 1:
                    break
                rooms = (best + fail) // 2 if best else max(1, fail // 2)
                if rooms == best:
                    break
        if best and fail == best + 1:
            return await self.fine(best, report)
        return float(best)

    async def step(self, rooms: int, report: list[dict[str, Any]], hz: float = 0.0) -> Result:
        res = await self.one(rooms, "sweep", hz=hz)
        emit(res, report)
        for _ in range(self.args.retries):
            if res.sustainable:
                break
            # This machine is shared: a failed step is confirmed once more.
            res = await self.one(rooms, "sweep", hz=hz)
            emit(res, report)
        return res

    async def fine(self, best: int, report: list[dict[str, Any]]) -> float:
        """Bisect the load between C{best} and C{best}+1 rooms.

        One room is a big step at a few rooms (2 -> 3 is +50%): the rooms
        stay C{best}+1 of the same size and the publish rate of every
        member is lowered instead, so the fan-out per publish is unchanged.
        """
        lo, hi = float(best), float(best + 1)
        for _ in range(self.args.fine_steps):
            mid = (lo + hi) / 2
            hz = round(self.args.hz * mid / (best + 1), 3)
            if (await self.step(best + 1, report, hz=hz)).sustainable:
                lo = mid
            else:
                hi = mid
        return lo

    async def overload(self, load: float, report: list[dict[str, Any]]) -> None:
        """C{load} rooms' worth of traffic (whole rooms, the rate scaled to match)."""
        rooms = math.ceil(load)
        hz = round(self.args.hz * load / rooms, 3)
        res = await self.one(rooms, "overload", self.args.overload_duration, hz=hz)
        emit(res, report)

    async def latejoin(self, load: float, report: list[dict[str, Any]]) -> None:
        """
        Late joiners in a room of C{--members} members with C{--entities} each,
        at C{load} rooms' worth of fan-out (whole rooms, rate scaled to match).
        """
        if self.target not in ROOM_TARGETS:
            raise RuntimeError(f"latejoin needs a room target, not {self.target}")
        rooms = max(1, math.ceil(load))
        hz = round(self.args.hz * load / rooms, 3)
        a = self.args
        for _ in range(1 + a.retries):
            res = await self.one(rooms, "latejoin", hz=hz, entities=a.entities, joiners=a.joiners)
            emit(res, report)
            if res.sustainable:
                break
            # The fan-out itself failed (on this shared machine, usually other
            # processes on the router's core): the joiners did not see
            # "that load", so the load is run once more.

    async def idle(self, report: list[dict[str, Any]]) -> None:
        router = self.router()
        try:
            row = await idle_sessions(router, self.codec, self.args.idle_sessions)
        finally:
            router.stop()
        print(json.dumps(row), flush=True)
        report.append(row)


def emit(res: Result, report: list[dict[str, Any]]) -> None:
    row = asdict(res)
    row["sustainable"] = res.sustainable
    report.append(row)
    print(
        f"{res.target:8} {res.serializer:7} {res.mode:8} rooms={res.rooms:3} hz={res.hz:g} "
        f"ev/s={res.events_per_s:>9.0f} ratio={res.ratio:.4f} "
        f"p50={res.p50_ms}ms p99={res.p99_ms}ms max={res.max_ms}ms "
        f"cpu={res.router_cpu:.2f} core={res.router_core_busy:.2f} rss={res.router_rss_mb}MB "
        f"gen_cpu={res.generator_cpu:.2f} gen_ceiling={res.generator_ceiling_ev_s} "
        f"disc={res.disconnected}"
        + (
            f" reliable={res.reliable_delivered}/{res.reliable_expected}"
            f" rel_p99={res.reliable_p99_ms}ms rss_series={res.rss_series_mb}"
            if res.mode == "overload"
            else ""
        )
        + (
            f" joiners={res.joiners} join->enter p50={percentile(res.join_enter_ms, 0.5)}ms"
            f" p99={percentile(res.join_enter_ms, 0.99)}ms"
            f" join p50={percentile(res.join_ms, 0.5)}ms"
            f" enter p50={percentile(res.enter_ms, 0.5)}ms"
            f" p99={percentile(res.enter_ms, 0.99)}ms"
            f" snapshot={res.snapshot_bytes[:1]}B/{res.snapshot_entities[:1]} entities"
            if res.mode == "latejoin"
            else ""
        )
        + (f" us/publish={res.router_cpu_us_per_publish}" if res.router_cpu_us_per_publish else "")
        + (f" errors={res.errors}" if res.errors else ""),
        flush=True,
    )


def table(report: list[dict[str, Any]]) -> str:
    """A Markdown table of the best sustainable load per target and serializer."""
    lines = [
        "| target | serializer | rooms | hz | delivered ev/s | ratio | p50 ms | p99 ms | max ms "
        "| router CPU | router RSS MB | generator CPU | generator ceiling ev/s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    best: dict[tuple[str, str], dict[str, Any]] = {}
    for row in report:
        if row.get("mode") in ("run", "sweep") and row.get("sustainable"):
            key = (row["target"], row["serializer"])
            if key not in best or row["events_per_s"] > best[key]["events_per_s"]:
                best[key] = row
    for (target, ser), r in sorted(best.items()):
        lines.append(
            f"| {target} | {ser} | {r['rooms']} | {r['hz']:g} | {r['events_per_s']:.0f} "
            f"| {r['ratio']:.4f} "
            f"| {r['p50_ms']} | {r['p99_ms']} | {r['max_ms']} | {r['router_cpu']:.2f} "
            f"| {r['router_rss_mb']} | {r['generator_cpu']:.2f} | {r['generator_ceiling_ev_s']} |"
        )
    return "\n".join(lines)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "--target",
        default="both",
        help="hubsd (bare router), hubsd-rooms (room rules on), crossbar, "
        "both (crossbar,hubsd), all (crossbar,hubsd,hubsd-rooms) or a comma list",
    )
    p.add_argument("--serializer", choices=["json", "msgpack", "both"], default="json")
    p.add_argument(
        "--mode",
        choices=["run", "sweep", "overload", "idle", "all", "latejoin", "rooms"],
        default="run",
        help="rooms: sweep every target, then late joiners at the hubsd-rooms sustainable load",
    )
    p.add_argument("--rooms", type=int, default=2, help="rooms (run, overload) or first step")
    p.add_argument("--members", type=int, default=25)
    p.add_argument("--hz", type=float, default=10.0)
    p.add_argument("--warmup", type=float, default=3.0, help="seconds before measuring")
    p.add_argument("--duration", type=float, default=10.0, help="measurement window, seconds")
    p.add_argument("--sample", type=int, default=50, help="decode one event in N for latency")
    p.add_argument("--max-rooms", type=int, default=80)
    p.add_argument("--max-steps", type=int, default=14)
    p.add_argument(
        "--fine-steps", type=int, default=2, help="bisections between best and best+1 rooms"
    )
    p.add_argument("--retries", type=int, default=1, help="re-runs of a failed sweep step")
    p.add_argument("--overload-duration", type=float, default=30.0)
    p.add_argument("--reliable-hz", type=float, default=0.5, help="chat publishes per member/s")
    p.add_argument("--idle-sessions", type=int, default=2000)
    p.add_argument(
        "--droppable",
        default=None,
        help="hubsd droppable_topics (default: the target's NAF topics)",
    )
    p.add_argument(
        "--hubsd-first-rooms",
        type=int,
        default=0,
        help="first sweep step of the hubsd targets (default: --rooms)",
    )
    p.add_argument(
        "--rate-messages", type=float, default=100, help="hubsd-rooms [rooms] rate_messages"
    )
    p.add_argument("--repeat", type=int, default=1, help="runs per target (mode run)")
    p.add_argument("--entities", type=int, default=8, help="entities per member (latejoin)")
    p.add_argument("--joiners", type=int, default=20, help="late joiners (latejoin)")
    p.add_argument("--hubsd-storage", default="memory", help="hubsd [storage] backend")
    p.add_argument("--generator-core", type=int, default=1)
    p.add_argument("--json-out", help="write every result here as JSON")
    return p.parse_args(argv)


async def main(args: argparse.Namespace) -> int:
    # Stop cleanly (routers stopped, results so far written) on SIGTERM and on
    # SIGINT, which a shell's background job otherwise ignores.
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    os.sched_setaffinity(0, {args.generator_core})
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    targets = {
        "both": ["crossbar", "hubsd"],
        "all": ["crossbar", "hubsd", "hubsd-rooms"],
        "phoenix": ["crossbar", "hubsd-rooms", "hubsd-phoenix", "hubsd-mixed"],
    }.get(args.target) or args.target.split(",")
    for t in targets:
        if t not in ROUTERS:
            raise SystemExit(f"unknown target {t!r}")
    serializers = ["json", "msgpack"] if args.serializer == "both" else [args.serializer]
    report: list[dict[str, Any]] = []
    started = time.time()
    code_before = _hubsd_code()
    try:
        await run_all(args, targets, serializers, report)
    finally:
        print()
        print(table(report))
        if args.json_out:
            meta = {
                "command": " ".join(sys.argv),
                "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cores "
                f"{_cpu_model()} Python {platform.python_version()}",
                "started": started,
                "event_loop": type(asyncio.get_running_loop()).__module__,
                "elapsed_s": round(time.time() - started, 1),
                # hubsd runs from this working tree, which may change meanwhile.
                "hubsd_code_before": code_before,
                "hubsd_code_after": _hubsd_code(),
            }
            out = {"meta": meta, "results": report}
            Path(args.json_out).write_text(json.dumps(out, indent=1))
    return 0


async def run_all(
    args: argparse.Namespace,
    targets: list[str],
    serializers: list[str],
    report: list[dict[str, Any]],
) -> None:
    # --repeat alternates the targets run after run (mode run), so that a
    # change in the machine's background load hits every target alike.
    reps = args.repeat if args.mode == "run" else 1
    for ser in serializers:
        for target in [t for _ in range(reps) for t in targets]:
            bench = Bench(args, target, ser)
            try:
                if args.mode == "run":
                    emit(await bench.one(args.rooms), report)
                elif args.mode == "sweep":
                    await bench.sweep(report)
                elif args.mode == "overload":
                    await bench.overload(args.rooms, report)
                elif args.mode == "idle":
                    await bench.idle(report)
                elif args.mode == "latejoin":
                    await bench.latejoin(args.rooms, report)
                elif args.mode == "rooms":
                    best = await bench.sweep(report)
                    if best and target in ROOM_TARGETS:
                        # The room on its own (25 members at --hz), then the
                        # same room inside the sustainable fan-out load.
                        await bench.latejoin(1, report)
                        await bench.latejoin(best, report)
                else:
                    best = await bench.sweep(report)
                    if best:
                        await bench.overload(2 * best, report)
                    await bench.idle(report)
            except RuntimeError as e:
                print(f"{target} {ser}: {e}", file=sys.stderr, flush=True)
                report.append({"target": target, "serializer": ser, "error": str(e)})


def _hubsd_code() -> str:
    """The commit hubsd runs from, with the files of hubsd/ that differ from it."""
    repo = TREE

    def git(*cmd: str) -> str:
        done = subprocess.run(["git", *cmd], cwd=repo, capture_output=True, text=True)
        return done.stdout.strip()

    changed = git("status", "--porcelain", "--", "hubsd").splitlines()
    return git("rev-parse", "--short", "HEAD") + (f" + {len(changed)} changed" if changed else "")


def _cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def run(args: argparse.Namespace) -> int:
    """Run on uvloop when it is installed: its cheaper reads raise the generator's ceiling."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main(args))
    return uvloop.run(main(args))


if __name__ == "__main__":
    sys.exit(run(parse()))
