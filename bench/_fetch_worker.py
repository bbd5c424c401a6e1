"""One benchmark run in its own process (a Scrapy reactor cannot be restarted):
fetch every URL in a file and print one JSON line with pages, seconds and CPU seconds.

    python bench/_fetch_worker.py MODE URLS_FILE CONCURRENCY PROXY

MODE: interdict (Interdict's Tor SOCKS5h handler), privoxy (Scrapy's stock handler with
Privoxy as HTTP proxy in front of the same Tor client), requests (requests[socks],
sequential, one session), privoxy-crawl (the file's one URL is a site's front page: follow
every link on that host, as ahmia-crawler does, through Privoxy, no pipelines).
"""

from __future__ import annotations

import json
import resource
import sys
import time


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_requests(urls: list[str], proxy: str) -> int:
    import requests

    ok = 0
    with requests.Session() as session:
        session.proxies = {"http": proxy, "https": proxy}
        for url in urls:
            ok += session.get(url, timeout=60).status_code == 200
    return ok


def run_scrapy(mode: str, urls: list[str], concurrency: int, proxy: str) -> int:
    import scrapy
    from scrapy.crawler import CrawlerProcess
    from scrapy.linkextractors import LinkExtractor
    from scrapy.settings import Settings

    from config import load_config

    settings = Settings()
    if mode != "privoxy-crawl":  # that one is stock Scrapy, as ahmia-crawler runs it
        settings.setmodule("crawlers.settings", priority="project")
    settings.setdict({"ITEM_PIPELINES": {}, "EXTENSIONS": {}, "LOG_LEVEL": "ERROR", "RETRY_TIMES": 0,
                      "CONCURRENT_REQUESTS": concurrency, "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
                      "DOWNLOAD_SLOTS": {"bench": {"concurrency": concurrency, "delay": 0}}}, priority="cmdline")
    if mode.startswith("privoxy"):
        # Scrapy's own handlers and middlewares only: HttpProxyMiddleware sends it to Privoxy
        settings.set("DOWNLOAD_HANDLERS", {}, priority="cmdline")
        settings.set("DOWNLOADER_MIDDLEWARES", {}, priority="cmdline")
    ok = []

    class BenchSpider(scrapy.Spider):
        name = "bench"
        market = load_config().market("bench") if mode == "interdict" else None
        market_name = "bench"

        links = LinkExtractor(allow_domains=[urls[0].split("/")[2].split(":")[0]])

        async def start(self):
            for url in urls:
                meta = {"proxy": proxy} if mode.startswith("privoxy") else {}
                yield scrapy.Request(url, meta=meta, dont_filter=mode != "privoxy-crawl")

        def parse(self, response):
            ok.append(response.status == 200)
            if mode == "privoxy-crawl" and response.status == 200:
                for link in self.links.extract_links(response):
                    yield scrapy.Request(link.url, meta={"proxy": proxy})

    process = CrawlerProcess(settings)
    process.crawl(BenchSpider)
    process.start()
    return sum(ok)


def main() -> None:
    mode, urls_file, concurrency, proxy = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    urls = [line.strip() for line in open(urls_file) if line.strip()]
    cpu0, t0 = cpu_seconds(), time.monotonic()
    ok = run_requests(urls, proxy) if mode == "requests" else run_scrapy(mode, urls, concurrency, proxy)
    elapsed = time.monotonic() - t0
    print(json.dumps({"mode": mode, "concurrency": concurrency, "pages": ok, "urls": len(urls),
                      "seconds": round(elapsed, 3), "cpu_seconds": round(cpu_seconds() - cpu0, 3)}))


if __name__ == "__main__":
    main()
