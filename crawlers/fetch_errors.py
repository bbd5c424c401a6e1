"""Why a fetch failed, as a short counter name ("egress_blocked", "http_404", "timeout"...):
what the spider counts for a page and the images pipeline records for an image."""

from __future__ import annotations

from scrapy.exceptions import DownloadCancelledError, DownloadConnectionRefusedError, DownloadTimeoutError
from scrapy.spidermiddlewares.httperror import HttpError

from crawlers.transport.egress import EgressBlocked
from crawlers.transport.errors import TorCircuitError


def fetch_failure(error: BaseException) -> str:
    if isinstance(error, EgressBlocked):
        return "egress_blocked"
    if isinstance(error, TorCircuitError):
        return "tor_circuit"
    if isinstance(error, HttpError):
        return f"http_{error.response.status}"
    if isinstance(error, DownloadCancelledError) and "max size" in str(error):
        return "too_large"
    if isinstance(error, DownloadTimeoutError):
        return "timeout"
    if isinstance(error, DownloadConnectionRefusedError):
        return "connection_refused"
    return "fetch_error"
