"""Scrapy settings of the Interdict crawler: what every crawl shares. What Interdict's
configuration decides (user agent, limits, Tor, the store, market slots, the shared
frontier) the add-on sets when a crawler is built (crawlers/addon.py); importing this
module does nothing else."""

# Interdict's configuration, read once per crawl, and the egress guards (crawlers/addon.py).
ADDONS = {"crawlers.addon.InterdictAddon": 0}

BOT_NAME = "interdict"
# One spider, named after each market profile (crawlers/spiders/loader.py).
SPIDER_LOADER_CLASS = "crawlers.spiders.loader.MarketSpiderLoader"

# Obeyed per market (Market.obeys_robots_txt: clearnet yes, Tor no, unless configured): the
# spiders mark requests of markets that do not obey with dont_obey_robotstxt, so a Tor
# market's robots.txt is never even fetched.
ROBOTSTXT_OBEY = True
# Consoles that listen on a port are not something a crawl host should expose.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

CONCURRENT_REQUESTS = 32
# Measured: CONCURRENT_ITEMS=100 (default) slowed a crawl by ~45% against 4.
CONCURRENT_ITEMS = 8
RETRY_TIMES = 2
COOKIES_ENABLED = True
REDIRECT_ENABLED = True

# Direct fetches connect only to the public addresses a name resolves to (crawlers/transport/dns.py);
# the host names markets that live on private addresses use are let through, for them alone.
TWISTED_DNS_RESOLVER = "crawlers.transport.dns.EgressGuardResolver"

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
ITEM_PIPELINES = {
    "crawlers.pipelines.ValidatePipeline": 100,
    # markets with images = true: fetched, screened against the blocklist, hashed, kept
    "crawlers.images.ListingImagesPipeline": 200,
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
INTERDICT_JOIN = False  # True: share a crawl of the market under way (crawlers/jobs.py)
INTERDICT_TRIGGER = ""  # what started the crawl, recorded in its job (crawlers/jobs.py)

INTERDICT_OUTPUT = ""  # a path, or "-" for stdout: enriched listings as JSON Lines
INTERDICT_PROGRESS = False

LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"

