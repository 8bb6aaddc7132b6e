"""SMTP settings from the environment and delivery to a local SMTP sink."""

import pytest

from activation.mail import MailConfigError, SmtpSettings, send_mail


def test_unset_host_means_outbox_only():
    assert SmtpSettings.from_env({}) is None
    assert SmtpSettings.from_env({"SMTP_HOST": "  ", "SMTP_FROM": "a@b.c"}) is None


def test_settings_from_env_with_default_port():
    settings = SmtpSettings.from_env({"SMTP_HOST": "mail.local", "SMTP_FROM": "revloop@acme.com"})
    assert (settings.host, settings.port, settings.sender) == ("mail.local", 25, "revloop@acme.com")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SMTP_HOST": "mail", "SMTP_PORT": "smtp", "SMTP_FROM": "a@b.c"}, "SMTP_PORT"),
        ({"SMTP_HOST": "mail", "SMTP_PORT": "70000", "SMTP_FROM": "a@b.c"}, "SMTP_PORT"),
        ({"SMTP_HOST": "mail"}, "SMTP_FROM"),
    ],
)
def test_unusable_settings_name_the_variable(env, message):
    with pytest.raises(MailConfigError, match=message):
        SmtpSettings.from_env(env)


def test_password_stays_out_of_repr():
    settings = SmtpSettings.from_env(
        {"SMTP_HOST": "mail", "SMTP_FROM": "a@b.c", "SMTP_USERNAME": "u", "SMTP_PASSWORD": "hunter2"}
    )
    assert "hunter2" not in repr(settings)


def test_mail_reaches_the_sink(smtp_sink):
    settings, inbox = smtp_sink
    message_id = send_mail(settings, ["rep@acme.com", "team@acme.com"], "New lead: Ada", "Score 640\nDemo")
    assert len(inbox.messages) == 1
    received = inbox.messages[0]
    assert received["Message-ID"] == message_id and received["From"] == settings.sender
    assert received["Subject"] == "New lead: Ada"
    assert received["To"] == "rep@acme.com, team@acme.com"
    assert "Score 640" in received.get_payload(decode=True).decode()


def test_mail_needs_a_recipient():
    with pytest.raises(ValueError, match="recipient"):
        send_mail(SmtpSettings("127.0.0.1", 25, "a@b.c"), [], "s", "b")


def test_non_ascii_subject_and_bodies_arrive_as_written(smtp_sink):
    from email import message_from_bytes, policy

    from activation.mail import SmtpSession

    settings, inbox = smtp_sink
    with SmtpSession(settings) as session:
        session.send(
            ["rep@acme.com"], "Neuer Lead: Zoë Müller", "Umsatz 1.200 €\nDemo", "<p>Zoë – 1.200 €</p>"
        )
    received = message_from_bytes(inbox.messages[0].as_bytes(), policy=policy.default)
    assert received["Subject"] == "Neuer Lead: Zoë Müller"
    assert received.get_body(("plain",)).get_content() == "Umsatz 1.200 €\nDemo"
    assert received.get_body(("html",)).get_content().strip() == "<p>Zoë – 1.200 €</p>"


@pytest.mark.parametrize(
    ("sender", "to"),
    [("Zoë from Sellwise <revloop@sellwise.io>", "rep@acme.com"), ("revloop@sellwise.io", "jürgen@acme.de")],
)
def test_a_sender_name_or_an_address_beyond_ascii_arrives_intact(sender, to):
    from email import message_from_bytes, policy
    from email.utils import parseaddr

    from aiosmtpd.controller import Controller

    from activation.mail import SmtpSession
    from tests.fixtures.smtp import Inbox, _free_port

    inbox, port = Inbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, enable_SMTPUTF8=True)
    controller.start()
    try:
        with SmtpSession(SmtpSettings("127.0.0.1", port, sender)) as session:
            session.send([to], "Neuer Lead: Zoë", "Umsatz 1.200 €", "<p>1.200 €</p>")
    finally:
        controller.stop()
    received = message_from_bytes(inbox.messages[0].as_bytes(), policy=policy.default)
    assert parseaddr(str(received["From"])) == parseaddr(sender)
    assert str(received["To"]) == to and received["Subject"] == "Neuer Lead: Zoë"
    assert received.get_body(("plain",)).get_content().strip() == "Umsatz 1.200 €"


class _Wire:
    """An SMTP sink handler that keeps each message as it came over the wire."""

    def __init__(self):
        self.received: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append(envelope.content)
        return "250 OK"


def _sent_as(to: list[str], subject: str, body: str, html: str) -> bytes:
    from aiosmtpd.controller import Controller

    from activation.mail import SmtpSession
    from tests.fixtures.smtp import _free_port

    wire, port = _Wire(), _free_port()
    controller = Controller(wire, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with SmtpSession(SmtpSettings("127.0.0.1", port, "revloop@sellwise.io")) as session:
            session.send(to, subject, body, html)
    finally:
        controller.stop()
    return wire.received[0]


@pytest.mark.parametrize(
    ("body", "encoding"),
    [
        ("Score 640\nDemo", "7bit"),  # ASCII in short lines: as it is
        ("Zoë " + "x" * 40, "base64"),  # beyond ASCII
        ("x" * 999, "base64"),  # a line longer than SMTP carries
    ],
)
def test_text_goes_as_it_is_when_smtp_carries_it_unchanged(body, encoding):
    from email import message_from_bytes, policy

    subject = "New lead: " + "A" * 200  # longer than 78 characters, shorter than a line: left as it is
    raw = _sent_as(["rep@acme.com"], subject, body, f"<p>{body}</p>\n<p>more</p>")
    received = message_from_bytes(raw, policy=policy.default)
    parts = [received.get_body(("plain",)), received.get_body(("html",))]
    assert [part["Content-Transfer-Encoding"] for part in parts] == [encoding, encoding]
    texts = [part.get_content().replace("\r\n", "\n") for part in parts]  # lines end in CRLF on the wire
    assert texts == [body, f"<p>{body}</p>\n<p>more</p>"]
    assert f"Subject: {subject}\r\n".encode() in raw


def test_a_header_longer_than_a_line_is_folded():
    from email import message_from_bytes, policy

    to = [f"rep{i}@acme.com" for i in range(80)]
    raw = _sent_as(to, "New lead", "Score 640", "<p>Score 640</p>")
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    received = message_from_bytes(raw, policy=policy.default)
    assert [a.strip() for a in str(received["To"]).split(",")] == to


def test_any_line_end_and_a_leading_period_arrive_as_written():
    from email import message_from_bytes, policy

    body = "line one\r\n.a line that starts with a period\rold line end\nlast"
    raw = _sent_as(["rep@acme.com"], "New lead", body, "<p>one</p>\r<p>two</p>")
    received = message_from_bytes(raw, policy=policy.default)
    # every line ends in CRLF on the wire, whatever it ended in before
    texts = [received.get_body((kind,)).get_content().replace("\r\n", "\n") for kind in ("plain", "html")]
    assert texts == [
        "line one\n.a line that starts with a period\nold line end\nlast",
        "<p>one</p>\n<p>two</p>",
    ]
    boundary = received.get_boundary()
    assert boundary and all(boundary not in text for text in (body, texts[1]))
