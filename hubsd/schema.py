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
from hubsd.files.sniff import EXTENSIONS
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


def _check_accounts(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    problems = []
    if values["smtp_host"] and not values["sender"]:
        problems.append(("sender", "a sender address is required when smtp_host is set"))
    if values["sender"] and values["sender"].count("@") != 1:
        problems.append(("sender", "must be an e-mail address such as hubs@example.org"))
    if bool(values["smtp_username"]) != bool(values["smtp_password_file"]):
        problems.append(("smtp_password_file", "smtp_username and smtp_password_file go together"))
    if not values["verify_path"].startswith("/"):
        problems.append(("verify_path", "must be a path starting with /"))
    return problems


ACCOUNTS = SectionSpec(
    "accounts",
    "Accounts and sign-in by e-mailed link. Off while smtp_host is empty.",
    (
        Option(
            "smtp_host",
            Text(),
            "",
            "SMTP server that sends the sign-in e-mails; empty disables sign-in by e-mail.",
        ),
        Option("smtp_port", Integer(1, 65535), "587", "Port of the SMTP server."),
        Option(
            "smtp_security",
            Choice(("starttls", "tls", "none")),
            "starttls",
            "starttls (required, refused if the server does not offer it), tls "
            "(implicit TLS, usually port 465) or none (loopback relays only).",
        ),
        Option(
            "smtp_ca_file",
            FilePath(),
            "",
            "PEM file of the certificate authorities trusted for the SMTP server; empty "
            "trusts the system's.",
        ),
        Option("smtp_username", Text(), "", "User name for SMTP AUTH; empty sends without AUTH."),
        Option(
            "smtp_password_file",
            FilePath(),
            "",
            "File holding the SMTP password (chmod 600); $CREDENTIALS_DIRECTORY/NAME is a "
            "systemd credential. The password is never logged.",
        ),
        Option(
            "smtp_timeout",
            Duration(minimum=1),
            "30s",
            "Give up on an SMTP server that has not taken a message by then.",
        ),
        Option("sender", Text(), "", "From address of the sign-in e-mails."),
        Option(
            "verify_path",
            Text(),
            "/api/v1/accounts/verify",
            "Path on [hubsd] public_origin that the e-mailed link opens (hubsd's own page, "
            "or a web client's /verify page).",
        ),
        Option(
            "link_lifetime",
            Duration(minimum=1, maximum=86400),
            "30m",
            "How long a sign-in link can be used (once).",
        ),
        Option(
            "account_token_lifetime",
            Duration(minimum=60, maximum=3650 * 86400),
            "84d",
            "Lifetime of the account token a sign-in gives.",
        ),
        Option(
            "allow_sign_up",
            Boolean(),
            "true",
            "Whether a first sign-in creates an account; if false, only addresses with an "
            "account get a link (others get the same answer and no e-mail).",
        ),
        Option(
            "admins",
            List(),
            "",
            "E-mail addresses whose accounts are admins (compared hashed, case-insensitive).",
        ),
        Option(
            "rate_per_address",
            Number(above=0),
            "0.2",
            "Sign-in requests (link requests and link uses) per second from one client address.",
        ),
        Option(
            "burst_per_address",
            Integer(1, 10_000),
            "5",
            "Sign-in requests one client address may make at once before the rate applies.",
        ),
        Option(
            "links_per_email_per_hour",
            Integer(1, 10_000),
            "5",
            "Sign-in links sent to one address per hour (bursts of as many).",
        ),
        Option(
            "links_per_minute",
            Integer(1, 1_000_000),
            "60",
            "Sign-in links this server sends per minute in all (bursts of as many).",
        ),
        Option(
            "max_waiters",
            Integer(1, 1_000_000),
            "10000",
            "Clients waiting at once for a link to be used (Phoenix auth channels, WAMP "
            "waits); more are refused.",
        ),
    ),
    check=_check_accounts,
)


HTTP = SectionSpec(
    "http",
    "The HTTP API under /api/v1 (rooms, meta) and the health checks.",
    (
        Option(
            "max_body_size",
            ByteSize(minimum=1024, maximum=16 * 1024 * 1024),
            "64KiB",
            "Largest JSON request body the API reads; bigger ones get 413.",
        ),
        Option(
            "cors_origins",
            List(),
            "",
            "Browser origins besides [hubsd] public_origin that may call the API "
            "(CORS), e.g. a web client served from a development server.",
        ),
        Option(
            "create_rate",
            Number(above=0),
            "1",
            "Rooms one client address may create per second (POST /api/v1/hubs).",
        ),
        Option(
            "create_burst",
            Integer(1, 10_000),
            "5",
            "How many rooms one address may create at once before create_rate applies.",
        ),
        Option(
            "page_size",
            Integer(1, 100),
            "24",
            "Rooms per page of the public room list.",
        ),
        Option(
            "ready_timeout",
            Duration(above=0),
            "5s",
            "How long /readyz waits for the storage to answer before saying not ready.",
        ),
    ),
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
    Option(
        "unpromoted_ttl",
        Duration(minimum=1),
        "1d",
        "Uploads neither pinned nor promoted by their owner within this time are deleted.",
    ),
    Option(
        "sweep_interval",
        Duration(minimum=1),
        "10m",
        "How often expired uploads are looked for.",
    ),
    Option(
        "account_quota",
        ByteSize(minimum=0),
        "1GiB",
        "Bytes of files one account may own (uploads made with its token); 0 is no limit.",
    ),
    Option(
        "upload_rate",
        Number(above=0),
        "0.5",
        "Uploads per second one client address may start (POST /api/v1/media).",
    ),
    Option(
        "upload_burst",
        Integer(1, 10_000),
        "10",
        "Uploads one client address may start at once before upload_rate applies.",
    ),
    Option(
        "allowed_types",
        List(choices=tuple(EXTENSIONS)),
        ", ".join(EXTENSIONS),
        "Media types accepted for upload, as sniffed from the bytes: "
        + ", ".join(EXTENSIONS)
        + ".",
    ),
)
SFU = _backend_section(
    "sfu",
    "aiortc",
    "Selective forwarding unit for voice and video (docs/sfu.md).",
    Option(
        "max_publishers",
        Integer(1, 1000),
        "24",
        "Members of one room that may publish voice or video at once; one more is 'room full'.",
    ),
    Option(
        "max_handles",
        Integer(2, 1000),
        "64",
        "Peer connections (one publisher, the rest subscriptions) one member may hold.",
    ),
)
CLUSTER = _backend_section("cluster", "local", "How several hubsd nodes share rooms.")


def _check_media(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    from hubsd.media.addresses import parse_networks

    try:
        parse_networks(values["allow_networks"])
    except ValueError as e:
        return [("allow_networks", str(e))]
    if values["connect_timeout"] > values["timeout"]:
        return [("connect_timeout", "must not be more than timeout")]
    if values["thumbnail_ttl"] < values["cache_ttl"]:
        # A cached answer must not name a thumbnail that is no longer served.
        return [("thumbnail_ttl", "must not be less than cache_ttl")]
    return []


MEDIA = SectionSpec(
    "media",
    "Resolving pasted URLs (POST /api/v1/media with a JSON body) and server-made thumbnails.",
    (
        Option(
            "allow_networks",
            List(),
            "",
            "Networks fetched from although they are loopback, private or reserved "
            "(CIDR, e.g. 127.0.0.1/32 for tests or 10.0.0.0/8 for an intranet). "
            "Empty: only public addresses.",
        ),
        Option(
            "connect_timeout", Duration(above=0), "5s", "Give up connecting to a host after this."
        ),
        Option(
            "timeout",
            Duration(above=0),
            "15s",
            "Give up a whole resolution (lookups, redirects, bodies, thumbnails) after this.",
        ),
        Option("max_redirects", Integer(0, 20), "5", "Redirects followed for one URL."),
        Option("max_url_length", Integer(16, 65536), "2048", "Longest URL accepted."),
        Option(
            "max_page_size",
            ByteSize(minimum=1024, maximum=16 * 1024 * 1024),
            "512KiB",
            "Bytes of an HTML page read for its OpenGraph tags (the rest is not read).",
        ),
        Option(
            "max_image_size",
            ByteSize(minimum=1024, maximum=256 * 1024 * 1024),
            "16MiB",
            "Largest image body read for a thumbnail; larger ones are refused.",
        ),
        Option(
            "max_image_pixels",
            Integer(1, 1_000_000_000),
            "40000000",
            "Largest image (width x height) decoded for a thumbnail (decompression bombs).",
        ),
        Option("thumbnail_size", Integer(16, 2048), "512", "Thumbnail width and height at most."),
        Option("image_threads", Integer(1, 64), "2", "Threads that decode images and parse pages."),
        Option(
            "max_fetches",
            Integer(1, 10_000),
            "16",
            "Resolutions in progress at once; more are answered 503.",
        ),
        Option("cache_ttl", Duration(above=0), "5m", "How long a resolved URL is remembered."),
        Option("cache_entries", Integer(1, 1_000_000), "1024", "Resolved URLs remembered."),
        Option(
            "thumbnail_ttl",
            Duration(above=0),
            "1h",
            "How long a thumbnail is served at /thumbnails/ after it was made.",
        ),
        Option(
            "thumbnail_cache_size",
            ByteSize(minimum=1024),
            "64MiB",
            "Memory for thumbnails; the least recently used go first.",
        ),
        Option(
            "rate",
            Number(above=0),
            "1",
            "URL resolutions per second per client address (a 429 beyond).",
        ),
        Option("rate_burst", Number(minimum=1), "10", "Resolutions an address may make at once."),
    ),
    check=_check_media,
)


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

PHOENIX = SectionSpec(
    "phoenix",
    "The Phoenix channel socket the Hubs web client speaks (/socket/websocket).",
    (
        Option("enabled", Boolean(), "true", "Serve /socket/websocket."),
        Option(
            "max_frame_size",
            ByteSize(minimum=1024, maximum=64 * 1024 * 1024),
            "1MiB",
            "Largest frame a client may send; a bigger one closes the socket (code 1009).",
        ),
        Option(
            "idle_timeout",
            Duration(minimum=0),
            "60s",
            "Close a socket that sent nothing (not even a heartbeat) for this long, with "
            "code 1001; 0 disables it. The JS client heartbeats every 30 s.",
        ),
        Option(
            "max_channels",
            Integer(minimum=1, maximum=1024),
            "16",
            "Channels one socket may have joined at once; a join beyond is refused.",
        ),
        Option(
            "max_pending_frames",
            Integer(minimum=1, maximum=65536),
            "256",
            "Frames a socket may send while one of its requests waits for storage (a "
            "join); beyond that the socket is closed (code 1008).",
        ),
        Option(
            "allowed_origins",
            List(),
            "",
            "Origins (scheme://host[:port]) whose pages may open the socket; empty means "
            "[hubsd] public_origin only, * any. A request without an Origin header (not "
            "a browser) is always accepted.",
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
    ACCOUNTS,
    HTTP,
    PHOENIX,
    STORAGE,
    FILES,
    MEDIA,
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
