"""The sandbox's HTTPS server keeps connections alive between requests, as the real CRM APIs do."""

import http.client
import json
import ssl

import pytest
import requests

from sandbox.hubspot.emulator import HubSpotEmulator
from sandbox.server import RunningServer

TOKEN = {"Authorization": "Bearer sandbox-token"}


@pytest.fixture
def served(tls):
    server = RunningServer(HubSpotEmulator(), tls)
    session = requests.Session()
    session.trust_env = False
    session.verify = str(tls.ca_cert)
    try:
        yield server, session
    finally:
        server.stop()
        session.close()


@pytest.fixture
def connection(served, tls):
    """A bare HTTP/1.1 connection to the server: its socket shows whether the server kept it open."""
    server, _ = served
    context = ssl.create_default_context(cafile=str(tls.ca_cert))
    connection = http.client.HTTPSConnection("127.0.0.1", server.port, context=context)
    yield connection
    connection.close()


def _exchange(connection, method: str, path: str, body: str | None = None, **headers: str):
    headers = {**TOKEN, "Content-Type": "application/json", **headers}
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    response.read()
    return response


def test_requests_share_one_connection_even_after_a_body(served, connection):
    server, _ = served
    search = json.dumps({"filterGroups": [], "limit": 5})
    _exchange(connection, "GET", "/crm/v3/owners")
    first_socket = connection.sock
    for _ in range(3):
        response = _exchange(connection, "POST", "/crm/v3/objects/contacts/search", search)
        assert response.status == 200 and response.getheader("Connection") is None
        assert _exchange(connection, "GET", "/crm/v3/owners").status == 200
    assert connection.sock is first_socket
    assert [r.status for r in server.app.request_log] == [200] * 7


def test_a_client_asking_to_close_gets_its_connection_closed(connection):
    response = _exchange(connection, "GET", "/crm/v3/owners", Connection="close")
    assert response.status == 200 and response.getheader("Connection") == "close"
    assert connection.sock is None  # http.client closed it as the server said it would


def test_stopping_the_server_ends_kept_alive_connections(served):
    server, session = served
    assert session.get(f"{server.url}/crm/v3/owners", headers=TOKEN).status_code == 200
    server.stop()
    with pytest.raises(requests.ConnectionError):
        session.get(f"{server.url}/crm/v3/owners", headers=TOKEN, timeout=5)
