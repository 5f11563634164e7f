"""Offline recommendation quality (bench/rec_quality.py): data loading, text vectors, runs."""
