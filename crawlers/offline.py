"""Keep the crawl process from reaching the network behind its route's back.

Scrapy's cookie middleware splits domains with tldextract, which downloads the Public
Suffix List on first use: a request outside any proxy. Use the snapshot bundled with
tldextract instead, never a URL.
"""

from __future__ import annotations

from scrapy.downloadermiddlewares import cookies
from tldextract import TLDExtract

OFFLINE_TLDEXTRACT = TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True)


def install() -> None:
    cookies._split_domain = OFFLINE_TLDEXTRACT
