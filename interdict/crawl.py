"""Running market spiders in this process and reporting what they did."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings
from scrapy.spiderloader import get_spider_loader

from config import Settings as InterdictSettings
from crawlers.addon import CONFIG_SETTING, handing_over, private_hosts
from crawlers.history import pages_fetched
from interdict.errors import UserError


@dataclass
class CrawlReport:
    market: str
    stats: dict = field(default_factory=dict)

    def get(self, key: str, default: int = 0) -> int:
        return self.stats.get(key, default)

    @property
    def dropped(self) -> dict[str, int]:
        return {k.removeprefix("interdict/dropped/"): v for k, v in sorted(self.stats.items())
                if k.startswith("interdict/dropped/")}

    @property
    def paused(self) -> bool:
        return bool(self.stats.get("interdict/paused"))

    @property
    def pages(self) -> int:
        return pages_fetched(self.stats)

    @property
    def skipped(self) -> bool:
        return bool(self.stats.get("interdict/busy"))

    def _images_line(self) -> str:
        refused = {k.removeprefix("interdict/images/refused/"): v for k, v in sorted(self.stats.items())
                   if k.startswith("interdict/images/refused/")}
        missing = {k.removeprefix("interdict/images/unavailable/"): v for k, v in sorted(self.stats.items())
                   if k.startswith("interdict/images/unavailable/")}
        line = (f"{self.market}: images: {self.get('interdict/images/kept')} kept "
                f"({self.get('interdict/images/with_gps')} with GPS, {self.get('interdict/images/stripped')} without "
                f"EXIF), {self.get('interdict/images/inline')} inline")
        if refused:
            line += "; refused " + ", ".join(f"{k} {v}" for k, v in refused.items())
        if missing:
            line += "; not fetched " + ", ".join(f"{k} {v}" for k, v in missing.items())
        if refused.get("blocklisted"):
            line += " (blocklisted images are flagged for the operator: `interdict images flagged`)"
        return line

    def lines(self) -> list[str]:
        if self.skipped:
            return [f"{self.market}: skipped: another crawl of it is running ({self.stats.get('interdict/busy')})"]
        lines = [
            f"{self.market}: {self.pages} pages, {self.get('interdict/listings/scraped')} listings "
            f"({self.get('interdict/index/listings_new')} new, {self.get('interdict/index/listings_updated')} updated, "
            f"{self.get('interdict/index/listings_unchanged')} unchanged), {self.get('interdict/vendors/scraped')} vendors",
        ]
        routes = {k.removeprefix("interdict/route/"): v for k, v in sorted(self.stats.items())
                  if k.startswith("interdict/route/")}
        if routes:
            lines.append(f"{self.market}: requests by route: " + ", ".join(f"{k} {v}" for k, v in routes.items()))
        if self.get("interdict/images/requests") or self.get("interdict/images/inline"):
            lines.append(self._images_line())
        served = {k.removeprefix("interdict/mirror/served/"): v for k, v in sorted(self.stats.items())
                  if k.startswith("interdict/mirror/served/")}
        if len(served) > 1 or self.get("interdict/mirror/failovers"):
            lines.append(f"{self.market}: mirrors: " + ", ".join(f"{v} pages from {k}" for k, v in served.items())
                         + f"; {self.get('interdict/mirror/failovers')} failover(s)")
        if self.stats.get("interdict/frontier/unavailable"):
            lines.append(f"{self.market}: {self.stats['interdict/frontier/unavailable']}; what it held stays there "
                         "and the next crawl resumes it")
        if self.get("interdict/frontier/resumed"):
            lines.append(f"{self.market}: resumed the crawl begun {self.stats.get('interdict/frontier/started')}: "
                         f"{self.get('interdict/frontier/resumed')} request(s) were waiting")
        if self.get("interdict/frontier/reclaimed"):
            lines.append(f"{self.market}: {self.get('interdict/frontier/reclaimed')} request(s) of ended workers "
                         "queued again")
        if self.get("interdict/incremental/skipped"):
            lines.append(f"{self.market}: incremental: {self.get('interdict/incremental/skipped')} listing page(s) "
                         "seen recently were not fetched again")
        if self.get("interdict/tor/circuit_renewals"):
            lines.append(f"{self.market}: {self.get('interdict/tor/circuit_renewals')} circuit renewal(s) after bans")
        if self.get("interdict/tor/pauses"):
            lines.append(f"{self.market}: paused {self.get('interdict/tor/pauses')} time(s) while Tor was unreachable")
        spooled = self.get("interdict/index/spooled_batches")
        if spooled:
            lines.append(f"{self.market}: store unavailable for {spooled} batch(es): spooled, "
                         f"{self.get('interdict/index/replayed_batches')} replayed, "
                         f"{self.get('interdict/index/left_in_spool')} record(s) left in the spool")
        if self.get("interdict/index/listings_rejected"):
            lines.append(f"{self.market}: {self.get('interdict/index/listings_rejected')} listing(s) rejected by the store")
        if self.dropped:
            lines.append(f"{self.market}: dropped " + ", ".join(f"{k} {v}" for k, v in self.dropped.items()))
        if self.get("interdict/pages/bad_encoding"):
            lines.append(f"{self.market}: {self.get('interdict/pages/bad_encoding')} page(s) with invalid bytes kept")
        if self.stats.get("interdict/paused"):
            lines.append(f"{self.market}: PAUSED since {self.stats.get('interdict/paused_since')}: "
                         f"{self.stats['interdict/paused']} at {self.stats.get('interdict/paused_url')} — nothing behind "
                         f"it was indexed; supply a fresh session (crawl.sessions_file) or run "
                         f"`interdict handoff resolve {self.market}`, then crawl again")
        elif self.get("interdict/resumed"):
            lines.append(f"{self.market}: resumed with a fresh session")
        if self.stats.get("finish_reason") not in (None, "finished"):
            lines.append(f"{self.market}: crawl ended early: {self.stats.get('finish_reason')}")
        return lines


def scrapy_settings(config: InterdictSettings, store_path: str, output: str | None = None, verbose: bool = False,
                    trigger: str = "manual", join: bool = False) -> Settings:
    """The crawl's Scrapy settings, handed the configuration this command loaded (the add-on,
    crawlers/addon.py, turns it into the rest)."""
    settings = Settings()
    settings.setmodule("interdict.scrapy_settings", priority="project")
    settings.set(CONFIG_SETTING, handing_over(config), priority="cmdline")
    settings.set("INTERDICT_STORE_PATH", store_path, priority="cmdline")
    settings.set("INTERDICT_OUTPUT", output or "", priority="cmdline")
    settings.set("INTERDICT_PROGRESS", sys.stderr.isatty(), priority="cmdline")
    settings.set("INTERDICT_TRIGGER", trigger, priority="cmdline")
    settings.set("INTERDICT_JOIN", join, priority="cmdline")
    settings.set("LOG_LEVEL", "INFO" if verbose else "WARNING", priority="cmdline")
    return settings


def _check_blocklist(config: InterdictSettings) -> None:
    """A blocklist that cannot be read stops the crawl before it starts (the images pipeline
    refuses to run without it: listed images would get through)."""
    from enrichment.images import Blocklist

    images = config.images
    try:
        Blocklist.from_files(images.blocklist_sha256, images.blocklist_phash, images.blocklist_radius)
    except (OSError, ValueError) as exc:
        raise UserError(f"images: cannot read the blocklist: {exc}") from None


def run_crawls(config: InterdictSettings, markets: dict[str, str | None], store_path: str,
               output: str | None = None, verbose: bool = False, trigger: str = "manual",
               mode: str = "full", join: bool = False) -> list[CrawlReport]:
    """Crawl each market (name -> base URL override or None) at once; blocks until done.
    Each crawl records its job and holds its market itself (crawlers.jobs): a market another
    crawl holds is skipped, its report saying by whom."""
    if any(config.market(name).images for name in markets):
        _check_blocklist(config)
    settings = scrapy_settings(config, store_path, output, verbose, trigger, join)
    overrides = {urlsplit(url).hostname.lower() for name, url in markets.items()
                 if url and config.market(name).allow_private_targets and urlsplit(url).hostname}
    if overrides:  # a market moved to another private address by --base-url lives there now
        settings.set("INTERDICT_PRIVATE_HOSTS", sorted({*private_hosts(config), *overrides}), priority="cmdline")
    loader = get_spider_loader(settings)  # SPIDER_LOADER_CLASS: one spider per profile (crawlers/spiders/loader.py)
    for name in markets:
        spider_name = config.market(name).profile
        if spider_name not in loader.list():
            raise UserError(f"market {name!r}: no spider for profile {spider_name!r} "
                            f"(have: {', '.join(loader.list())})")
    process = CrawlerProcess(settings)
    crawlers = []
    for name, base_url in markets.items():
        crawler = process.create_crawler(loader.load(config.market(name).profile))
        kwargs = {"market": name, "mode": mode}
        if base_url:
            kwargs["base_url"] = base_url
        process.crawl(crawler, **kwargs)
        crawlers.append((name, crawler))
    process.start()
    return [CrawlReport(name, dict(crawler.stats.get_stats())) for name, crawler in crawlers]
