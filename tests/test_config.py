"""The INI config: schema-checked, every problem reported at once, frozen."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from hubsd.cli import check_config
from hubsd.config import ConfigError, load_config, parse_config
from hubsd.options import ByteSize, Duration, Endpoint, List, Number, OptionError
from hubsd.schema import SCHEMA

REPO = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "hubsd.ini"
    path.write_text(text)
    return str(path)


def problems_of(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path, text))
    return [str(p) for p in e.value.problems]


def test_empty_file_gives_every_default(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""))
    assert config.section("listen")["web"] == "tcp:8080:interface=127.0.0.1"
    assert config.section("wamp")["max_message_size"] == 1024 * 1024
    assert config.section("wamp")["auto_ping_interval"] == 10.0
    assert config.section("storage")["backend"] == "sqlite"
    assert config.section("storage")["path"] == "hubsd.sqlite3"
    assert config.backend("storage").name == "sqlite"
    assert config.templated("wamp.principal") == {}


def test_every_problem_is_reported_at_once_with_file_section_and_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "[hubsd]\nstate_dir = s\ncolour = blue\n"
        "[nonsense]\na = 1\n"
        "[wamp]\nmax_message_size = huge\nauto_ping_interval = -3s\n"
        "[listen]\nweb = tcp:notaport\n"
        "[storage]\nbackend = postgres\n"
        "[log]\nlevel = loud\n",
    )
    with pytest.raises(ConfigError) as e:
        load_config(path)
    found = {(p.section, p.key) for p in e.value.problems}
    assert found == {
        ("hubsd", "colour"),
        ("nonsense", None),
        ("wamp", "max_message_size"),
        ("wamp", "auto_ping_interval"),
        ("listen", "web"),
        ("storage", "dsn"),
        ("log", "level"),
    }
    text = str(e.value)
    assert all(line.startswith(path + ": [") for line in text.splitlines())
    assert "[storage] dsn: required key is missing" in text
    assert "[log] level: expected one of: debug, info, warn, error, critical" in text
    assert "[hubsd] colour: unknown key" in text


def test_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path, "[hubsd]\nstate_dir = x\nthis line is broken\n")
    assert "hubsd.ini: syntax error" in problem
    assert "line 3" in problem


def test_key_before_any_section_is_a_syntax_error(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path, "state_dir = x\n")
    assert "syntax error" in problem


def test_duplicate_key_is_an_error(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path, "[hubsd]\nstate_dir = a\nstate_dir = b\n")
    assert "state_dir" in problem and "already exists" in problem


def test_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(str(tmp_path / "missing.ini"))


def test_unknown_backend_lists_the_backends_found(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path, "[storage]\nbackend = oracle\ndsn = x\n")
    assert "[storage] backend: storage backend 'oracle' not found" in problem
    assert re.search(r"found: memory, postgres, sqlite", problem)


def test_key_of_another_backend_is_named_as_such(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path, "[storage]\nbackend = sqlite\ndsn = host=x\n")
    assert "[storage] dsn: not a key of backend 'sqlite'" in problem


def test_backend_keys_are_typed(tmp_path: Path) -> None:
    config = load_config(
        write(tmp_path, "[storage]\nbackend = postgres\ndsn = dbname=x\npool_size = 7\n")
    )
    assert config.section("storage")["pool_size"] == 7
    assert config.section("storage")["connect_timeout"] == 10.0
    (problem,) = problems_of(tmp_path, "[storage]\nbackend = postgres\ndsn = x\npool_size = 0\n")
    assert "pool_size: must be at least 1" in problem


def test_templated_sections_hold_principals_and_roles(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            "[wamp.principal:alice]\nrealm = hubsd\nrole = admin\nticket = t0p\n"
            "[wamp.role:admin]\nrealm = hubsd\npublish = *\ncall = a.b.*, c..d\n",
        )
    )
    alice = config.templated("wamp.principal")["alice"]
    assert (alice["role"], alice["ticket"], alice["wampcra_secret"]) == ("admin", "t0p", "")
    assert config.templated("wamp.role")["admin"]["call"] == ("a.b.*", "c..d")
    assert config.templated("wamp.role")["admin"]["register"] == ()


def test_templated_section_needs_a_name_and_its_required_keys(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, "[wamp.principal]\nrealm = x\n[wamp.role:r]\npublish = *\n")
    assert any(
        "[wamp.principal]: section must be named [wamp.principal:NAME]" in p for p in problems
    )
    assert any("[wamp.role:r] realm: required key is missing" in p for p in problems)


def test_manhole_must_be_local_and_authenticated(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, "[manhole]\ntelnet = tcp:2323\n")
    assert any("[manhole] telnet: console must listen on loopback" in p for p in problems)
    assert any("[manhole] passwd:" in p for p in problems)
    config = load_config(
        write(tmp_path, "[manhole]\nssh = tcp6:2222:interface=\\:\\:1\nauthorized_keys = k\n")
    )
    assert config.section("manhole")["ssh"] == "tcp6:2222:interface=\\:\\:1"


def test_config_is_frozen(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""))
    with pytest.raises(AttributeError):
        config.path = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.section("hubsd")["state_dir"] = "/"  # type: ignore[index]


@pytest.mark.parametrize(
    "kind, text, value",
    [
        (ByteSize(), "65536", 65536),
        (ByteSize(), "64KiB", 65536),
        (ByteSize(), "1MiB", 1048576),
        (ByteSize(), "2MB", 2000000),
        (ByteSize(), "1 gib", 1024**3),
        (Duration(), "250ms", 0.25),
        (Duration(), "5m", 300.0),
        (Duration(), "30", 30.0),
        (Duration(), "1d", 86400.0),
        (Number(above=0), "2.5", 2.5),
        (Number(above=0), "60", 60.0),
        (List(choices=("a", "b")), "b, a", ("b", "a")),
        (List(), "a, b  c,,d", ("a", "b", "c", "d")),
        (List(), "", ()),
        (Endpoint(optional=True), "", ""),
        (Endpoint(), "unix:/tmp/x.sock", "unix:/tmp/x.sock"),
    ],
)
def test_value_types_parse(kind: object, text: str, value: object) -> None:
    assert kind.parse(text) == value  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "kind, text",
    [
        (ByteSize(), "lots"),
        (ByteSize(), "-1"),
        (Duration(), "soon"),
        (Duration(above=0), "0"),
        (Number(), "inf"),
        (List(choices=("a", "b")), "a c"),
        (Endpoint(), "tcp:port"),
        (Endpoint(), "carrier-pigeon:1"),
        (Endpoint(), ""),
    ],
)
def test_value_types_reject(kind: object, text: str) -> None:
    with pytest.raises(OptionError):
        kind.parse(text)  # type: ignore[attr-defined]


def _documented_keys(text: str) -> dict[str, dict[str, str]]:
    """Section -> key -> value, for active and ';'-commented key lines."""
    documented: dict[str, dict[str, str]] = {}
    section = None
    for line in text.splitlines():
        m = re.match(r"^;?\[([^\]]+)\]\s*$", line)
        if m:
            section = m.group(1).split(":")[0]
            documented.setdefault(section, {})
            continue
        m = re.match(r"^;?([a-z_]+) = ?(.*)$", line)
        if m and section is not None:
            documented[section].setdefault(m.group(1), m.group(2))
    return documented


def test_example_config_documents_every_key_with_its_default() -> None:
    path = REPO / "conf" / "hubsd.ini"
    load_config(str(path))  # the example itself is valid
    documented = _documented_keys(path.read_text())
    from hubsd.backends import discover

    plugins, _ = discover()
    expected: dict[str, dict[str, str | None]] = {}
    templated = {spec.name for spec in SCHEMA if spec.templated}
    for spec in SCHEMA:
        keys = {o.key: o.default for o in spec.options}
        for plugin in plugins:
            if plugin.kind == spec.backend_kind:
                keys.update({o.key: o.default for o in plugin.options})
        expected[spec.name] = keys
    for section, keys in expected.items():
        assert section in documented, f"[{section}] is not documented in conf/hubsd.ini"
        for key, default in keys.items():
            assert key in documented[section], f"[{section}] {key} is not documented"
            # Templated sections show an example, not defaults; state_dir is
            # the one key the example sets to its own value.
            example = section in templated or (section, key) == ("hubsd", "state_dir")
            if default is not None and not example:
                shown = documented[section][key]
                assert shown == default, f"[{section}] {key}: conf shows {shown!r}, not {default!r}"
    for section, keys in documented.items():
        assert section in expected, f"conf/hubsd.ini documents unknown section [{section}]"
        for key in keys:
            assert key in expected[section], f"conf/hubsd.ini documents unknown [{section}] {key}"


def test_check_config_prints_ok_or_every_problem(tmp_path: Path, capsys) -> None:
    assert check_config(str(REPO / "conf" / "hubsd.ini")) == 0
    assert capsys.readouterr().out == "ok\n"
    bad = write(tmp_path, "[hubsd]\nx = 1\ny = 2\n")
    assert check_config(bad) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [f"{bad}: [hubsd] x: unknown key", f"{bad}: [hubsd] y: unknown key"]


def test_parse_config_takes_any_backend_lookup() -> None:
    def lookup(kind: str, name: str) -> tuple[None, str]:
        return None, f"no {kind} here"

    with pytest.raises(ConfigError) as e:
        parse_config("", "x.ini", SCHEMA, lookup)
    assert {p.section for p in e.value.problems} == {"storage", "files", "sfu", "cluster"}


def test_rooms_section_defaults_are_the_contracts(tmp_path: Path) -> None:
    rooms = load_config(write(tmp_path, "")).section("rooms")
    assert dict(rooms) == {
        "default_room_size": 24,
        "max_room_size": 50,
        "default_member_permissions": ("voice_chat", "text_chat"),
        "allow_anonymous_create": True,
        "reconnect_grace": 15.0,
        "kick_duration": 600.0,
        "rate_messages": 60.0,
        "rate_bytes": 64 * 1024,
        "rate_burst": 2.0,
        "rate_kick_after": 10.0,
        "max_chat_length": 4096,
        "max_entities": 5000,
        "max_pinned": 1000,
        "max_profile_bytes": 2048,
        "perms_token_lifetime": 300.0,
        "session_token_lifetime": 86400.0,
    }


def test_rooms_default_member_permissions_are_names_of_member_bits(tmp_path: Path) -> None:
    from hubsd.rooms.permissions import MEMBER_BITS

    every = ", ".join(MEMBER_BITS)
    config = load_config(write(tmp_path, f"[rooms]\ndefault_member_permissions = {every}\n"))
    assert config.section("rooms")["default_member_permissions"] == tuple(MEMBER_BITS)
    config = load_config(write(tmp_path, "[rooms]\ndefault_member_permissions =\n"))
    assert config.section("rooms")["default_member_permissions"] == ()
    (problem,) = problems_of(tmp_path, "[rooms]\ndefault_member_permissions = fly, teleport\n")
    assert "[rooms] default_member_permissions: unknown name 'teleport'" in problem


@pytest.mark.parametrize(
    "key, text, message",
    [
        ("default_room_size", "0", "must be at least 1"),
        ("max_room_size", "10001", "must be at most 10000"),
        ("allow_anonymous_create", "maybe", "expected true or false"),
        ("reconnect_grace", "soon", "expected a duration"),
        ("rate_messages", "0", "must be more than 0"),
        ("rate_messages", "-5", "must be more than 0"),
        ("rate_messages", "nan", "expected a finite number"),
        ("rate_messages", "fast", "expected a number"),
        ("rate_bytes", "0", "must be at least 1"),
        ("rate_burst", "0", "must be more than 0"),
        ("max_chat_length", "0", "must be at least 1"),
        ("max_entities", "1000001", "must be at most 1000000"),
        ("max_pinned", "-1", "must be at least 0"),
        ("max_profile_bytes", "10", "must be at least 256"),
        ("perms_token_lifetime", "0", "must be at least 1"),
        ("session_token_lifetime", "0", "must be at least 1"),
    ],
)
def test_rooms_values_out_of_range_are_refused(
    tmp_path: Path, key: str, text: str, message: str
) -> None:
    (problem,) = problems_of(tmp_path, f"[rooms]\n{key} = {text}\n")
    assert f"[rooms] {key}: {message}" in problem


def test_rooms_zero_turns_off_grace_and_rate_kick(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "[rooms]\nreconnect_grace = 0\nrate_kick_after = 0\n"))
    assert config.section("rooms")["reconnect_grace"] == 0.0
    assert config.section("rooms")["rate_kick_after"] == 0.0


def test_rooms_default_size_may_not_exceed_the_largest(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path, "[rooms]\ndefault_room_size = 60\nmax_room_size = 50\n")
    assert "[rooms] default_room_size: must not be more than max_room_size" in problem
    config = load_config(write(tmp_path, "[rooms]\ndefault_room_size = 50\nmax_room_size = 50\n"))
    assert config.section("rooms")["default_room_size"] == 50


@pytest.mark.parametrize(
    "line, section, key, value",
    [
        # After whitespace, ';' and '#' start a comment, in every value.
        (
            "[manhole]\npasswd = /etc/hubsd/pw   ; user:password lines",
            "manhole",
            "passwd",
            "/etc/hubsd/pw",
        ),
        ("[wamp]\nrealms = hubsd, lab # two realms", "wamp", "realms", ("hubsd", "lab")),
        ("[listen]\nrawsocket = ; off", "listen", "rawsocket", ""),
        ("[log]\nlevel = warn\t;quiet", "log", "level", "warn"),
        # Not after whitespace: part of the value.
        (
            "[wamp.principal:a]\nrealm = hubsd\nrole = r\nticket = s3cr;t#x",
            "wamp.principal",
            "ticket",
            "s3cr;t#x",
        ),
    ],
)
def test_inline_comments_follow_whitespace(
    tmp_path: Path, line: str, section: str, key: str, value: object
) -> None:
    config = load_config(write(tmp_path, line + "\n"))
    if section == "wamp.principal":
        assert config.templated(section)["a"][key] == value
    else:
        assert config.section(section)[key] == value


def ini_blocks(path: Path) -> list[str]:
    return re.findall(r"```ini\n(.*?)```", path.read_text(), re.S)


@pytest.mark.parametrize("doc", ["README.md", "docs/operations.md"])
def test_ini_examples_in_the_docs_are_valid_configs(tmp_path: Path, monkeypatch, doc: str) -> None:
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", "/run/credentials/hubsd.service")
    blocks = ini_blocks(REPO / doc)
    for block in blocks:
        load_config(write(tmp_path, block))


def test_manhole_example_in_operations_keeps_comments_out_of_paths(tmp_path: Path) -> None:
    blocks = ini_blocks(REPO / "docs" / "operations.md")
    (block,) = [b for b in blocks if "[manhole]" in b and "/etc/hubsd/" in b]
    manhole = load_config(write(tmp_path, block)).section("manhole")
    assert manhole["passwd"] and manhole["authorized_keys"]
    assert not re.search(r"\s", manhole["passwd"] + manhole["authorized_keys"])


@pytest.mark.parametrize(
    "text, problem",
    [
        ("[hubsd]\nstat_dir = x\n", "[hubsd] stat_dir: unknown key; did you mean state_dir?"),
        ("[wamp]\nrealm = hubsd\n", "[wamp] realm: unknown key; did you mean realms?"),
        ("[log]\nlevle = info\n", "[log] levle: unknown key; did you mean level?"),
        ("[hubsd]\ncolour = red\n", "[hubsd] colour: unknown key"),
        (
            "[storage]\nbackend = sqlite\npaht = x.db\n",
            "[storage] paht: not a key of backend 'sqlite'; did you mean path?",
        ),
        ("[metric]\nendpoint =\n", "[metric]: unknown section; did you mean metrics?; known: "),
    ],
)
def test_unknown_key_names_the_nearest_known_one(tmp_path: Path, text: str, problem: str) -> None:
    (found,) = problems_of(tmp_path, text)
    assert problem in found
    if "did you mean" not in problem:
        assert "did you mean" not in found


def test_one_problem_reads_one_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as one:
        load_config(write(tmp_path, "[hubsd]\nx = 1\n"))
    assert one.value.summary() == "invalid configuration (1 problem):"
    with pytest.raises(ConfigError) as two:
        load_config(write(tmp_path, "[hubsd]\nx = 1\ny = 1\n"))
    assert two.value.summary() == "invalid configuration (2 problems):"


def test_unknown_backend_still_reports_keys_no_backend_has(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, "[storage]\nbackend = nosuch\nbogus_key = 2\ndsn = x\n")
    assert len(problems) == 2
    assert "[storage] backend: storage backend 'nosuch' not found" in problems[0]
    # dsn belongs to postgres, so it may be right; bogus_key belongs to none.
    assert problems[1].endswith("[storage] bogus_key: unknown key: no storage backend has it")


def test_unknown_backend_suggests_a_key_of_some_backend(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, "[storage]\nbackend = postgress\npool_sise = 2\n")
    assert any(
        "[storage] pool_sise: unknown key" in p and "did you mean pool_size?" in p for p in problems
    )


@pytest.mark.parametrize(
    "text, problem",
    [
        (
            "[wamp.principal:alice]\nrealm = hubsd\nrole = admin\ntickte = s\n",
            "[wamp.principal:alice] tickte: unknown key; did you mean ticket?",
        ),
        (
            "[wamp.role:admin]\nrealm = hubsd\npublish = *\nsubscibe = *\n",
            "[wamp.role:admin] subscibe: unknown key; did you mean subscribe?",
        ),
        ("[wamp.role:admin]\nrealm = hubsd\nadmin = yes\n", "[wamp.role:admin] admin: unknown key"),
    ],
)
def test_unknown_keys_in_templated_sections_are_reported(
    tmp_path: Path, text: str, problem: str
) -> None:
    (found,) = problems_of(tmp_path, text)
    assert problem in found


@pytest.mark.parametrize(
    "text, problem",
    [
        (
            "[wamp.role:guest]\nrealm = hubs\n",
            "[wamp.role:guest] realm: realm 'hubs' is not in [wamp] realms (hubsd)",
        ),
        (
            "[wamp]\nrealms = a, b\n[wamp.principal:bob]\nrealm = c\nrole = x\n",
            "[wamp.principal:bob] realm: realm 'c' is not in [wamp] realms (a, b)",
        ),
    ],
)
def test_principal_or_role_of_a_realm_not_served_is_refused(
    tmp_path: Path, text: str, problem: str
) -> None:
    (found,) = problems_of(tmp_path, text)
    assert problem in found


def test_realm_rule_runs_beside_other_problems(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, "[log]\nlevel = loud\n[wamp.role:guest]\nrealm = hubs\n")
    assert len(problems) == 2


def test_open_handshake_timeout_zero_disables_it(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "[wamp]\nopen_handshake_timeout = 0\n"))
    assert config.section("wamp")["open_handshake_timeout"] == 0.0
    (problem,) = problems_of(tmp_path, "[wamp]\nopen_handshake_timeout = -1s\n")
    assert "open_handshake_timeout: expected a duration" in problem


def test_console_files_may_be_systemd_credentials(tmp_path: Path, monkeypatch) -> None:
    text = (
        "[manhole]\nssh = tcp:2222:interface=127.0.0.1\n"
        "passwd = $CREDENTIALS_DIRECTORY/manhole.passwd\n"
        "authorized_keys = ${CREDENTIALS_DIRECTORY}/manhole.keys\n"
    )
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", "/run/credentials/hubsd.service")
    manhole = load_config(write(tmp_path, text)).section("manhole")
    assert manhole["passwd"] == "/run/credentials/hubsd.service/manhole.passwd"
    assert manhole["authorized_keys"] == "/run/credentials/hubsd.service/manhole.keys"
    monkeypatch.delenv("CREDENTIALS_DIRECTORY")
    problems = problems_of(tmp_path, text)
    assert len(problems) == 2
    assert all("$CREDENTIALS_DIRECTORY is not set" in p for p in problems)


def manhole_config(tmp_path: Path, console: str, **files: str) -> str:
    lines = "".join(f"{key} = {value}\n" for key, value in files.items())
    return write(
        tmp_path, f"[hubsd]\nstate_dir = {tmp_path / 'state'}\n[manhole]\n{console}\n{lines}"
    )


def secret(tmp_path: Path, name: str, mode: int) -> str:
    path = tmp_path / name
    path.write_text("admin:pw\n")
    path.chmod(mode)
    return str(path)


@pytest.mark.parametrize(
    "mode, ok",
    [
        (0o600, True),
        (0o400, True),
        (0o640, False),  # group-readable
        (0o620, False),  # group-writable
        (0o604, False),  # world-readable
        (0o644, False),
        (0o606, False),
    ],
)
def test_check_config_refuses_a_console_passwd_file_others_may_read(
    tmp_path: Path, capsys, mode: int, ok: bool
) -> None:
    passwd = secret(tmp_path, "passwd", mode)
    path = manhole_config(tmp_path, "telnet = tcp:2323:interface=127.0.0.1", passwd=passwd)
    assert check_config(path) == (0 if ok else 1)
    out = capsys.readouterr().out
    if ok:
        assert out == "ok\n"
    else:
        assert out == (
            f"{path}: [manhole] passwd: {passwd} is readable or writable by group or others "
            f"(mode {mode:04o}); chmod 600 it\n"
        )


def test_check_config_refuses_missing_console_files(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "nowhere"
    path = manhole_config(
        tmp_path,
        "ssh = tcp:2222:interface=127.0.0.1",
        passwd=str(missing / "passwd"),
        authorized_keys=str(tmp_path),
    )
    assert check_config(path) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{path}: [manhole] passwd: {missing}/passwd cannot be read: No such file or directory",
        f"{path}: [manhole] authorized_keys: {tmp_path} is not a regular file",
    ]


def test_check_config_looks_only_at_files_the_console_opens(tmp_path: Path, capsys) -> None:
    # authorized_keys is for SSH only; a telnet-only console never opens it.
    passwd = secret(tmp_path, "passwd", 0o600)
    path = manhole_config(
        tmp_path,
        "telnet = tcp:2323:interface=127.0.0.1",
        passwd=passwd,
        authorized_keys=str(tmp_path / "absent"),
    )
    assert check_config(path) == 0
    # No console at all: no file is opened.
    path = manhole_config(tmp_path, "", passwd=str(tmp_path / "absent"))
    assert check_config(path) == 0
    assert capsys.readouterr().out == "ok\nok\n"


def test_check_config_accepts_a_state_dir_it_would_create(tmp_path: Path, capsys) -> None:
    path = write(tmp_path, f"[hubsd]\nstate_dir = {tmp_path / 'a' / 'b'}\n")
    assert check_config(path) == 0
    assert not (tmp_path / "a").exists()  # checked, not created
    blocker = tmp_path / "file"
    blocker.write_text("")
    path = write(tmp_path, f"[hubsd]\nstate_dir = {blocker}\n")
    assert check_config(path) == 1
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"{path}: [hubsd] state_dir: {blocker} exists and is not a directory"
    )


def test_check_config_reports_file_problems_before_looking_at_the_machine(
    tmp_path: Path, capsys
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    path = write(tmp_path, f"[hubsd]\nstate_dir = {blocker}\nbogus = 1\n")
    assert check_config(path) == 1
    assert capsys.readouterr().out == f"{path}: [hubsd] bogus: unknown key\n"


_VALUE_CHARS = st.characters(
    min_codepoint=0x20, max_codepoint=0x2FF, blacklist_categories=("Cc", "Zl", "Zp")
)


@given(value=st.text(_VALUE_CHARS, min_size=1, max_size=40), comment=st.text(_VALUE_CHARS))
@settings(max_examples=200, deadline=None)
def test_a_value_survives_whole_unless_a_comment_follows_whitespace(
    tmp_path_factory: pytest.TempPathFactory, value: str, comment: str
) -> None:
    value = value.strip()
    assume(value and value[0] not in ";#" and not re.search(r"\s[;#]", value))
    tmp_path = tmp_path_factory.mktemp("v")
    head = "[wamp.principal:a]\nrealm = hubsd\nrole = r\nticket = "
    config = load_config(write(tmp_path, f"{head}{value}\n"))
    assert config.templated("wamp.principal")["a"]["ticket"] == value
    config = load_config(write(tmp_path, f"{head}{value} ;{comment}\n"))
    assert config.templated("wamp.principal")["a"]["ticket"] == value


@pytest.mark.parametrize(
    "where, problem",
    [
        ("-", None),
        ("{tmp}/hubsd.log", None),
        ("{tmp}/existing.log", None),
        ("{tmp}", "{tmp} is a directory"),
        (
            "{tmp}/none/hubsd.log",
            "{tmp}/none/hubsd.log cannot be created: {tmp}/none is not a directory",
        ),
    ],
)
def test_check_config_refuses_a_log_file_start_up_could_not_open(
    tmp_path: Path, capsys, where: str, problem: str | None
) -> None:
    (tmp_path / "existing.log").write_text("")
    path = write(tmp_path, "[log]\nfile = " + where.format(tmp=tmp_path) + "\n")
    assert check_config(path) == (0 if problem is None else 1)
    expected = "ok" if problem is None else f"{path}: [log] file: " + problem.format(tmp=tmp_path)
    assert capsys.readouterr().out == expected + "\n"
    assert not (tmp_path / "hubsd.log").exists()


def test_room_settings_read_from_the_schema_defaults_equal_the_dataclass_defaults(
    tmp_path: Path,
) -> None:
    # One source of defaults: the schema's text and RoomSettings agree.
    from hubsd.rooms.settings import RoomSettings

    assert RoomSettings.fromConfig(load_config(write(tmp_path, ""))) == RoomSettings()
    config = load_config(write(tmp_path, "[rooms]\ndefault_member_permissions = fly\n"))
    assert RoomSettings.fromConfig(config).default_member_permissions == 32
