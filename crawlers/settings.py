"""Scrapy settings of the Interdict crawler. Market-specific limits come from
config/markets.toml through each spider (see crawlers/spiders/market.py)."""

import logging
from urllib.parse import urlsplit

from config import load_config
from crawlers import offline

offline.install()
_config = load_config()

BOT_NAME = "interdict"
SPIDER_MODULES = ["crawlers.spiders"]
NEWSPIDER_MODULE = "crawlers.spiders"

# Obeyed per market (Market.obeys_robots_txt: clearnet yes, Tor no, unless configured): the
# spiders mark requests of markets that do not obey with dont_obey_robotstxt, so a Tor
# market's robots.txt is never even fetched.
ROBOTSTXT_OBEY = True
USER_AGENT = _config.crawl.user_agent
# Consoles that listen on a port are not something a crawl host should expose.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

CONCURRENT_REQUESTS = 32
# Measured: CONCURRENT_ITEMS=100 (default) slowed a crawl by ~45% against 4.
CONCURRENT_ITEMS = 8
DOWNLOAD_TIMEOUT = _config.crawl.download_timeout
DOWNLOAD_MAXSIZE = _config.crawl.max_page_bytes
DOWNLOAD_WARNSIZE = _config.crawl.max_page_bytes // 2
RETRY_TIMES = 2
COOKIES_ENABLED = True
REDIRECT_ENABLED = True

# Direct fetches connect only to the public addresses a name resolves to (crawlers/transport/dns.py);
# the host names markets that live on private addresses use are let through, for them alone.
TWISTED_DNS_RESOLVER = "crawlers.transport.dns.EgressGuardResolver"
INTERDICT_PRIVATE_HOSTS = sorted({urlsplit(u).hostname.lower() for m in _config.markets.values()
                                  if m.allow_private_targets for u in m.base_urls if urlsplit(u).hostname})

DOWNLOADER = "crawlers.downloader.SlotBoundDownloader"
DOWNLOAD_HANDLERS = {
    "http": "crawlers.transport.handler.RoutingDownloadHandler",
    "https": "crawlers.transport.handler.RoutingDownloadHandler",
}
DOWNLOADER_MIDDLEWARES = {
    "crawlers.middlewares.MarketSlotMiddleware": 50,
    # after redirects (600) so a redirect target passes the guard too; lower numbers see
    # requests first, so the guard also sits behind every request-rewriting middleware
    "crawlers.transport.egress.EgressGuardMiddleware": 950,
    "crawlers.transport.isolation.IsolationMiddleware": 960,
    # process_exception runs from high to low: Tor outages are handled before retries
    "crawlers.transport.failclosed.FailClosedMiddleware": 595,
    "crawlers.transport.circuits.CircuitRenewalMiddleware": 587,
    "crawlers.transport.mirrors.MirrorFailoverMiddleware": 585,
    # above RedirectMiddleware (600) and HttpCompressionMiddleware (590): responses are seen
    # as the server sent them, redirects included
    "crawlers.evidence.WarcEvidenceMiddleware": 650,
    # before CookiesMiddleware (700) puts cookies into the jar
    "crawlers.sessions.SessionMiddleware": 690,
}
REQUEST_FINGERPRINTER_CLASS = "crawlers.transport.mirrors.MirrorAwareFingerprinter"
# Per-market download slots (see crawlers/middlewares.py): concurrency and delay as configured.
DOWNLOAD_SLOTS = {m.name: {"concurrency": m.concurrency, "delay": m.delay} for m in _config.markets.values()}
ITEM_PIPELINES = {
    "crawlers.pipelines.ValidatePipeline": 100,
    "crawlers.pipelines.EnrichIndexPipeline": 300,
}
EXTENSIONS = {
    "crawlers.extensions.ProgressLine": 500,
    # every crawl is a recorded job holding its market, however started (Scrapyd included)
    "crawlers.jobs.CrawlJobs": 100,
}
SPIDER_MIDDLEWARES = {
    # nearest the engine: sees a page's output after every other middleware
    "crawlers.frontier.FrontierMiddleware": 10,
}
if _config.crawl.frontier:
    # A shared frontier on Redis (crawlers/frontier/): resumable, and shared by workers.
    SCHEDULER = "crawlers.frontier.Frontier"
    REDIS_URL = _config.crawl.frontier
    SCHEDULER_PERSIST = True  # one finishing worker must not delete the others' queue
    DUPEFILTER_CLASS = "crawlers.frontier.FingerprintDupeFilter"
    INTERDICT_FRONTIER_LEASE_TIMEOUT = _config.crawl.frontier_lease_timeout
INTERDICT_JOIN = False  # True: share a crawl of the market under way (crawlers/jobs.py)
INTERDICT_TRIGGER = ""  # what started the crawl, recorded in its job (crawlers/jobs.py)

TOR_SOCKS_URL = _config.tor.socks_url
TOR_OUTAGE_PROBE_INTERVAL = _config.tor.outage_probe_interval
TOR_OUTAGE_GIVE_UP = _config.tor.outage_give_up
TOR_CONTROL_HOST = _config.tor.control_host
TOR_CONTROL_PORT = _config.tor.control_port
TOR_NEWNYM_MIN_INTERVAL = _config.tor.newnym_min_interval

INTERDICT_STORE_PATH = _config.store.path
INTERDICT_BATCH_SIZE = _config.crawl.batch_size
INTERDICT_BATCH_MAX_WAIT = _config.crawl.batch_max_wait
INTERDICT_OUTPUT = ""  # a path, or "-" for stdout: enriched listings as JSON Lines
INTERDICT_PROGRESS = False
INTERDICT_SESSIONS_FILE = _config.crawl.sessions_file
INTERDICT_EVIDENCE_DIR = _config.evidence.dir if _config.evidence.enabled else ""
INTERDICT_EVIDENCE_MAX_FILE_BYTES = _config.evidence.max_file_bytes

LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"


class _OneLineRobotsErrors:
    """An unreachable robots.txt is the market being unreachable, which the crawl reports
    by itself: one line, not a traceback."""

    @staticmethod
    def filter(record) -> bool:
        record.exc_info = record.exc_text = None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


logging.getLogger("scrapy.downloadermiddlewares.robotstxt").addFilter(_OneLineRobotsErrors())
