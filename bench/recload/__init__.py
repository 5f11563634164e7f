"""Helpers of bench/rec_load.py: the data set (synthetic or CSV) and the locust user, each step's
database and subcommands (setup), the web server (server), the locust runs (runs), the table
(report)."""
