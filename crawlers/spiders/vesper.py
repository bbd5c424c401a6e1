from crawlers.spiders.market import MarketSpider


class VesperSpider(MarketSpider):
    """Vesper Bazaar, the card-layout demo market."""

    name = "vesper"
    profile_name = "vesper"
