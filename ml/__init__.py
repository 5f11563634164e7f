"""Tessera's framework-free ML core: encoder, vector index, fine-tuning, serving.

Only `ml.registry` (a Django app) and `ml.tasks` (Celery) may import Django; everything else
takes and returns plain values so it can run in any process.
"""
