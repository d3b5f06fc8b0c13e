"""DuckDB warehouse: connection, migrations, SQL files and atomic partition writes."""

from nbaprops.warehouse.connection import (
    SCHEMA_VERSION,
    connect,
    migrate,
    read_sql,
    replace_partition,
    schema_version,
    sql_files,
)

__all__ = [
    "SCHEMA_VERSION",
    "connect",
    "migrate",
    "read_sql",
    "replace_partition",
    "schema_version",
    "sql_files",
]
