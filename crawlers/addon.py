"""The Interdict add-on (Scrapy's ADDONS, as scrapy-poet ships one): reads Interdict's
configuration once per crawl and turns it into Scrapy settings, and installs the egress
guards that must hold before any request. Nothing happens at import: `scrapy crawl`,
Scrapyd and `interdict crawl` all build their settings through ``update_settings``.

Where the configuration comes from, first found:
- ``INTERDICT_SETTINGS``: an already loaded ``config.Settings`` (the CLI hands over its own);
- ``INTERDICT_CONFIG``: an operator file, as a Scrapy setting (``-s INTERDICT_CONFIG=...``);
- the process's environment (``$INTERDICT_CONFIG``, ``INTERDICT_<SECTION>__<KEY>``), as for
  every other command.
Components read it with ``interdict_config(crawler.settings)``."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from config import Settings, load_config
from crawlers import offline

CONFIG_SETTING = "INTERDICT_SETTINGS"
CONFIG_FILE_SETTING = "INTERDICT_CONFIG"


class LoadedConfig:
    """The configuration as a Scrapy setting value. Scrapy logs overridden settings and copies
    them per crawler: this prints as one line without secrets, and is shared, not copied
    (the configuration is frozen)."""

    def __init__(self, config: Settings, source: str = ""):
        self.config, self.source = config, source

    def __repr__(self) -> str:
        return f"<Interdict configuration{' from ' + self.source if self.source else ''}>"

    def __deepcopy__(self, memo) -> "LoadedConfig":
        return self


def interdict_config(settings) -> Settings:
    """The configuration a crawl runs with (see the module's docstring), loaded once: the first
    caller stores it in the settings while they can still change."""
    value = settings.get(CONFIG_SETTING)
    if isinstance(value, LoadedConfig):
        return value.config
    if isinstance(value, Settings):
        return value
    source = settings.get(CONFIG_FILE_SETTING) or None
    config = load_config(source)
    if not settings.frozen:
        settings.set(CONFIG_SETTING, LoadedConfig(config, source or ""), priority="addon")
    return config


def handing_over(config: Settings) -> LoadedConfig:
    """What a caller that loaded the configuration already sets as INTERDICT_SETTINGS."""
    return LoadedConfig(config, "the command line")


def private_hosts(config: Settings) -> list[str]:
    """Host names of the markets that live on private addresses (``allow_private_targets``):
    they alone resolve to such addresses (crawlers/transport/dns.py)."""
    return sorted({urlsplit(u).hostname.lower() for m in config.markets.values()
                   if m.allow_private_targets for u in m.base_urls if urlsplit(u).hostname})


class _OneLineRobotsErrors:
    """An unreachable robots.txt is the market being unreachable, which the crawl reports
    by itself: one line, not a traceback."""

    @staticmethod
    def filter(record) -> bool:
        record.exc_info = record.exc_text = None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


_ROBOTS_FILTER = _OneLineRobotsErrors()


class InterdictAddon:
    def update_settings(self, settings) -> None:
        offline.install()  # before any request: no Public Suffix List download behind the route's back
        logging.getLogger("scrapy.downloadermiddlewares.robotstxt").addFilter(_ROBOTS_FILTER)  # once: a set
        config = interdict_config(settings)
        derived = {
            "USER_AGENT": config.crawl.user_agent,
            "DOWNLOAD_TIMEOUT": config.crawl.download_timeout,
            "DOWNLOAD_MAXSIZE": config.crawl.max_page_bytes,
            "DOWNLOAD_WARNSIZE": config.crawl.max_page_bytes // 2,
            "INTERDICT_PRIVATE_HOSTS": sorted({*settings.getlist("INTERDICT_PRIVATE_HOSTS"), *private_hosts(config)}),
            # Per-market download slots (crawlers/middlewares.py): concurrency and delay as configured.
            "DOWNLOAD_SLOTS": {m.name: {"concurrency": m.concurrency, "delay": m.delay} for m in config.markets.values()},
            "TOR_SOCKS_URL": config.tor.socks_url,
            "TOR_OUTAGE_PROBE_INTERVAL": config.tor.outage_probe_interval,
            "TOR_OUTAGE_GIVE_UP": config.tor.outage_give_up,
            "TOR_CONTROL_HOST": config.tor.control_host,
            "TOR_CONTROL_PORT": config.tor.control_port,
            "TOR_NEWNYM_MIN_INTERVAL": config.tor.newnym_min_interval,
            "INTERDICT_STORE_PATH": config.store.path,
            "INTERDICT_BATCH_SIZE": config.crawl.batch_size,
            "INTERDICT_BATCH_MAX_WAIT": config.crawl.batch_max_wait,
            "INTERDICT_SESSIONS_FILE": config.crawl.sessions_file,
            "INTERDICT_EVIDENCE_DIR": config.evidence.dir if config.evidence.enabled else "",
            "INTERDICT_EVIDENCE_MAX_FILE_BYTES": config.evidence.max_file_bytes,
        }
        if config.crawl.frontier:
            # A shared frontier on Redis (crawlers/frontier/): resumable, and shared by workers.
            # Its URL may hold a password: read from the configuration, never a logged setting.
            derived.update({
                "SCHEDULER": "crawlers.frontier.Frontier",
                "SCHEDULER_PERSIST": True,  # one finishing worker must not delete the others' queue
                "DUPEFILTER_CLASS": "crawlers.frontier.FingerprintDupeFilter",
                "INTERDICT_FRONTIER_LEASE_TIMEOUT": config.crawl.frontier_lease_timeout,
            })
        for name, value in derived.items():
            settings.set(name, value, priority="addon")
