"""Celery tasks: catalogue (item index sync, co-occurrence refresh)."""
