"""What a process that forks dbt commands loads first, so that every command it forks inherits it.

- dbt's command line and both warehouses' adapters.
- The JSON schemas dbt validates the project, its flags, the profile, the selectors and each test's result
  against: dbt builds a class's schema the first time the process validates one, then caches it per class.
- The serialisers of the parse cache's classes: each command reads the project's partial_parse.msgpack,
  and mashumaro writes the code that decodes a class (and encodes it into the graph dbt's Jinja sees) the
  first time the process meets one. Reading the project's own cache here meets the classes it holds.
- The compiled Jinja template of every macro in that cache: dbt compiles a macro the first time a process
  calls it and keeps it under the macro's source text, so a changed macro is compiled again.
Together about a second and a half of CPU per command. Importing this module loads them.
"""

import dbt.adapters.duckdb  # noqa: F401 - imported to be inherited
import dbt.adapters.postgres  # noqa: F401
import dbt.cli.main  # noqa: F401
from dbt.adapters.duckdb.credentials import DuckDBCredentials
from dbt.adapters.postgres.connections import PostgresCredentials
from dbt.contracts.graph.manifest import Manifest
from dbt.contracts.project import Configuration, PackageConfig, ProfileConfig, Project, ProjectFlags
from dbt.contracts.selection import SelectorFile
from dbt.parser.manifest import extended_mashumuro_decoder
from dbt.task.test import TestResultData
from dbt_common.clients.jinja import template_cache

from revloop.dbt import DBT_PROJECT_DIR

VALIDATED = (
    ProjectFlags, Project, PackageConfig, ProfileConfig, Configuration, SelectorFile, DuckDBCredentials,
    PostgresCredentials, TestResultData,
)
PARSE_CACHE = DBT_PROJECT_DIR / "target" / "partial_parse.msgpack"  # written by `make manifest`


def load_serialisers() -> None:
    """Build the schemas, decode the parse cache (when there is one) as a command does, and compile the
    templates of its macros."""
    for validated in VALIDATED:
        validated.json_schema()
    try:
        cache = PARSE_CACHE.read_bytes()
        manifest = Manifest.from_msgpack(cache, decoder=extended_mashumuro_decoder)
        manifest.build_flat_graph()
        for macro in manifest.macros.values():
            template_cache.get_node_template(macro)
    except Exception:  # noqa: BLE001 - no cache (yet), or one being rewritten: the commands meet them later
        pass


load_serialisers()
