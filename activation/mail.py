"""Notification e-mail over SMTP, configured by SMTP_HOST, SMTP_PORT and SMTP_FROM (TLS verified)."""

import io
import os
import re
import smtplib
import ssl
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.generator import BytesGenerator
from email.header import Header
from email.message import EmailMessage, Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import Compat32
from email.utils import make_msgid

IMPLICIT_TLS_PORT = 465  # SMTPS (RFC 8314): TLS from the first byte
_TRUE = {"1", "true", "yes", "on"}
_LINE_END = re.compile(r"\r\n|\r|\n")  # what the generator takes for a line end
MAX_LINE = 998  # characters in a line of a message, CRLF not counted (RFC 5322 2.1.1)


class _Unfolded(Compat32):
    """Compat32 that writes each header as it is, on one line: the ASCII headers of build_message, which fit
    a line, skip the Header class's folding (a third of a large run's message generation)."""

    def fold_binary(self, name: str, value) -> bytes:
        if isinstance(value, str) and value.isascii() and "\r" not in value and "\n" not in value:
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


UNFOLDED = _Unfolded(max_line_length=0)


class MailConfigError(ValueError):
    """The SMTP variables are set but unusable."""


class InsecureLoginError(smtplib.SMTPException):
    """The server offers no TLS and a login would send the password in clear."""


@dataclass(frozen=True)
class SmtpSettings:
    """Where notification e-mails go; the password, if any, stays out of repr and logs.

    implicit_tls: TLS from the first byte (port 465 by default); otherwise STARTTLS whenever the server
    offers it. ca_file: extra CA bundle to trust (a private relay); certificates and host names are always
    verified. allow_plaintext_login: log in without TLS (a local relay only).
    """

    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    timeout_s: float = 30.0
    implicit_tls: bool | None = None
    ca_file: str | None = None
    allow_plaintext_login: bool = False

    def __repr__(self) -> str:
        return f"SmtpSettings(host={self.host!r}, port={self.port}, sender={self.sender!r})"

    @property
    def uses_implicit_tls(self) -> bool:
        return self.port == IMPLICIT_TLS_PORT if self.implicit_tls is None else self.implicit_tls

    def tls_context(self) -> ssl.SSLContext:
        """A context that verifies the server's certificate chain and host name."""
        return ssl.create_default_context(cafile=self.ca_file)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "SmtpSettings | None":
        """Settings from the environment, or None when SMTP_HOST is unset (e-mails go to the outbox)."""
        env = os.environ if env is None else env
        host = env.get("SMTP_HOST", "").strip()
        if not host:
            return None
        port_text = env.get("SMTP_PORT", "").strip() or "25"
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise MailConfigError(f"SMTP_PORT must be a port number, got {port_text!r}")
        sender = env.get("SMTP_FROM", "").strip()
        if "@" not in sender:
            raise MailConfigError("SMTP_FROM must be the sender's e-mail address when SMTP_HOST is set")
        ca_file = env.get("SMTP_CA_FILE", "").strip() or None
        if ca_file and not os.path.isfile(ca_file):
            raise MailConfigError(f"SMTP_CA_FILE names no file: {ca_file!r}")
        tls_text = env.get("SMTP_IMPLICIT_TLS", "").strip().lower()
        return cls(
            host=host,
            port=int(port_text),
            sender=sender,
            username=env.get("SMTP_USERNAME") or None,
            password=env.get("SMTP_PASSWORD") or None,
            implicit_tls=(tls_text in _TRUE) if tls_text else None,
            ca_file=ca_file,
            allow_plaintext_login=env.get("SMTP_ALLOW_PLAINTEXT_LOGIN", "").strip().lower() in _TRUE,
        )


def build_message(
    sender: str,
    to: Sequence[str],
    subject: str,
    body: str,
    html: str | None = None,
    message_id: str | None = None,
) -> Message:
    """A message with a plain-text part (and an HTML alternative), under a stable Message-ID.

    A caller that records the Message-ID before sending passes it in: a resend then carries the same id,
    so a receiver can tell it from a new mail. With ASCII addresses it is built with the email.mime classes,
    a third of the CPU of EmailMessage (whose header parsing dominated a large run's sending); a sender name
    or an address that is not ASCII needs EmailMessage's header encoding (and SMTPUTF8 for the address).
    """
    message_id = message_id or make_msgid(domain=sender.rpartition("@")[2] or None)
    if not all(address.isascii() for address in (sender, *to)):
        return _encoded_message(sender, to, subject, body, html, message_id)
    text = _text_part(body, "plain")
    if html is None:
        message: Message = text
    else:
        # a boundary of its own that neither text holds: the generator need not search the texts for one
        message = MIMEMultipart("alternative", boundary=_boundary(body, html))
        message.attach(text)
        message.attach(_text_part(html, "html"))
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Subject"] = subject if subject.isascii() else Header(subject, "utf-8")
    message["Message-ID"] = message_id
    if all(
        isinstance(value, str) and len(name) + 2 + len(value) <= MAX_LINE for name, value in message.items()
    ):
        message.policy = UNFOLDED  # folding headers that fit a line cost a third of the generator's CPU
    return message


def _boundary(*texts: str) -> str:
    while True:
        boundary = f"=_revloop_{uuid.uuid4().hex}"
        if not any(boundary in text for text in texts):
            return boundary


class _Generator(BytesGenerator):
    """BytesGenerator writing a text's lines in one piece, not line by line (half of its CPU on a large
    run's e-mails); the bytes are the same."""

    def _write_lines(self, lines: str) -> None:
        self.write(_LINE_END.sub(self._NL, lines) if "\r" in lines else lines.replace("\n", self._NL))


def flatten(message: Message) -> bytes:
    """The message as SMTP carries it (CRLF line ends)."""
    out = io.BytesIO()
    _Generator(out).flatten(message, linesep="\r\n")
    return out.getvalue()


def _text_part(text: str, subtype: str) -> MIMEText:
    """A text part as it is (7bit) when it is ASCII in lines SMTP carries unchanged, else base64 UTF-8 (whose
    encoding cost more CPU than the rest of a large run's sending)."""
    if text.isascii() and "\0" not in text and max(map(len, text.split("\n"))) <= MAX_LINE:
        return MIMEText(text, subtype, "us-ascii")
    return MIMEText(text, subtype, "utf-8")


def _encoded_message(
    sender: str, to: Sequence[str], subject: str, body: str, html: str | None, message_id: str
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message.set_content(body)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def _connect(settings: SmtpSettings) -> smtplib.SMTP:
    if settings.uses_implicit_tls:
        return smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=settings.timeout_s, context=settings.tls_context()
        )
    return smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_s)


class SmtpSession:
    """One SMTP conversation for many messages: connect, TLS and login once, then send each, then QUIT.

    TLS: implicit on 465, else STARTTLS when offered, both with verified certificates; a login over a
    connection without TLS is refused unless allow_plaintext_login.
    """

    def __init__(self, settings: SmtpSettings):
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> "SmtpSession":
        self.open()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def open(self) -> None:
        """Connect, secure and log in."""
        settings = self.settings
        smtp = _connect(settings)
        try:
            smtp.ehlo()
            secure = settings.uses_implicit_tls
            if not secure and smtp.has_extn("starttls"):
                smtp.starttls(context=settings.tls_context())
                smtp.ehlo()
                secure = True
            if settings.username:
                if not secure and not settings.allow_plaintext_login:
                    raise InsecureLoginError(
                        f"{settings.host}:{settings.port} offers no TLS: refusing to send the SMTP password "
                        "in clear (set SMTP_ALLOW_PLAINTEXT_LOGIN=1 only for a local relay)"
                    )
                smtp.login(settings.username, settings.password or "")
        except BaseException:
            smtp.close()
            raise
        self._smtp = smtp

    @property
    def closed(self) -> bool:
        return self._smtp is None

    def send(
        self,
        to: Sequence[str],
        subject: str,
        body: str,
        html: str | None = None,
        message_id: str | None = None,
    ) -> str:
        """Send one message on the open connection; returns its Message-ID once the server accepted it.

        A refusal of this message (sender, every recipient, its data) raises an smtplib error and leaves the
        connection usable unless connection_lost(error); a lost connection raises another OSError.
        """
        if self._smtp is None:
            raise smtplib.SMTPServerDisconnected("the SMTP session is not open")
        if not to:
            raise ValueError("an e-mail needs at least one recipient")
        message = build_message(self.settings.sender, to, subject, body, html, message_id)
        if isinstance(message, EmailMessage):  # an address that is not ASCII: SMTPUTF8, as smtplib does it
            self._smtp.send_message(message)
        else:  # ASCII addresses, known already: no parsing them back out of the headers
            self._smtp.sendmail(self.settings.sender, list(to), flatten(message))
        return message["Message-ID"]

    def close(self) -> None:
        """QUIT (or just close when the server no longer answers)."""
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        # once the server accepted the messages, a failed QUIT must not make the caller send them again
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


def connection_lost(error: BaseException) -> bool:
    """Whether a send error ended the SMTP conversation (the next message needs a new connection)."""
    # RFC 5321 4.2.3: 421, the server is closing the transmission channel; smtplib errors are OSErrors too
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return any(code == 421 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code == 421
    return isinstance(error, OSError)


def send_mail(
    settings: SmtpSettings,
    to: Sequence[str],
    subject: str,
    body: str,
    html: str | None = None,
    message_id: str | None = None,
) -> str:
    """Send one e-mail over its own connection; returns its Message-ID once the server accepted it."""
    if not to:
        raise ValueError("an e-mail needs at least one recipient")
    with SmtpSession(settings) as session:
        return session.send(to, subject, body, html, message_id)
