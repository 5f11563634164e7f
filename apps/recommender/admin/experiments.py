"""Admin: experiments."""
