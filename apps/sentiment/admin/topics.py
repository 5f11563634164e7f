"""Admin: topics."""
