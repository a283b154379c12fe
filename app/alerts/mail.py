"""Email for alerts: the message (ward, bed, initials and a link; never a name or an NHS number)
and the SMTP connection the settings describe."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage

from app.config import Settings
from app.models import Alert


def message(settings: Settings, alert: Alert, to: str, link: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = settings.smtp_from
    mail["To"] = to
    mail["Subject"] = f"Boardround alert: {alert.title}"[:250]
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(
        f"{alert.title}\n\n"
        f"Open Boardround to see it and act: {link}\n\n"
        "You get this email because of your alert settings in Boardround (Alerts, Settings).\n"
    )
    return mail


@contextmanager
def smtp_connection(settings: Settings) -> Iterator[smtplib.SMTP]:
    timeout = settings.smtp_timeout_seconds
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if settings.smtp_tls == "tls":
        client = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
    try:
        if settings.smtp_tls == "starttls":
            client.starttls(context=context)
        if settings.smtp_username:
            client.login(settings.smtp_username, settings.smtp_password)
        yield client
    finally:
        try:
            client.quit()
        except smtplib.SMTPException:
            client.close()
