"""The database: engines and sessions, the schema and its migrations, catalog rows, export and import."""
