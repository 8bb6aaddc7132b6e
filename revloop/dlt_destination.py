"""dlt's DuckDB credentials whose connections wait for the warehouse file lock (revloop.warehouse)."""

from typing import Any

import duckdb
from dlt.common.configuration import configspec, resolve_configuration
from dlt.destinations.impl.duckdb.configuration import DuckDbConnectionPool, DuckDbCredentials

from revloop.warehouse import wait_for_lock


class _WaitingPool(DuckDbConnectionPool):
    """A connection pool that waits (bounded) while another process holds the database file."""

    def borrow_conn(self, *args, **kwargs) -> duckdb.DuckDBPyConnection:
        database = str(self.credentials._conn_str())
        return wait_for_lock(lambda: super(_WaitingPool, self).borrow_conn(*args, **kwargs), database)


@configspec(init=False)
class WaitingDuckDbCredentials(DuckDbCredentials):
    """DuckDB credentials whose loads wait for a file lock held by a reader instead of failing at once."""

    def on_resolved(self) -> None:
        super().on_resolved()
        self.conn_pool = _WaitingPool(self)

    @classmethod
    def resolved(cls, database: str, global_config: dict[str, Any]) -> "WaitingDuckDbCredentials":
        """Credentials of the database file, resolved: dlt then uses them as they are (a resolved
        explicit value), instead of copying them into plain DuckDbCredentials."""
        credentials = cls()
        credentials.database = database
        credentials.global_config = global_config
        return resolve_configuration(credentials)
