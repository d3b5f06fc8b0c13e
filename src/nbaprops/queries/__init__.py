"""Read-only queries that the interfaces render: the dashboard pages' data and the tables the Python API
returns as DataFrames."""
