"""SMTP over TLS against aiosmtpd sinks with a trustme certificate: verified chain and host name,
implicit TLS, and no password over a connection without TLS."""

import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from activation.mail import InsecureLoginError, MailConfigError, SmtpSettings, send_mail
from tests.fixtures.smtp import Inbox, _free_port


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca, tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def _server_context(ca: trustme.CA, *names: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    return context


class _Logins:
    """An authenticator that accepts any login and remembers who logged in."""

    def __init__(self):
        self.users: list[str] = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        self.users.append(auth_data.login.decode())
        return AuthResult(success=True)


@contextmanager
def _sink(**options) -> Iterator[tuple[int, Inbox, _Logins]]:
    port, inbox, logins = _free_port(), Inbox(), _Logins()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=logins, **options)
    controller.start()
    try:
        yield port, inbox, logins
    finally:
        controller.stop()


def test_starttls_with_a_trusted_certificate_and_login(ca, ca_file):
    context = _server_context(ca, "127.0.0.1")
    with _sink(tls_context=context, require_starttls=True, auth_require_tls=True) as (port, inbox, logins):
        settings = SmtpSettings("127.0.0.1", port, "revloop@x.io", "bot", "s3cret", ca_file=ca_file)
        message_id = send_mail(settings, ["rep@x.io"], "Lead", "text", html="<p>text</p>")
    assert logins.users == ["bot"] and len(inbox.messages) == 1
    received = inbox.messages[0]
    assert received["Message-ID"] == message_id and received.is_multipart()
    assert sorted(p.get_content_type() for p in received.get_payload()) == ["text/html", "text/plain"]


def test_starttls_refuses_an_untrusted_certificate(ca):
    context = _server_context(ca, "127.0.0.1")
    with _sink(tls_context=context, require_starttls=True) as (port, inbox, _):
        # the system CAs do not know the sink's CA: the handshake fails, nothing is sent
        with pytest.raises(ssl.SSLCertVerificationError):
            send_mail(SmtpSettings("127.0.0.1", port, "revloop@x.io"), ["rep@x.io"], "Lead", "text")
    assert inbox.messages == []


def test_starttls_refuses_a_certificate_for_another_host(ca, ca_file):
    context = _server_context(ca, "mail.elsewhere.example")
    with _sink(tls_context=context, require_starttls=True) as (port, inbox, _):
        with pytest.raises(ssl.SSLCertVerificationError, match="match|mismatch"):
            send_mail(
                SmtpSettings("127.0.0.1", port, "revloop@x.io", ca_file=ca_file), ["rep@x.io"], "Lead", "x"
            )
    assert inbox.messages == []


def test_implicit_tls(ca, ca_file):
    context = _server_context(ca, "127.0.0.1")
    with _sink(ssl_context=context, auth_require_tls=False) as (port, inbox, logins):
        settings = SmtpSettings(
            "127.0.0.1", port, "revloop@x.io", "bot", "pw", implicit_tls=True, ca_file=ca_file
        )
        send_mail(settings, ["rep@x.io"], "Lead", "text")
        assert logins.users == ["bot"] and len(inbox.messages) == 1
        # the same server without the CA bundle: refused
        with pytest.raises(ssl.SSLCertVerificationError):
            send_mail(
                SmtpSettings("127.0.0.1", port, "revloop@x.io", implicit_tls=True), ["r@x.io"], "L", "t"
            )
    assert len(inbox.messages) == 1


def test_port_465_means_implicit_tls_and_env_settings(ca_file):
    assert SmtpSettings("mail", 465, "a@b.c").uses_implicit_tls
    assert not SmtpSettings("mail", 587, "a@b.c").uses_implicit_tls
    settings = SmtpSettings.from_env(
        {
            "SMTP_HOST": "mail",
            "SMTP_PORT": "2465",
            "SMTP_FROM": "a@b.c",
            "SMTP_IMPLICIT_TLS": "yes",
            "SMTP_CA_FILE": ca_file,
            "SMTP_ALLOW_PLAINTEXT_LOGIN": "1",
        }
    )
    assert settings.uses_implicit_tls and settings.ca_file == ca_file and settings.allow_plaintext_login
    with pytest.raises(MailConfigError, match="SMTP_CA_FILE"):
        SmtpSettings.from_env({"SMTP_HOST": "m", "SMTP_FROM": "a@b.c", "SMTP_CA_FILE": "/nowhere.pem"})


def test_no_password_in_clear_unless_allowed():
    with _sink(auth_require_tls=False) as (port, inbox, logins):
        settings = SmtpSettings("127.0.0.1", port, "revloop@x.io", "bot", "s3cret")
        with pytest.raises(InsecureLoginError, match="SMTP_ALLOW_PLAINTEXT_LOGIN"):
            send_mail(settings, ["rep@x.io"], "Lead", "text")
        assert logins.users == [] and inbox.messages == []
        assert isinstance(InsecureLoginError("x"), smtplib.SMTPException)
        relay = SmtpSettings("127.0.0.1", port, "revloop@x.io", "bot", "s3cret", allow_plaintext_login=True)
        send_mail(relay, ["rep@x.io"], "Lead", "text")
    assert logins.users == ["bot"] and len(inbox.messages) == 1
