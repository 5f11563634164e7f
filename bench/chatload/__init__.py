"""Support-chat load test: real Daphne servers, real websocket clients, open-loop arrivals.

Split by concern: knowledge (the data set as a knowledge base), setup (Django, database, cached
index), server (Daphne processes), sampler (the profiler the servers run under with --profile),
client (websockets, open-loop load), measure (reading and summarising), cli (arguments, main).
Usage and method: bench/chat_load.py.
"""
