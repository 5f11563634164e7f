"""A/B tests: which variant a user sees, and a record of what was shown to whom."""
