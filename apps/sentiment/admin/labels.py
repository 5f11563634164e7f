"""Admin: labels."""
