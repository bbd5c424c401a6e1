"""The Scrapy project's settings as Interdict runs them (`interdict crawl`, `scrapy crawl`,
Scrapyd): the crawler's own (crawlers.settings) and what the composition root adds on top,
which the crawlers package must not know of: trackers tried on every batch a crawl writes."""

from crawlers.settings import *  # noqa: F401,F403 - the crawler's settings, as they are
from crawlers.settings import EXTENSIONS as _CRAWLER_EXTENSIONS

EXTENSIONS = {**_CRAWLER_EXTENSIONS, "interdict.trackers.extension.TrackerAlerts": 600}
