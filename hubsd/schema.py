"""
The config schema, declared once as data.

Every section and key hubsd reads is listed here with its type, default and
meaning; ``conf/hubsd.ini`` documents the same keys and a test keeps the two
in step. Keys that a backend adds live with its plugin (``plugins/``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from hubsd.config import Config, ConfigCheck, SectionSpec
from hubsd.options import (
    Boolean,
    ByteSize,
    Choice,
    Duration,
    Endpoint,
    FilePath,
    Integer,
    List,
    Number,
    Option,
    Text,
)
from hubsd.rooms.permissions import MEMBER_BITS

HUBSD = SectionSpec(
    "hubsd",
    "The daemon itself.",
    (
        Option(
            "state_dir",
            Text(),
            "state",
            "Directory for the database, stored files and keys; created if missing. "
            "Relative paths are taken from the working directory.",
        ),
        Option(
            "public_origin",
            Text(),
            "http://127.0.0.1:8080",
            "The origin clients use to reach this server (for links and CORS).",
        ),
    ),
)

LISTEN = SectionSpec(
    "listen",
    "Where hubsd accepts connections (Twisted endpoint strings).",
    (
        Option(
            "web",
            Endpoint(),
            "tcp:8080:interface=127.0.0.1",
            "HTTP API, file serving, and the websockets /ws (WAMP) and /socket (Phoenix).",
        ),
        Option(
            "rawsocket",
            Endpoint(optional=True),
            "",
            "WAMP over RawSocket; empty disables it.",
        ),
    ),
)

WAMP = SectionSpec(
    "wamp",
    "The built-in WAMP router.",
    (
        Option("realms", List(), "hubsd", "Realms clients may join."),
        Option(
            "max_message_size",
            ByteSize(minimum=1024, maximum=64 * 1024 * 1024),
            "1MiB",
            "Largest websocket message accepted; bigger ones close the session.",
        ),
        Option(
            "auto_ping_interval",
            Duration(minimum=0),
            "10s",
            "Websocket ping interval; 0 disables pings.",
        ),
        Option(
            "auto_ping_timeout",
            Duration(minimum=0),
            "5s",
            "Close a connection whose pong is this late.",
        ),
        Option(
            "open_handshake_timeout",
            Duration(minimum=0),
            "5s",
            "Close a connection that has not finished the websocket handshake and the "
            "WAMP join by then; 0 disables the timeout.",
        ),
        Option(
            "outgoing_soft_limit",
            ByteSize(minimum=1024),
            "256KiB",
            "Queued bytes for one session above which droppable events are dropped.",
        ),
        Option(
            "outgoing_hard_limit",
            ByteSize(minimum=1024),
            "4MiB",
            "Queued bytes for one session above which the session is disconnected.",
        ),
        Option(
            "droppable_topics",
            List(),
            "",
            "Topic patterns whose events may be dropped under backpressure "
            "(as if published with droppable=true).",
        ),
        Option(
            "overload_lag",
            Duration(minimum=0),
            "25ms",
            "When the reactor runs this late, droppable publications are shed before "
            "fan-out so reliable messages stay on time; 0 disables shedding.",
        ),
        Option(
            "anonymous_role",
            Text(),
            "anonymous",
            "Role given to clients that authenticate as anonymous; empty disables anonymous.",
        ),
        Option(
            "call_timeout",
            Duration(minimum=0),
            "0",
            "Default timeout for calls that set none; 0 means no timeout.",
        ),
    ),
)

WAMP_PRINCIPAL = SectionSpec(
    "wamp.principal",
    "A static WAMP principal: [wamp.principal:AUTHID].",
    (
        Option("realm", Text(), None, "Realm the principal may join."),
        Option("role", Text(), None, "authrole given after authentication."),
        Option("ticket", Text(), "", "Secret for the 'ticket' method; empty disables it."),
        Option("wampcra_secret", Text(), "", "Secret for the 'wampcra' method; empty disables it."),
        Option(
            "wampcra_salt",
            Text(),
            "",
            "Salt for salted WAMP-CRA: the client derives its key with PBKDF2; empty is unsalted.",
        ),
        Option("wampcra_iterations", Integer(1, 10_000_000), "1000", "PBKDF2 iterations."),
        Option("wampcra_keylen", Integer(16, 128), "32", "PBKDF2 derived key length in bytes."),
    ),
    templated=True,
)

_PATTERNS = (
    "URI patterns: '*' is everything, 'a.b.*' a prefix, 'a..c' a wildcard, "
    "anything else exact. Empty allows nothing."
)

WAMP_ROLE = SectionSpec(
    "wamp.role",
    "What a WAMP role may do in a realm: [wamp.role:NAME].",
    (
        Option("realm", Text(), None, "Realm the rules apply to."),
        Option("publish", List(), "", "Topics the role may publish to. " + _PATTERNS),
        Option("subscribe", List(), "", "Topics the role may subscribe to."),
        Option("call", List(), "", "Procedures the role may call."),
        Option("register", List(), "", "Procedures the role may register."),
    ),
    templated=True,
)


def _check_rooms(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    if values["default_room_size"] > values["max_room_size"]:
        return [("default_room_size", "must not be more than max_room_size")]
    return []


ROOMS = SectionSpec(
    "rooms",
    "The room server: defaults of new rooms and the limits every room keeps.",
    (
        Option(
            "default_room_size",
            Integer(1, 10_000),
            "24",
            "Seats of a new room when its creator gives none.",
        ),
        Option(
            "max_room_size",
            Integer(1, 10_000),
            "50",
            "Largest room_size a room may be given.",
        ),
        Option(
            "default_member_permissions",
            List(choices=tuple(MEMBER_BITS)),
            "voice_chat, text_chat",
            "Member permissions of a new room when its creator gives none: "
            + ", ".join(MEMBER_BITS)
            + ".",
        ),
        Option(
            "allow_anonymous_create",
            Boolean(),
            "true",
            "Whether sessions without an account may create rooms.",
        ),
        Option(
            "reconnect_grace",
            Duration(minimum=0),
            "15s",
            "How long a dropped member's seat, presence and entities are held for it to "
            "reconnect; 0 disables holding.",
        ),
        Option(
            "kick_duration",
            Duration(minimum=0),
            "10m",
            "How long a kicked session may not rejoin the room.",
        ),
        Option(
            "rate_messages",
            Number(above=0),
            "60",
            "Messages per second one member may publish to a room.",
        ),
        Option(
            "rate_bytes",
            ByteSize(minimum=1),
            "64KiB",
            "Bytes per second one member may publish to a room.",
        ),
        Option(
            "rate_burst",
            Duration(above=0),
            "2s",
            "Depth of the two rate buckets, in seconds of the rate.",
        ),
        Option(
            "rate_kick_after",
            Duration(minimum=0),
            "10s",
            "A member over the rate limit for this long is kicked; 0 never kicks.",
        ),
        Option(
            "max_chat_length",
            Integer(1, 100_000),
            "4096",
            "Longest chat message body, in characters.",
        ),
        Option(
            "max_entities",
            Integer(1, 1_000_000),
            "5000",
            "Networked entities one room keeps; more are dropped.",
        ),
        Option("max_pinned", Integer(0, 100_000), "1000", "Pinned objects per room."),
        Option(
            "max_profile_bytes",
            ByteSize(minimum=256, maximum=1024 * 1024),
            "2KiB",
            "Largest member profile (display name, avatar and extra fields).",
        ),
        Option(
            "perms_token_lifetime",
            Duration(minimum=1),
            "5m",
            "Lifetime of a perms token (the SFU's proof of a member's permissions).",
        ),
        Option(
            "session_token_lifetime",
            Duration(minimum=1),
            "1d",
            "Lifetime of a session token (an anonymous member's identity).",
        ),
    ),
    check=_check_rooms,
)


def _backend_section(kind: str, default: str, doc: str, *extra: Option) -> SectionSpec:
    backend = Option("backend", Text(), default, f"Name of the {kind} backend plugin.")
    return SectionSpec(kind, doc, (backend, *extra), backend_kind=kind)


STORAGE = _backend_section(
    "storage", "sqlite", "Rooms, accounts, roles, pinned objects and file metadata."
)
FILES = _backend_section(
    "files",
    "filesystem",
    "Uploaded files, encrypted at rest.",
    Option("max_upload_size", ByteSize(minimum=1), "100MiB", "Largest upload accepted."),
)
SFU = _backend_section("sfu", "none", "Selective forwarding unit for voice and video.")
CLUSTER = _backend_section("cluster", "local", "How several hubsd nodes share rooms.")


def _check_manhole(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    from hubsd.ops.manhole import endpoint_is_local

    problems = []
    for key in ("telnet", "ssh"):
        endpoint = values[key]
        if endpoint and not values["allow_remote"] and not endpoint_is_local(endpoint):
            problems.append(
                (key, "console must listen on loopback (interface=127.0.0.1) or a unix socket")
            )
    if (values["telnet"] or values["ssh"]) and not (values["passwd"] or values["authorized_keys"]):
        problems.append(("passwd", "a console endpoint is set but no passwd or authorized_keys"))
    if values["telnet"] and not values["passwd"]:
        problems.append(("passwd", "the telnet console needs a passwd file"))
    return problems


MANHOLE = SectionSpec(
    "manhole",
    "The admin console (a Python prompt inside the daemon). Off unless an endpoint is set.",
    (
        Option(
            "telnet",
            Endpoint(optional=True),
            "",
            "Telnet console endpoint, e.g. tcp:2323:interface=127.0.0.1; empty disables it.",
        ),
        Option(
            "ssh",
            Endpoint(optional=True),
            "",
            "SSH console endpoint, e.g. tcp:2222:interface=127.0.0.1; empty disables it.",
        ),
        Option(
            "passwd",
            FilePath(),
            "",
            "File of 'user:password' lines for telnet and SSH password logins (chmod 600); "
            "$CREDENTIALS_DIRECTORY/NAME is a systemd credential.",
        ),
        Option(
            "authorized_keys",
            FilePath(),
            "",
            "File of SSH public keys allowed to log in (OpenSSH authorized_keys format, "
            "chmod 600); $CREDENTIALS_DIRECTORY/NAME is a systemd credential.",
        ),
        Option(
            "allow_remote",
            Boolean(),
            "false",
            "Allow console endpoints on non-loopback interfaces (dangerous).",
        ),
    ),
    check=_check_manhole,
)

METRICS = SectionSpec(
    "metrics",
    "Prometheus metrics.",
    (
        Option(
            "endpoint",
            Endpoint(optional=True),
            "",
            "Serve /metrics here, e.g. tcp:9100:interface=127.0.0.1; empty disables it.",
        ),
    ),
)

WEB = SectionSpec(
    "web",
    "The browser client (docs/web-client.md).",
    (
        Option(
            "client",
            Boolean(),
            "true",
            "Serve the web client at / and its files at /assets/; false leaves "
            "those paths unanswered (an API-only server).",
        ),
    ),
)

LOG = SectionSpec(
    "log",
    "Logging (twisted.logger).",
    (
        Option("format", Choice(("text", "json")), "text", "text lines, or JSON lines."),
        Option(
            "level",
            Choice(("debug", "info", "warn", "error", "critical")),
            "info",
            "Lowest level written.",
        ),
        Option("file", Text(), "-", "Where to write the log; '-' is standard output."),
    ),
)

SCHEMA: tuple[SectionSpec, ...] = (
    HUBSD,
    LISTEN,
    WAMP,
    WAMP_PRINCIPAL,
    WAMP_ROLE,
    ROOMS,
    STORAGE,
    FILES,
    SFU,
    CLUSTER,
    MANHOLE,
    METRICS,
    WEB,
    LOG,
)


def _realms_are_served(config: Config) -> Iterator[tuple[str, str | None, str]]:
    """A principal or role names a realm of ``[wamp] realms``: else it could never apply."""
    realms = config.section("wamp")["realms"]
    served = ", ".join(realms) or "none"
    for kind in ("wamp.principal", "wamp.role"):
        for name, values in sorted(config.templated(kind).items()):
            realm = values.get("realm")
            if realm is not None and realm not in realms:
                yield (
                    f"{kind}:{name}",
                    "realm",
                    f"realm {realm!r} is not in [wamp] realms ({served})",
                )


CHECKS: tuple[ConfigCheck, ...] = (_realms_are_served,)
"""The rules across sections, run after every section is checked."""
