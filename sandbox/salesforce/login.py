"""The two username/password logins clients use: SOAP login() and the OAuth 2.0 password grant."""

import base64
import hashlib
import hmac
from dataclasses import dataclass
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from werkzeug.wrappers import Request, Response

from sandbox.salesforce.ids import make_id
from sandbox.server import json_response

ORG_ID = make_id("00D", 1)
_SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"


@dataclass(frozen=True)
class Credentials:
    """The integration user's login, and the session id a successful login hands out."""

    username: str
    password: str
    security_token: str
    access_token: str
    user_id: str

    def accepts(self, username: str | None, password: str | None) -> bool:
        # Without a trusted IP range Salesforce wants the security token appended to the password.
        return username == self.username and password in (self.password + self.security_token, self.password)


def _xml(text: str) -> Response:
    return Response(text, status=200, mimetype="text/xml")


def soap_login(request: Request, credentials: Credentials, version: str) -> Response:
    """The partner API login(): an envelope with serverUrl and sessionId, or an INVALID_LOGIN fault."""
    try:
        root = ElementTree.fromstring(request.get_data())
    except ElementTree.ParseError:
        return _soap_fault("INVALID_LOGIN", "INVALID_LOGIN: malformed login request")
    values = {element.tag.rsplit("}", 1)[-1]: (element.text or "") for element in root.iter()}
    if not credentials.accepts(values.get("username"), values.get("password")):
        return _soap_fault(
            "INVALID_LOGIN", "INVALID_LOGIN: Invalid username, password, security token; or user locked out."
        )
    base = request.host_url.rstrip("/")
    return _xml(
        f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{_SOAP_NS}" '
        'xmlns="urn:partner.soap.sforce.com"><soapenv:Body><loginResponse><result>'
        f"<metadataServerUrl>{base}/services/Soap/m/{version}/{ORG_ID}</metadataServerUrl>"
        "<passwordExpired>false</passwordExpired><sandbox>true</sandbox>"
        f"<serverUrl>{base}/services/Soap/u/{version}/{ORG_ID}</serverUrl>"
        f"<sessionId>{escape(credentials.access_token)}</sessionId><userId>{credentials.user_id}</userId>"
        f"<userInfo><organizationId>{ORG_ID}</organizationId><userName>{escape(credentials.username)}</userName>"
        "</userInfo></result></loginResponse></soapenv:Body></soapenv:Envelope>"
    )


def _soap_fault(code: str, message: str) -> Response:
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{_SOAP_NS}" '
        'xmlns:sf="urn:fault.partner.soap.sforce.com"><soapenv:Body><soapenv:Fault>'
        f"<faultcode>sf:{code}</faultcode><faultstring>{escape(message)}</faultstring><detail>"
        f"<sf:LoginFault><sf:exceptionCode>{code}</sf:exceptionCode>"
        f"<sf:exceptionMessage>{escape(message)}</sf:exceptionMessage></sf:LoginFault>"
        "</detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
    return Response(body, status=500, mimetype="text/xml")


def oauth_token(request: Request, credentials: Credentials, issued_at_ms: int) -> Response:
    """POST /services/oauth2/token with grant_type=password."""
    form = request.form
    if form.get("grant_type") != "password":
        return json_response(
            {"error": "unsupported_grant_type", "error_description": "grant type not supported"}, 400
        )
    if not form.get("client_id"):
        return json_response(
            {"error": "invalid_client_id", "error_description": "client identifier invalid"}, 400
        )
    if not credentials.accepts(form.get("username"), form.get("password")):
        return json_response({"error": "invalid_grant", "error_description": "authentication failure"}, 400)
    base = request.host_url.rstrip("/")
    identity = f"{base}/id/{ORG_ID}/{credentials.user_id}"
    # Salesforce signs id + issued_at with the connected app's consumer secret.
    digest = hmac.new(
        form.get("client_secret", "").encode(), f"{identity}{issued_at_ms}".encode(), hashlib.sha256
    )
    return json_response(
        {
            "access_token": credentials.access_token,
            "instance_url": base,
            "id": identity,
            "token_type": "Bearer",
            "issued_at": str(issued_at_ms),
            "signature": base64.b64encode(digest.digest()).decode(),
        }
    )
