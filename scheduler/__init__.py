"""Scheduling, crawl runner and the muniarchive command line."""
