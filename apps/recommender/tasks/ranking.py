"""Celery tasks: the ranking model."""
