"""Benchmarks: scripts under bench/ (run as `python bench/<name>.py`), their shared helpers in
bench/common.py, and the larger ones split into packages (bench/chatload, bench/chatquality)."""
