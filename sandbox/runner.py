"""Both CRM emulators served over HTTPS and seeded with a synthetic world: the sandbox as a whole."""

from dataclasses import dataclass
from pathlib import Path

from sandbox.hubspot.emulator import HubSpotEmulator
from sandbox.salesforce.emulator import SalesforceEmulator
from sandbox.server import RunningServer
from sandbox.tls import TlsFiles, create_tls_files
from sandbox.world import World

SANDBOX_TOKEN = "sandbox-token"


def seed_world(world: World, salesforce: SalesforceEmulator, hubspot: HubSpotEmulator) -> None:
    """Load the world's CRM records into the two emulators."""
    for object_name, records in world.salesforce.items():
        salesforce.seed(object_name, records)
    hubspot.seed_owners(world.hubspot_owners)
    for object_type, records in world.hubspot.items():
        hubspot.seed(object_type, records)
    for from_type, from_id, to_type, to_id in world.hubspot_associations:
        hubspot.seed_association(from_type, from_id, to_type, to_id)


@dataclass
class Sandbox:
    """A running pair of emulators; stop() ends both."""

    tls: TlsFiles
    salesforce: RunningServer
    hubspot: RunningServer

    @classmethod
    def start(cls, folder: Path, world: World | None = None, sf_port: int = 0, hs_port: int = 0) -> "Sandbox":
        tls = create_tls_files((folder / "tls").resolve())
        sf_app = SalesforceEmulator(access_token=SANDBOX_TOKEN)
        hs_app = HubSpotEmulator(access_token=SANDBOX_TOKEN)
        if world is not None:
            seed_world(world, sf_app, hs_app)
        sf = RunningServer(sf_app, tls, sf_port)
        try:
            hs = RunningServer(hs_app, tls, hs_port)
        except OSError:
            sf.stop()
            raise
        return cls(tls, sf, hs)

    def env(self) -> dict[str, str]:
        """The contract's connection variables that point revloop at this sandbox."""
        return {
            "SALESFORCE_INSTANCE_URL": self.salesforce.url,
            "SALESFORCE_ACCESS_TOKEN": SANDBOX_TOKEN,
            "HUBSPOT_BASE_URL": self.hubspot.url,
            "HUBSPOT_ACCESS_TOKEN": SANDBOX_TOKEN,
            "REQUESTS_CA_BUNDLE": str(self.tls.ca_bundle),
        }

    def stop(self) -> None:
        self.salesforce.stop()
        self.hubspot.stop()

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
