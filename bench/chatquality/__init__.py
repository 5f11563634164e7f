"""Chat answering quality: intent fine-tuning, KB retrieval, and unknown-question hand-off.

Split by concern: config (constants), models (fine-tuning, baseline), retrieval (knowledge
base, calibration constants, ranking metrics), thresholds, runs (main run, sweep), oos (unknown
questions), report (tables), cli (arguments, main). Usage and method: bench/chat_quality.py.
"""
