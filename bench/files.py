"""
File store benchmark: hubsd's encrypted uploads and downloads against plain
twisted.web serving the same bytes, in the same run.

Two servers run pinned to core 0, both up, asked in turn request by request
(one busy at a time): the hubsd daemon (files backend ``filesystem``, AES-256-GCM
chunks) and a plain twisted.web server (``serve-plain`` below:
``twisted.web.static.File`` over a directory holding the same bytes, and an
upload resource that lets twisted.web take the body as it does by default:
spooled to a temporary file, and a multipart form parsed into
``request.args``, and copied to a file). The client is curl,
pinned to core 1, so that the client's own speed is not Python's.

Measured (each bounded in count; the script stops by itself):

- upload MB/s of 1 MiB and 50 MiB files, hubsd vs plain;
- serve MB/s of the same files (whole-file GETs), hubsd vs ``static.File``
  (target: hubsd >= 50% of static);
- the hubsd process's RSS before and during a 100 MiB upload, sampled every
  20 ms (target: growth < 20 MiB);
- room fan-out (bench/fanout.py's room load through the room rules: rooms of
  25 members at 10 Hz) without and then with a 50 MiB file being downloaded
  over and over (target: p99 < 100 ms while the file streams).

Example: ``.venv/bin/python bench/files.py --json-out /tmp/files.json``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from servers import Hubsd, Router, rss_bytes  # noqa: E402

MiB = 1024 * 1024
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


class FilesHubsd(Hubsd):
    """hubsd with the room rules (as bench/fanout.py's hubsd-rooms) and big uploads allowed."""

    name = "hubsd-rooms"

    def __init__(self, core: int = 0) -> None:
        extra = (
            "[rooms]\nrate_messages = 100\nmax_room_size = 1000\n"
            "[files]\nbackend = filesystem\nmax_upload_size = 200MiB\n"
        )
        super().__init__(core, "memory", "", extra)


class PlainWeb(Router):
    """This script's ``serve-plain``: static.File and a spooling upload resource."""

    name = "plain-twisted-web"

    def __init__(self, core: int, directory: Path) -> None:
        super().__init__(core)
        self.directory = directory

    def command(self) -> list[str]:
        return [sys.executable, __file__, "serve-plain", str(self.port), str(self.directory)]


def serve_plain(port: int, directory: str) -> None:
    """The plain peer: ``/static/<name>`` and ``POST /upload``."""
    import shutil
    import uuid

    from twisted.internet import reactor
    from twisted.web.resource import Resource
    from twisted.web.server import Site
    from twisted.web.static import File

    class Upload(Resource):
        isLeaf = True

        def render_POST(self, request: Any) -> bytes:
            # twisted.web has spooled the body already (a temporary file
            # above 100 KB); keep it, as a plain upload handler would.
            with open(os.path.join(directory, "up-" + uuid.uuid4().hex), "wb") as out:
                shutil.copyfileobj(request.content, out, 1024 * 1024)
            return b'{"ok": true}'

    root = Resource()
    root.putChild(b"static", File(directory))
    root.putChild(b"upload", Upload())
    reactor.listenTCP(port, Site(root), interface="127.0.0.1")  # type: ignore[attr-defined]
    reactor.run()  # type: ignore[attr-defined]


def curl(core: int, *args: str) -> dict[str, Any]:
    """Run curl on C{core}; its -w figures (status, bytes, seconds) and output."""
    out = subprocess.run(
        [
            "taskset",
            "-c",
            str(core),
            "curl",
            "-sS",
            "--max-time",
            "300",
            "-w",
            "\n%{http_code} %{size_download} %{size_upload} %{time_total}",
            *args,
        ],
        capture_output=True,
        check=True,
    ).stdout.decode()
    body, _, figures = out.rpartition("\n")
    code, down, up, total = figures.split()
    return {"status": int(code), "down": int(down), "up": int(up), "s": float(total), "body": body}


def mbps(bytes_: int, seconds: float) -> float:
    return round(bytes_ / MiB / seconds, 1) if seconds > 0 else 0.0


def upload_hubsd(port: int, path: Path, core: int) -> tuple[dict[str, Any], dict[str, Any]]:
    r = curl(
        core,
        "-o",
        "-",
        "-F",
        f"media=@{path};type=image/png",
        "-F",
        "promotion_mode=with_token",
        f"http://127.0.0.1:{port}/api/v1/media",
    )
    if r["status"] != 200:
        raise RuntimeError(f"hubsd upload: {r['status']} {r['body'][:200]}")
    return r, json.loads(r["body"])


def upload_plain(port: int, path: Path, core: int) -> dict[str, Any]:
    r = curl(core, "-o", "/dev/null", "-F", f"media=@{path}", f"http://127.0.0.1:{port}/upload")
    if r["status"] != 200:
        raise RuntimeError(f"plain upload: {r['status']}")
    return r


def download(url: str, core: int, size: int) -> dict[str, Any]:
    r = curl(core, "-o", "/dev/null", url)
    if r["status"] != 200 or r["down"] != size:
        raise RuntimeError(f"GET {url}: {r['status']}, {r['down']} of {size} bytes")
    return r


def throughput(runs: list[dict[str, Any]], key: str) -> float:
    """MB/s over all runs (total bytes / total time), more stable than a mean of rates."""
    return mbps(sum(r[key] for r in runs), sum(r["s"] for r in runs))


class RssSampler:
    """Samples a process's RSS every C{period} seconds in a thread; keeps the peak."""

    def __init__(self, pid: int, period: float = 0.02) -> None:
        self.pid = pid
        self.period = period
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes(self.pid))
            time.sleep(self.period)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def make_files(directory: Path, sizes: list[int]) -> dict[int, Path]:
    paths = {}
    for size in sizes:
        path = directory / f"file-{size}.png"
        with open(path, "wb") as f:
            f.write(PNG)
            left = size - len(PNG)
            while left:
                n = min(left, 4 * MiB)
                f.write(os.urandom(n))
                left -= n
        paths[size] = path
    return paths


def transfer_figures(args: argparse.Namespace, files: dict[int, Path], data_dir: Path) -> dict:
    """
    Uploads and downloads, hubsd and plain alternating request by request
    (both servers up, each pinned to the server core, only one busy at a
    time), so that a change in the machine's background load hits both alike.
    """
    out: dict[str, Any] = {}
    gen = args.client_core
    hubsd = FilesHubsd(args.server_core).start()
    plain = PlainWeb(args.server_core, data_dir).start()
    try:
        for size, reps in ((MiB, args.small_reps), (50 * MiB, args.large_reps)):
            label = f"{size // MiB}MiB"
            ups: dict[str, list[dict[str, Any]]] = {"hubsd": [], "plain": []}
            for _ in range(reps):
                r, reply = upload_hubsd(hubsd.port, files[size], gen)
                ups["hubsd"].append(r)
                ups["plain"].append(upload_plain(plain.port, files[size], gen))
            url = (
                f"http://127.0.0.1:{hubsd.port}/files/{reply['file_id']}.png"
                f"?token={reply['meta']['access_token']}"
            )
            static_url = f"http://127.0.0.1:{plain.port}/static/{files[size].name}"
            gets: dict[str, list[dict[str, Any]]] = {"hubsd": [], "static": []}
            for _ in range(reps * 2):
                gets["hubsd"].append(download(url, gen, size))
                gets["static"].append(download(static_url, gen, size))
            out[f"upload_{label}_hubsd_MBps"] = throughput(ups["hubsd"], "up")
            out[f"upload_{label}_plain_MBps"] = throughput(ups["plain"], "up")
            out[f"serve_{label}_hubsd_MBps"] = throughput(gets["hubsd"], "down")
            out[f"serve_{label}_static_MBps"] = throughput(gets["static"], "down")
            hub, static = out[f"serve_{label}_hubsd_MBps"], out[f"serve_{label}_static_MBps"]
            out[f"serve_{label}_hubsd_of_static"] = round(hub / static, 2) if static else None
        # RSS during a 100 MiB upload, each server on its own.
        for name, server, send in (
            ("hubsd", hubsd, lambda: upload_hubsd(hubsd.port, files[100 * MiB], gen)[0]),
            ("plain", plain, lambda: upload_plain(plain.port, files[100 * MiB], gen)),
        ):
            time.sleep(0.5)
            before = rss_bytes(server.pid)
            with RssSampler(server.pid) as sampler:
                r = send()
            out[f"rss_before_100MiB_upload_{name}_MiB"] = round(before / MiB, 1)
            out[f"rss_peak_100MiB_upload_{name}_MiB"] = round(sampler.peak / MiB, 1)
            out[f"rss_growth_100MiB_upload_{name}_MiB"] = round((sampler.peak - before) / MiB, 1)
            out[f"upload_100MiB_{name}_MBps"] = mbps(r["up"], r["s"])
    finally:
        hubsd.stop()
        plain.stop()
    return out


async def fanout_figures(args: argparse.Namespace, files: dict[int, Path]) -> dict[str, Any]:
    """Room fan-out p99 without, then with, a 50 MiB file streaming from the same daemon."""
    from fanout import load
    from wampload import Codec

    os.sched_setaffinity(0, {args.client_core})
    out: dict[str, Any] = {}
    hubsd = FilesHubsd(args.server_core).start()
    try:
        _, reply = upload_hubsd(hubsd.port, files[50 * MiB], args.client_core)
        url = (
            f"http://127.0.0.1:{hubsd.port}/files/{reply['file_id']}.png"
            f"?token={reply['meta']['access_token']}"
        )
        codec = Codec("json")
        for label in ("quiet", "streaming"):
            streamer = None
            done_file = Path(tempfile.mkstemp(prefix="bench-files-streamed-")[1])
            if label == "streaming":
                # A bounded loop of downloads, stopped when the load is measured;
                # each finished download appends its size to done_file.
                fetch = f"curl -s --max-time 60 -o /dev/null -w '%{{size_download}}\\n' '{url}'"
                script = f"for i in $(seq {args.stream_count}); do {fetch} >> {done_file}; done"
                streamer = await asyncio.create_subprocess_exec(
                    "taskset",
                    "-c",
                    str(args.client_core),
                    "sh",
                    "-c",
                    script,
                    start_new_session=True,
                )
            started = time.monotonic()
            res = await load(
                hubsd, codec, args.rooms, 25, 10.0, args.warmup, args.duration, sample_every=4
            )
            elapsed = time.monotonic() - started
            if streamer is not None:
                if streamer.returncode is not None:
                    res.errors.append("the download loop ended before the load did")
                os.killpg(streamer.pid, signal.SIGTERM)
                await streamer.wait()
            streamed = sum(int(x) for x in done_file.read_text().split())
            done_file.unlink()
            out[label] = {
                "rooms": args.rooms,
                "members": 25,
                "hz": 10,
                "ratio": round(res.ratio, 4),
                "events_per_s": round(res.events_per_s),
                "p50_ms": res.p50_ms,
                "p99_ms": res.p99_ms,
                "max_ms": res.max_ms,
                "errors": res.errors,
                "seconds": round(elapsed, 1),
                "file_MBps_meanwhile": mbps(streamed, elapsed),
            }
            print(f"fan-out {label}: {out[label]}", flush=True)
    finally:
        hubsd.stop()
    return out


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--server-core", type=int, default=0)
    p.add_argument("--client-core", type=int, default=1)
    p.add_argument("--small-reps", type=int, default=20, help="1 MiB uploads (downloads: twice)")
    p.add_argument("--large-reps", type=int, default=3, help="50 MiB uploads (downloads: twice)")
    p.add_argument("--rooms", type=int, default=4, help="rooms of the fan-out load")
    p.add_argument("--warmup", type=float, default=3.0)
    p.add_argument("--duration", type=float, default=15.0)
    p.add_argument("--stream-count", type=int, default=200, help="most downloads while streaming")
    p.add_argument("--skip-fanout", action="store_true")
    p.add_argument("--json-out", default="")
    return p.parse_args(argv)


def main(args: argparse.Namespace) -> int:
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="bench-files-") as tmp:
        data_dir = Path(tmp)
        files = make_files(data_dir, [MiB, 50 * MiB, 100 * MiB])
        results: dict[str, Any] = {"transfers": transfer_figures(args, files, data_dir)}
        for key, value in results["transfers"].items():
            print(f"{key}: {value}", flush=True)
        if not args.skip_fanout:
            results["fanout"] = asyncio.run(fanout_figures(args, files))
    results["meta"] = {
        "command": " ".join(sys.argv),
        "machine": f"{platform.machine()} {os.cpu_count()} cores Python "
        f"{platform.python_version()}",
        "elapsed_s": round(time.time() - started, 1),
    }
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "serve-plain":
        serve_plain(int(sys.argv[2]), sys.argv[3])
    else:
        sys.exit(main(parse()))
