"""A real SMTP server for the demo and the tests (aiosmtpd) that keeps every message it accepts.

Messages go into a Maildir (Python's `mailbox`), so they survive restarts and any mail client
can read them; the staff page /sentiment/mailbox/ lists them. The server answers "250" only
after the message is on disk (Maildir writes to tmp/ and renames into new/).
"""

from __future__ import annotations

import email.policy
import logging
import mailbox
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

logger = logging.getLogger(__name__)


class MaildirHandler:
    """aiosmtpd handler: store each message (with its envelope) in a Maildir."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        for sub in ("tmp", "new", "cur"):  # Maildir(create=True) skips an existing empty dir
            (self.path / sub).mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8")
        message = mailbox.MaildirMessage(content)
        message["X-Envelope-From"] = envelope.mail_from or ""
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        key = mailbox.Maildir(self.path, create=False).add(message)
        logger.info("mailbox stored key=%s rcpts=%s", key, len(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


def mailbox_server(*, host: str, port: int, path: Path | str) -> Controller:
    """An SMTP server (not started) that stores what it accepts under `path`."""
    return Controller(MaildirHandler(path), hostname=host, port=port, ready_timeout=10)


@dataclass(frozen=True)
class ReceivedMail:
    key: str
    subject: str
    from_address: str
    to_address: str
    message_id: str
    date: datetime | None
    text: str
    html: str


def _parse(key: str, raw: bytes) -> ReceivedMail:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)  # noqa: S101 (policy.default makes EmailMessage)
    text_part = parsed.get_body(preferencelist=("plain",))
    html_part = parsed.get_body(preferencelist=("html",))
    try:
        date = parsedate_to_datetime(parsed["Date"]) if parsed["Date"] else None
    except (TypeError, ValueError):
        date = None
    return ReceivedMail(
        key=key,
        subject=str(parsed["Subject"] or ""),
        from_address=str(parsed["From"] or ""),
        to_address=str(parsed["To"] or parsed["X-Envelope-To"] or ""),
        message_id=str(parsed["Message-ID"] or ""),
        date=date,
        text=text_part.get_content() if text_part else "",
        html=html_part.get_content() if html_part else "",
    )


def mailbox_messages(path: Path | str) -> list[ReceivedMail]:
    """Every stored message, newest first."""
    if not Path(path).is_dir():
        return []
    box = mailbox.Maildir(path, create=False)
    mails = [_parse(key, box.get_bytes(key)) for key in box.keys()]
    return sorted(mails, key=lambda m: (m.date is not None, m.date, m.key), reverse=True)


def mailbox_message(path: Path | str, key: str) -> ReceivedMail | None:
    if not Path(path).is_dir():
        return None
    box = mailbox.Maildir(path, create=False)
    try:
        return _parse(key, box.get_bytes(key))
    except KeyError:
        return None
