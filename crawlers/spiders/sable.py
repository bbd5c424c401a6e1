from crawlers.spiders.market import MarketSpider


class SableSpider(MarketSpider):
    """Sable Harbor, the table-layout demo market."""

    name = "sable"
    profile_name = "sable"
