"""Alert latency benchmark: from an article's arrival at the push API to its alert email.

Split by concern: data (sentences, training CSV, the burst's articles), stack (scratch database,
Celery processes, the timed SMTP server), model (the fine-tuned `sentiment.headline`), burst
(pushing the burst and measuring latency), runs (one run, start to finish), report (the table).
Usage and method: bench/alert_latency.py.
"""
