"""Transport errors, phrased for the operator."""

from scrapy.exceptions import DownloadConnectionRefusedError, DownloadFailedError


class TorUnavailableError(DownloadConnectionRefusedError):
    """Tor's SOCKS port cannot be reached. Nothing is fetched by any other route."""


class TorCircuitError(DownloadFailedError):
    """Tor answered, but could not reach the destination (SOCKS reply error)."""
