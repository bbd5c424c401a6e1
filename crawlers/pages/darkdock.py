"""DarkDock (2023–24, a real market of digital goods): a listing's facts in "Label : value"
rows (Price, Seller, Seller location, Ships to, Category), the description in the first
tab, shipping choices as "Name | 0.00 USD" options; category pages list item cards and
number their pages /category/<name>/<n>/. Written as the worked example of
docs/adding-a-market.md, from the pages in ../shared/data (listing-pages/darkdock and the
archive's category pages)."""

from __future__ import annotations

from functools import cached_property

from contracts.listings import Money, ShippingOption, VendorRef
from crawlers.pages.base import IndexPage, ListingPage, MarketProfile, field, parse_money, text_of


def _shipping_option(text: str) -> ShippingOption:
    """'Digital Shipping | 0.00 USD' -> the option and what it adds."""
    name, _, cost = text.rpartition("|")
    return ShippingOption(name=name.strip() or text.strip(), price=parse_money(cost) if name else None)


class DarkDockListingPage(ListingPage):
    @cached_property
    def _rows(self) -> dict[str, str]:
        """The "Label : value" rows of the information table, by label."""
        rows = {}
        for row in self.sel.css("div.information table tr"):
            cells = [" ".join(" ".join(c.css("::text").getall()).split()) for c in row.css("td")]
            if len(cells) == 3 and cells[1] == ":":
                rows[cells[0]] = cells[2]
        return rows

    @field
    def title(self) -> str:
        return text_of(self.sel, "div.heading")

    @field
    def description(self) -> str:
        return "\n".join(line.strip() for line in self.sel.css("div.twotabs div.tab1 ::text").getall()).strip()

    @field
    def price(self) -> Money | None:
        return parse_money(self._rows.get("Price"))

    @field
    def vendor(self) -> VendorRef | None:
        link = self.sel.css("div.information tr:has(td:contains('Seller')) a")
        name = " ".join(" ".join(link.css("::text").getall()).split()) if link else self._rows.get("Seller", "")
        if not name:
            return None
        href = link.attrib.get("href") if link else None
        return VendorRef(name=name, url=self.absolute(href) if href else None)

    @field
    def category_path(self) -> list[str]:
        return [self._rows["Category"]] if self._rows.get("Category") else []

    @field
    def ships_from(self) -> str | None:
        return self._rows.get("Seller location") or None

    @field
    def ships_to(self) -> list[str]:
        # The product's own destinations; the seller's general ones when it states none.
        destination = self._rows.get("Ships to (product)") or self._rows.get("Ships to (seller)")
        return [destination] if destination else []

    @field
    def shipping_options(self) -> list[ShippingOption]:
        return [_shipping_option(o) for o in self.sel.css("select[name=shipping] option::text").getall() if o.strip()]

    @field
    def image_urls(self) -> list[str]:
        return list(dict.fromkeys(self.links("div.thumbnails img::attr(src)")))


class DarkDockIndexPage(IndexPage):
    listing_links_css = "div.items div.item > a[href^='/product/']::attr(href)"
    follow_links_css = "div.pages a::attr(href), a[href^='/category/']::attr(href)"


class DarkDockProfile(MarketProfile):
    name = "darkdock"
    listing_page, index_page = DarkDockListingPage, DarkDockIndexPage
    url_kinds = ((r"/category/", "index"), (r"/product/", "listing"))
    marker = '<meta name="description" content="DarkDock,'
