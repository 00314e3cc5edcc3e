"""Fixtures for the courses tests: a real SMTP server on 127.0.0.1 that keeps what it receives."""
from __future__ import annotations

import socket
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    """A TCP port nobody listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        return self.message.get_content()


@dataclass
class SmtpSink:
    """What the local SMTP server received; addresses in `refuse` get a permanent 550."""

    port: int = 0
    received: list[ReceivedMail] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        self.received.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[ReceivedMail]:
        return [mail for mail in self.received if address in mail.rcpt_tos]


@pytest.fixture
def closed_port():
    """A local port where no mail server listens (connections are refused)."""
    return free_port()


def _start(app, **server_options):
    sink = SmtpSink(port=free_port())
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port, **server_options)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=sink.port, MAIL_USE_TLS=False, MAIL_USE_SSL=False,
                      MAIL_USERNAME=None, MAIL_TIMEOUT_S=5, PUBLIC_BASE_URL="https://ccs.example.vn")
    return sink, controller


@pytest.fixture
def smtp_sink(app):
    """Start an SMTP server on a free local port and point the app's MAIL_* settings at it."""
    sink, controller = _start(app)
    yield sink
    controller.stop()


SINK_LOGIN = ("ccs", "dung-mat-khau")


def _check_login(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (
        auth_data.login.decode(), auth_data.password.decode()) == SINK_LOGIN
    return AuthResult(success=ok, handled=False)  # not handled: the server answers 535 itself


@pytest.fixture
def smtp_sink_with_login(app):
    """Like smtp_sink, but the server asks for AUTH (user "ccs", password "dung-mat-khau")."""
    sink, controller = _start(app, authenticator=_check_login, auth_require_tls=False)
    yield sink
    controller.stop()
