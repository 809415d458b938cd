"""Sample municipal sites on 127.0.0.1 for the demo, the tests and the benchmarks."""

from crawler.samplesites.server import HanwebSite, NewsSite, PlatformSite, SampleSites, TrsSite

__all__ = ["HanwebSite", "NewsSite", "PlatformSite", "SampleSites", "TrsSite"]
