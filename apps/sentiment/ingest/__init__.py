"""Getting articles in: canonical identities, the ingest service, feed polling, file import."""
