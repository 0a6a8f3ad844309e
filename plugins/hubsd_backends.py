"""The backends that ship with hubsd (Twisted plugins; see hubsd.backends)."""

from hubsd.backends import BackendPlugin
from hubsd.options import Duration, Integer, Option, Text
from hubsd.sfu.options import Addresses, PortRange

sqlite = BackendPlugin(
    "storage",
    "sqlite",
    "Embedded SQLite database in the state directory (default).",
    "hubsd.storage.sqlite:SQLiteRoomStore.fromConfig",
    (
        Option(
            "path",
            Text(),
            "hubsd.sqlite3",
            "Database file; relative paths are inside [hubsd] state_dir.",
        ),
    ),
)

postgres = BackendPlugin(
    "storage",
    "postgres",
    "PostgreSQL through txpostgres; needed for several nodes.",
    "hubsd.storage.postgres:PostgresRoomStore.fromConfig",
    (
        Option("dsn", Text(), None, "libpq connection string, e.g. host=db dbname=hubsd."),
        Option("pool_size", Integer(1, 100), "4", "Connections kept open."),
        Option("connect_timeout", Duration(minimum=0.1), "10s", "Give up connecting after this."),
        Option("retry_interval", Duration(minimum=0.1), "5s", "Wait between reconnection tries."),
    ),
)

memory_storage = BackendPlugin(
    "storage",
    "memory",
    "Keeps everything in memory and forgets it at exit (tests, demos).",
    "hubsd.storage.memory:MemoryRoomStore.fromConfig",
)

filesystem = BackendPlugin(
    "files",
    "filesystem",
    "Encrypted blobs as files in the state directory (default).",
    "hubsd.files.filesystem:FilesystemFileStore.fromConfig",
    (Option("path", Text(), "files", "Blob directory; relative paths are inside state_dir."),),
)

memory_files = BackendPlugin(
    "files",
    "memory",
    "Keeps blobs in memory (tests, demos).",
    "hubsd.files.memory:MemoryFileStore.fromConfig",
)

no_sfu = BackendPlugin(
    "sfu",
    "none",
    "No voice or video forwarding.",
    "hubsd.sfu.none:NoSFU.fromConfig",
)

local_cluster = BackendPlugin(
    "cluster",
    "local",
    "A single node: nothing crosses processes.",
    "hubsd.cluster.local:LocalClusterBus.fromConfig",
)

aiortc_sfu = BackendPlugin(
    "sfu",
    "aiortc",
    "Voice and video forwarded as RTP by aiortc worker processes (default).",
    "hubsd.sfu.aiortc_sfu:AiortcSFU.fromConfig",
    (
        Option(
            "bind_addresses",
            Addresses(),
            "127.0.0.1",
            "IP addresses of the interfaces ICE offers host candidates on (comma separated); "
            "only these are used.",
        ),
        Option(
            "udp_ports",
            PortRange(),
            "",
            "UDP ports media sockets bind, e.g. 40000-40999 (open them in the firewall); "
            "empty: any free port.",
        ),
        Option(
            "announced_address",
            Addresses(optional=True, single=True),
            "",
            "Public IP address put in candidates instead of the bound one, for a server "
            "behind 1:1 NAT; empty: announce the bound addresses.",
        ),
        Option("workers", Integer(1, 64), "1", "Media worker processes (rooms are spread)."),
        Option(
            "ice_timeout",
            Duration(minimum=1, maximum=300),
            "15s",
            "A handle whose ICE and DTLS are not up by then is closed.",
        ),
        Option(
            "consent_interval",
            Duration(minimum=0.1, maximum=60),
            "5s",
            "ICE consent checks this often; a peer that misses 6 is dropped.",
        ),
    ),
)
