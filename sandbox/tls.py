"""A throw-away certificate authority and server certificate for the sandbox's HTTPS endpoints."""

import ssl
from dataclasses import dataclass
from pathlib import Path

import certifi
import trustme


@dataclass(frozen=True)
class TlsFiles:
    """Where the sandbox's certificate files live."""

    ca_cert: Path  # the sandbox CA alone
    ca_bundle: Path  # the sandbox CA plus the public CAs: a REQUESTS_CA_BUNDLE that still reaches real APIs
    server_cert_chain: Path
    server_key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.server_cert_chain, self.server_key)
        return context


def create_tls_files(folder: Path) -> TlsFiles:
    """Generate a CA and a certificate for 127.0.0.1 / localhost into folder."""
    folder.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="revloop sandbox")
    server = ca.issue_cert("127.0.0.1", "localhost")
    files = TlsFiles(
        ca_cert=folder / "sandbox-ca.pem",
        ca_bundle=folder / "ca-bundle.pem",
        server_cert_chain=folder / "server-chain.pem",
        server_key=folder / "server-key.pem",
    )
    ca.cert_pem.write_to_path(str(files.ca_cert))
    server.private_key_pem.write_to_path(str(files.server_key))
    files.server_cert_chain.write_bytes(b"".join(blob.bytes() for blob in server.cert_chain_pems))
    files.ca_bundle.write_bytes(Path(certifi.where()).read_bytes() + b"\n" + ca.cert_pem.bytes())
    return files
