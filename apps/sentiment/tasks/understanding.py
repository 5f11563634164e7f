"""Celery tasks: understanding."""
