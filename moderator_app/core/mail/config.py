"""The SMTP settings in `<home>/mail.json` (no secret there: the password is in the keyring)."""

from __future__ import annotations

from pathlib import Path

from moderator_app.core.credentials import Credentials, smtp_password_name
from moderator_app.core.errors import UserError
from moderator_app.core.json_file import read_json_file, write_json_file
from moderator_app.core.mail.smtp import DEFAULT_TIMEOUT_SECONDS, SmtpSender, SmtpSettings

MAIL_CONFIG_FILE_NAME = "mail.json"


def mail_config_path(home: Path) -> Path:
    return home / MAIL_CONFIG_FILE_NAME


def save_settings(home: Path, settings: SmtpSettings) -> Path:
    """Write atomically, readable by the owner only."""
    path = mail_config_path(home)
    write_json_file(
        path,
        {
            "host": settings.host,
            "port": settings.port,
            "security": settings.security,
            "user": settings.username,
            "from": settings.from_address,
            "from_name": settings.from_name,
            "timeout": settings.timeout,
        },
    )
    return path


def load_settings(home: Path) -> SmtpSettings | None:
    """The saved settings, or None when `mail configure` was never run."""
    path = mail_config_path(home)
    try:
        data = read_json_file(path)
        if data is None:
            return None
        return SmtpSettings(
            host=str(data["host"]),
            port=int(data["port"]),
            security=data["security"],
            username=str(data["user"]) if data.get("user") else None,
            from_address=str(data["from"]),
            from_name=str(data.get("from_name") or ""),
            timeout=float(data.get("timeout") or DEFAULT_TIMEOUT_SECONDS),
        )
    except (ValueError, KeyError, TypeError) as error:
        raise UserError(f"{path} is damaged; run `moderator-app mail configure` again") from error


def require_settings(home: Path) -> SmtpSettings:
    settings = load_settings(home)
    if settings is None:
        raise UserError(
            "mail is not configured; run `moderator-app mail configure --host H --port P "
            "--security starttls --user U --from ADDRESS --password-stdin` first"
        )
    return settings


def smtp_password(credentials: Credentials, settings: SmtpSettings) -> str | None:
    if not settings.username:
        return None
    return credentials.get(smtp_password_name(settings.username, settings.host))


def sender_for(home: Path, credentials: Credentials) -> SmtpSender:
    """A sender from the saved settings and the keyring's password (UserError if unconfigured)."""
    settings = require_settings(home)
    password = smtp_password(credentials, settings)
    if settings.username and password is None:
        raise UserError(
            f"no SMTP password for {settings.username}@{settings.host} in the keyring "
            f"({credentials.describe()}); run `moderator-app mail configure ... --password-stdin`"
        )
    return SmtpSender(settings, password)
