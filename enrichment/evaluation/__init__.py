"""Measuring the enrichment stage on real market data (``interdict eval enrichment``)."""
