"""
Media resolution benchmark: what the resolver costs on top of a plain GET.

An origin in another process (twisted.web.static.File on loopback) serves an
800x600 PNG (about 30 KB) and an HTML page with an OpenGraph picture. In
this process, for each kind:

- ``bare``: Twisted's Agent GETs the same URL and reads the body (the peer);
- ``resolve``: ``MediaResolver.resolve`` on distinct URLs (no cache hits):
  address checks, the body, Pillow's thumbnail in the worker threads (and
  for a page, the page, its parsing, then the picture's fetch and thumbnail).

Each runs ``--count`` requests, ``--concurrency`` at a time. Printed per
mode: requests/s, p50 and p99 latency, and the largest reactor lag seen by a
10 ms timer meanwhile (how long the reactor, and so every room, was held up).
Example: ``.venv/bin/python bench/media.py --count 300 --concurrency 8``
"""

from __future__ import annotations

import argparse
import io
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

from PIL import Image
from twisted.internet import defer, reactor, task
from twisted.web.client import Agent, readBody

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hubsd.media.resolver import MediaResolver, MediaSettings  # noqa: E402

ORIGIN = """
import sys
from twisted.internet import reactor
from twisted.web.server import Site
from twisted.web.static import File
reactor.listenTCP(int(sys.argv[2]), Site(File(sys.argv[1])), interface="127.0.0.1")
reactor.run()
"""

PAGE = """<html><head><title>t</title><meta property="og:title" content="A page">
<meta property="og:image" content="/image.png"></head><body>{filler}</body></html>"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_site(root: Path) -> None:
    image = Image.new("RGB", (800, 600), (200, 40, 40))
    for x in range(0, 800, 25):
        image.paste((x % 256, 100, 255 - x % 256), (x, 0, x + 4, 600))
    out = io.BytesIO()
    image.save(out, "PNG")
    (root / "image.png").write_bytes(out.getvalue())
    (root / "page.html").write_text(PAGE.format(filler="<p>words</p>" * 2000))


class Lag:
    """The largest lateness of a 10 ms timer."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._last = time.perf_counter()
        self._loop = task.LoopingCall(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.worst = max(self.worst, now - self._last - 0.010)
        self._last = now

    def start(self) -> None:
        self.worst, self._last = 0.0, time.perf_counter()
        self._loop.start(0.010, now=False)

    def stop(self) -> float:
        self._loop.stop()
        return self.worst


async def run(label: str, count: int, concurrency: int, one: Any) -> None:
    latencies: list[float] = []
    semaphore = defer.DeferredSemaphore(concurrency)
    lag = Lag()

    async def timed(i: int) -> None:
        start = time.perf_counter()
        await one(i)
        latencies.append(time.perf_counter() - start)

    lag.start()
    began = time.perf_counter()
    await defer.gatherResults(
        [semaphore.run(lambda i=i: defer.ensureDeferred(timed(i))) for i in range(count)],
        consumeErrors=True,
    )
    elapsed = time.perf_counter() - began
    worst = lag.stop()
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    p50 = statistics.median(latencies)
    print(
        f"{label:<18} {count / elapsed:8.1f} req/s   p50 {p50 * 1000:6.1f} ms"
        f"   p99 {p99 * 1000:6.1f} ms   reactor lag max {worst * 1000:6.1f} ms"
    )


async def main(args: argparse.Namespace) -> None:
    # readBody warns about Agent's own transport; the body is read all the same.
    warnings.filterwarnings("ignore", "Using readBody", DeprecationWarning)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_site(root)
        port = free_port()
        origin = subprocess.Popen([sys.executable, "-c", ORIGIN, str(root), str(port)])
        try:
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), 0.1).close()
                    break
                except OSError:
                    time.sleep(0.05)
            settings = replace(
                MediaSettings(),
                allow_networks=("127.0.0.1/32",),
                cache_entries=10,
                image_threads=args.threads,
                max_fetches=10_000,
            )
            media = MediaResolver(settings, reactor, "http://127.0.0.1")
            media.start()
            agent = Agent(reactor)
            base = f"http://127.0.0.1:{port}"
            print(f"count {args.count}, concurrency {args.concurrency}, threads {args.threads}")
            for path in ("/image.png", "/page.html"):

                async def bare(i: int, path: str = path) -> None:
                    response = await agent.request(b"GET", f"{base}{path}?n={i}".encode())
                    await readBody(response)

                async def resolve(i: int, path: str = path) -> None:
                    await media.resolve({"media": {"url": f"{base}{path}?n={i}"}})

                await run(f"bare {path}", args.count, args.concurrency, bare)
                await run(f"resolve {path}", args.count, args.concurrency, resolve)
            media.stop()
        finally:
            origin.terminate()
            origin.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    arguments = parser.parse_args()
    task.react(lambda _reactor: defer.ensureDeferred(main(arguments)))
