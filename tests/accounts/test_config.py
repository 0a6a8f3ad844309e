"""The [accounts] section: its rules across keys, the password file, defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from hubsd.accounts.settings import AccountSettings
from hubsd.cli import check_config
from hubsd.config import ConfigError, load_config

SMTP = "[accounts]\nsmtp_host = mail.example.org\nsender = hubs@example.org\n"


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "hubsd.ini"
    path.write_text(f"[hubsd]\nstate_dir = {tmp_path / 'state'}\n{text}")
    return str(path)


def secret(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "smtp.password"
    path.write_text(text)
    path.chmod(mode)
    return path


def test_the_defaults_are_the_dataclass_defaults(tmp_path: Path) -> None:
    settings = AccountSettings.fromConfig(load_config(write(tmp_path, "")))
    assert settings == AccountSettings()
    assert settings.smtp is None


def test_the_keys_that_go_together_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "hubsd.ini"
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path, SMTP + "smtp_security = ssl\n"))
    assert [str(p) for p in e.value.problems] == [
        f"{path}: [accounts] smtp_security: expected one of: starttls, tls, none (got 'ssl')"
    ]
    with pytest.raises(ConfigError) as e:
        load_config(
            write(
                tmp_path,
                "[accounts]\nsmtp_host = mail.example.org\nsmtp_username = hubs\n"
                "verify_path = verify\nsender = not-an-address\n",
            )
        )
    assert [str(p) for p in e.value.problems] == [
        f"{path}: [accounts] sender: must be an e-mail address such as hubs@example.org",
        f"{path}: [accounts] smtp_password_file: smtp_username and smtp_password_file go together",
        f"{path}: [accounts] verify_path: must be a path starting with /",
    ]
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path, "[accounts]\nsmtp_host = mail.example.org\n"))
    assert [str(p) for p in e.value.problems] == [
        f"{path}: [accounts] sender: a sender address is required when smtp_host is set"
    ]


def test_the_password_is_read_from_its_file_and_kept_out_of_repr(tmp_path: Path) -> None:
    password = secret(tmp_path, "pa55 word;#x\nsecond line\n")
    config = load_config(
        write(tmp_path, SMTP + f"smtp_username = hubs\nsmtp_password_file = {password}\n")
    )
    settings = AccountSettings.fromConfig(config)
    assert settings.smtp is not None and settings.smtp.password == "pa55 word;#x"
    assert "pa55" not in repr(settings)
    assert settings.smtp.port == 587 and settings.smtp.security == "starttls"
    password.write_text("")
    with pytest.raises(ValueError, match="smtp_password_file .* is empty"):
        AccountSettings.fromConfig(config)
    password.unlink()
    with pytest.raises(ValueError, match="No such file"):
        AccountSettings.fromConfig(config)


@pytest.mark.parametrize("mode, ok", [(0o600, True), (0o400, True), (0o640, False), (0o604, False)])
def test_check_config_refuses_a_password_file_others_may_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mode: int, ok: bool
) -> None:
    password = secret(tmp_path, "pa55word", mode)
    path = write(tmp_path, SMTP + f"smtp_username = hubs\nsmtp_password_file = {password}\n")
    assert check_config(path) == (0 if ok else 1)
    out = capsys.readouterr().out
    if ok:
        assert out == "ok\n"
    else:
        assert out == (
            f"{path}: [accounts] smtp_password_file: {password} is readable or writable by "
            f"group or others (mode {mode:04o}); chmod 600 it\n"
        )
    assert "pa55word" not in out
