"""Admin: ingest."""
