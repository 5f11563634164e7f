"""Helpers of bench/rec_load.py: the data set (synthetic or CSV) and the locust user."""
