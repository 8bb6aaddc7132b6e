"""Seeded synthetic world for the sandbox CRMs and event files, with the truth it planted."""

from sandbox.world.bulk import write_bulk_events, write_hour_of_events
from sandbox.world.world import World, generate_world

__all__ = ["World", "generate_world", "write_bulk_events", "write_hour_of_events"]
