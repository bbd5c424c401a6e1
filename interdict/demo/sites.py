"""HTML of the two demo marketplaces. Each has its own layout, URL scheme and conventions,
the way two real markets differ; parsers must not be able to share selectors."""

from __future__ import annotations

import math
from dataclasses import replace
import re
from html import escape
from urllib.parse import parse_qs, quote, unquote, urlsplit

from interdict.demo.catalog import BTC_USD, XMR_USD, Catalog, ListingSpec, MarketCatalog, VendorSpec
from interdict.demo.gallery import DemoPhoto, chrome_png, data_uri, photo_bytes, photo_plan

HUGE_PAGE_BYTES = 10 * 1024 * 1024


class Page:
    def __init__(self, status: int, body: bytes, content_type: str = "text/html; charset=utf-8"):
        self.status, self.body, self.content_type = status, body, content_type


NOT_FOUND = Page(404, b"<html><body><h1>404</h1><p>Listing not found or removed.</p></body></html>")


def _html(text: str) -> Page:
    return Page(200, text.encode("utf-8"))


def _fault_listing(market: MarketCatalog, key: str) -> ListingSpec:
    base = market.listings[0]
    return replace(base, key=key, title=f"{base.title} (restock)")


def session_token(market: str, seed: int) -> str:
    """The cookie value an operator would copy from a logged-in browser (walls mode)."""
    return f"{market}-operator-session-{seed}"


LOGIN_WALL = ("<!DOCTYPE html><html><head><title>Login required</title></head><body><h2>Members only</h2>"
              "<p>Please log in to continue.</p><form method='post' action='/login'><input name='username'>"
              "<input type='password' name='password'><button>Log in</button></form></body></html>")
CAPTCHA_WALL = ("<!DOCTYPE html><html><head><title>Security check</title></head><body><h2>Are you human?</h2>"
                "<form method='post' action='/captcha'><img src='/captcha.png' alt='captcha'>"
                "<input name='captcha_answer'><button>Enter</button></form>"
                "<p>Enter the characters you see to continue to the market.</p></body></html>")


class Site:
    """Routing and fault pages shared by both layouts; subclasses draw the pages.

    With ``walls`` (the demo server's --walls), Sable Harbor gets a members-only section
    behind a login form and Vesper Bazaar puts every page behind a CAPTCHA; the session
    cookie ``<market>_session`` with ``session_token`` lets a crawl through."""

    name: str
    per_page: int

    def __init__(self, catalog: Catalog, walls: bool = False):
        self.catalog = catalog
        self.market = catalog.markets[self.name]
        self.category_list = list(self.market.categories)
        self.walls = walls
        # photos by listing key, and the path each is served at
        self.photos = {p.key: p.photos for p in photo_plan(catalog) if p.market == self.name}
        self.image_paths = {self.photo_path(key, n, photo): photo for key, photos in self.photos.items()
                            for n, photo in enumerate(photos, 1) if not photo.inline}

    def logged_in(self, cookies: dict[str, str]) -> bool:
        return cookies.get(f"{self.name}_session") == session_token(self.name, self.catalog.seed)

    def page(self, target: str, cookies: dict[str, str] | None = None) -> Page:
        parts = urlsplit(target)
        path = unquote(parts.path)
        query = parse_qs(parts.query)
        try:
            walled = self.wall(path, cookies or {}) if self.walls else None
            return walled or self.image(path) or self.route(path, query)
        except (ValueError, IndexError, KeyError):
            return NOT_FOUND

    def wall(self, path: str, cookies: dict[str, str]) -> Page | None:
        return None

    # site chrome: images every page shows that are no listing's photos
    chrome: dict[str, tuple[int, int]] = {}

    def image(self, path: str) -> Page | None:
        """A listing photo or a chrome image; None when the path is no image's."""
        if path in self.chrome:
            return Page(200, chrome_png(*self.chrome[path]), "image/png")
        photo = self.image_paths.get(path)
        if photo is None:
            return None
        return Page(200, photo_bytes(photo), "image/png" if photo.bomb else "image/jpeg")

    def photo_path(self, key: str, n: int, photo: DemoPhoto) -> str:
        raise NotImplementedError

    def photo_sources(self, key: str) -> list[str]:
        """What the listing page's gallery points to (inline photos as data: URIs)."""
        return [data_uri(photo) if photo.inline else self.photo_path(key, n, photo)
                for n, photo in enumerate(self.photos.get(key, ()), 1)]

    def route(self, path: str, query: dict[str, list[str]]) -> Page:
        raise NotImplementedError

    def listing_page(self, key: str) -> Page:
        fault = self.market.faults.get(key)
        if fault == "error":
            return Page(500, b"<html><body>Internal Server Error</body></html>")
        if fault:
            spec = _fault_listing(self.market, key)
            if fault == "huge":
                spec = replace(spec, description="Lorem ipsum dolor sit amet. " * (HUGE_PAGE_BYTES // 28 + 1))
            html = self.render_listing(spec, with_price=fault != "noprice")
            if fault == "truncated":
                html = html[: html.index(self.price_marker)]
            return _html(html)
        spec = self.market.by_key[key]
        html = self.render_listing(spec, with_price=True)
        if spec.bad_bytes:
            # Windows-1252 bytes pasted into a UTF-8 page, as vendors' copy-paste often does.
            head, sep, tail = html.partition(escape(spec.description[:20]))
            return Page(200, head.encode() + b"Qualit\xe9 \xff\xfe " + (sep + tail).encode())
        return _html(html)

    def category_page(self, index: int, page: int) -> Page:
        path = self.category_list[index]
        listings = self.market.categories[path]
        pages = max(1, math.ceil(len(listings) / self.per_page))
        if not 1 <= page <= pages:
            return NOT_FOUND
        rows = listings[(page - 1) * self.per_page : page * self.per_page]
        extra = list(self.market.faults) if index == 0 and page == 1 else []
        return _html(self.render_category(index, page, pages, rows, extra))

    def vendor_page(self, name: str) -> Page:
        vendor = self.market.vendors.get(name)
        return _html(self.render_vendor(vendor)) if vendor else NOT_FOUND

    # drawn by the layouts
    price_marker: str

    def render_listing(self, spec: ListingSpec, with_price: bool) -> str:
        raise NotImplementedError

    def render_category(self, index: int, page: int, pages: int, rows: list[ListingSpec], extra: list[str]) -> str:
        raise NotImplementedError

    def render_vendor(self, vendor: VendorSpec) -> str:
        raise NotImplementedError


def _slug(path: tuple[str, ...]) -> str:
    return "-".join(p.lower().replace(" ", "_") for p in path)


class SableHarbor(Site):
    """Table-based layout, USD prices with BTC equivalents, ?page= pagination."""

    name, per_page = "sable", 25
    price_marker = '<tr class="row-price">'

    MEMBERS_LISTINGS = 3
    chrome = {"/static/logo.png": (120, 40)}

    def photo_path(self, key, n, photo):
        return f"/img/{key}-{n}.{'png' if photo.bomb else 'jpg'}"

    def members_listings(self) -> list[ListingSpec]:
        return [replace(l, key=f"m{l.key}", title=f"[members] {l.title}")
                for l in self.market.listings[: self.MEMBERS_LISTINGS]]

    def wall(self, path, cookies):
        if path.startswith("/members/") and not self.logged_in(cookies):
            return _html(LOGIN_WALL)
        return None

    def route(self, path, query):
        if path == "/":
            members = "<p><a href='/members/'>Members' lounge</a></p>" if self.walls else ""
            return _html(self._shell("Home", members + "<h2>Categories</h2><ul class='cats'>" + "".join(
                f"<li><a href='/c/{_slug(p)}'>{escape(' › '.join(p))}</a> ({len(self.market.categories[p])})</li>"
                for p in self.category_list) + "</ul>"))
        if self.walls and path == "/members/":
            items = "".join(f"<li><a href='/members/listing/{l.key}'>{escape(l.title)}</a></li>"
                            for l in self.members_listings())
            return _html(self._shell("Members' lounge", f"<h2>Members only</h2><ul class='members'>{items}</ul>"))
        if self.walls and path.startswith("/members/listing/"):
            spec = {l.key: l for l in self.members_listings()}[path[len("/members/listing/"):]]
            return _html(self.render_listing(spec, with_price=True))
        if path.startswith("/c/"):
            slugs = [_slug(p) for p in self.category_list]
            return self.category_page(slugs.index(path[3:]), int(query.get("page", ["1"])[0]))
        if path.startswith("/listing/"):
            return self.listing_page(path[len("/listing/"):])
        if path.startswith("/vendor/"):
            return self.vendor_page(path[len("/vendor/"):])
        return NOT_FOUND

    def _shell(self, title: str, body: str) -> str:
        nav = "".join(f"<a href='/c/{_slug(p)}'>{escape(p[-1])}</a> " for p in self.category_list[:8])
        return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape(title)} | Sable Harbor</title>"
                f"<link rel='stylesheet' href='/static/sable.css'></head><body><div id='hdr'><a href='/'>"
                f"<img class='logo' src='/static/logo.png' alt=''><b>Sable Harbor</b></a> <span class='motto'>Trusted since 2023</span><div class='nav'>{nav}</div>"
                f"<span class='btc'>BTC/USD {BTC_USD:,.0f}</span></div><div id='content'>{body}</div>"
                f"<div id='ftr'>Sable Harbor - escrow market. Never finalize early with new vendors.</div></body></html>")

    def render_listing(self, spec, with_price):
        crumbs = " › ".join(f"<a href='/c/{_slug(spec.category_path[: i + 1])}'>{escape(p)}</a>"
                            if spec.category_path[: i + 1] in self.market.categories else escape(p)
                            for i, p in enumerate(spec.category_path))
        vendor = self.market.vendors[spec.vendor]
        rows = []
        if with_price:
            rows.append(f"{self.price_marker}<th>Price</th><td class='price'>USD {spec.price:,.2f}"
                        f" <span class='btc-eq'>≈ {spec.price / BTC_USD:.6f} BTC</span></td></tr>")
        rows += [
            f"<tr><th>Vendor</th><td><a class='vendor' href='/vendor/{quote(spec.vendor)}'>{escape(spec.vendor)}</a>"
            f" <span class='rating'>({vendor.rating:.2f}★, {vendor.sales} sales)</span></td></tr>",
            f"<tr><th>Ships from</th><td>{escape(spec.ships_from)}</td></tr>",
            f"<tr><th>Ships to</th><td>{escape(', '.join(spec.ships_to))}</td></tr>",
            f"<tr><th>Payment</th><td>{escape(spec.escrow)}</td></tr>",
        ]
        tiers = "".join(f"<tr><td>{escape(q)}</td><td>USD {p:,.2f}</td></tr>" for q, p in spec.tiers)
        shipping = "".join(f"<option>{escape(n)} (+USD {c:,.2f})</option>" for n, c in spec.shipping)
        paragraphs = "".join(f"<p>{escape(s)}</p>" for s in re.split(r"(?<=[.!?]) ", spec.description) if s)
        body = (f"<div class='crumbs'>{crumbs}</div><div class='listing' data-listing-id='{escape(spec.key)}'>"
                f"<h1 class='listing-title'>{escape(spec.title)}</h1>{self._gallery(spec.key)}"
                f"<table class='listing-info'>{''.join(rows)}</table>"
                f"<h3>Quantity / price</h3><table class='tiers'>{tiers}</table>"
                f"<h3>Shipping</h3><select name='shipping'>{shipping}</select>"
                f"<h3>Description</h3><div class='description'>{paragraphs}</div></div>")
        return self._shell(spec.title, body)

    def _gallery(self, key: str) -> str:
        sources = self.photo_sources(key)
        if not sources:
            return ""
        return "<div class='gallery'>" + "".join(f"<img src='{escape(s)}' alt='photo'>" for s in sources) + "</div>"

    def render_category(self, index, page, pages, rows, extra):
        path = self.category_list[index]
        trs = "".join(f"<tr><td><a href='/listing/{escape(l.key)}'>{escape(l.title)}</a></td>"
                      f"<td>{escape(l.vendor)}</td><td>USD {l.price:,.2f}</td><td>{escape(l.ships_from)}</td></tr>"
                      for l in rows)
        trs += "".join(f"<tr><td><a href='/listing/{k}'>Restock (new)</a></td><td></td><td></td><td></td></tr>" for k in extra)
        pager = f"<span>Page {page} of {pages}</span>"
        if page > 1:
            pager = f"<a href='/c/{_slug(path)}?page={page - 1}'>« Prev</a> " + pager
        if page < pages:
            pager += f" <a class='next' href='/c/{_slug(path)}?page={page + 1}'>Next »</a>"
        return self._shell(" › ".join(path), f"<h2>{escape(' › '.join(path))}</h2><table class='results'>"
                           f"<tr><th>Item</th><th>Vendor</th><th>Price</th><th>From</th></tr>{trs}</table>"
                           f"<div class='pager'>{pager}</div>")

    def render_vendor(self, vendor):
        feedback = "".join(f"<tr><td>{r}/5</td><td>{escape(t)}</td><td>{d}</td></tr>" for r, t, d in vendor.feedback)
        listings = "".join(f"<li><a href='/listing/{l.key}'>{escape(l.title)}</a></li>"
                           for l in self.market.listings if l.vendor == vendor.name)
        return self._shell(vendor.name, f"<div class='vendor-profile'><h1 class='vendor-name'>{escape(vendor.name)}</h1>"
                           f"<p class='stats'>Rating {vendor.rating:.2f} · {vendor.sales} sales · member since {vendor.joined}</p>"
                           f"<div class='about'>{escape(vendor.profile).replace(chr(10), '<br>')}</div>"
                           f"<h3>PGP public key</h3><pre class='pgp'>{escape(vendor.pgp_key)}</pre>"
                           f"<h3>Feedback</h3><table class='feedback'>{feedback}</table>"
                           f"<h3>Listings</h3><ul>{listings}</ul></div>")


def _eur(amount: float) -> str:
    return f"{amount:,.2f}".replace(",", " ").replace(".", ",")


class VesperBazaar(Site):
    """Card layout, EUR prices in European number format, path pagination, <dl> details."""

    name, per_page = "vesper", 30
    price_marker = "<div class=\"offer-price\">"
    chrome = {"/static/verified.png": (16, 16)}

    def photo_path(self, key, n, photo):
        return f"/media/{key}/{n}.jpg"

    def wall(self, path, cookies):
        return None if self.logged_in(cookies) else _html(CAPTCHA_WALL)

    def route(self, path, query):
        parts = [p for p in path.split("/") if p]
        if not parts:
            return _html(self._shell("Start", "<p class='welcome'>Welkom · Willkommen · Welcome</p>"))
        if parts[0] == "browse" and len(parts) == 3:
            return self.category_page(int(parts[1]), int(parts[2]))
        if parts[0] == "item" and len(parts) == 2:
            return self.listing_page(parts[1])
        if parts[0] == "u" and len(parts) == 2:
            return self.vendor_page(parts[1])
        return NOT_FOUND

    def _shell(self, title, body):
        side = "".join(f"<li><a href=\"/browse/{i}/1\">{escape(' / '.join(p))}</a></li>"
                       for i, p in enumerate(self.category_list))
        return (f"<!DOCTYPE html><html lang=\"en\"><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">"
                f"<title>Vesper Bazaar :: {escape(title)}</title></head><body><header class=\"top\"><h1>Vesper Bazaar</h1>"
                f"<p>XMR {XMR_USD:.0f} $</p></header><aside><ul class=\"cats\">{side}</ul></aside>"
                f"<main>{body}</main><footer>Vesper · multisig escrow · PGP 2FA mandatory</footer></body></html>")

    def render_listing(self, spec, with_price):
        vendor = self.market.vendors[spec.vendor]
        price = ""
        if with_price:
            xmr = spec.price / (XMR_USD / 1.16)
            price = (f"{self.price_marker}<span class=\"amount\">{_eur(spec.price)}</span> <span class=\"cur\">EUR</span>"
                     f" <small>({xmr:.4f} XMR)</small></div>")
        bulk = "".join(f"<li data-qty=\"{escape(q)}\">{escape(q)} — {_eur(p)} EUR</li>" for q, p in spec.tiers)
        postage = "".join(f"<li>{escape(n)} — {_eur(c)} EUR</li>" for n, c in spec.shipping)
        body = (f"<section class=\"offer\" id=\"offer-{escape(spec.key)}\"><header><h2 class=\"offer-name\">{escape(spec.title)}</h2>"
                f"<div class=\"seller\">Sold by <a href=\"/u/{quote(spec.vendor)}\">{escape(spec.vendor)}</a>"
                f" <img class=\"badge\" src=\"/static/verified.png\" alt=\"verified\">"
                f" <span class=\"trust\">{vendor.rating * 20:.1f}% positive</span> <span class=\"deals\">{vendor.sales} deals</span></div>"
                f"</header>{self._figure(spec.key)}{price}<dl class=\"offer-meta\"><dt>Origin</dt><dd>{escape(spec.ships_from)}</dd>"
                f"<dt>Destinations</dt><dd>{escape(' / '.join(spec.ships_to))}</dd>"
                f"<dt>Category</dt><dd>{escape(' / '.join(spec.category_path))}</dd>"
                f"<dt>Payment</dt><dd>{escape(spec.escrow)}</dd></dl>"
                f"<h4>Bulk pricing</h4><ul class=\"bulk\">{bulk}</ul><h4>Postage</h4><ul class=\"postage\">{postage}</ul>"
                f"<article class=\"offer-desc\">{escape(spec.description)}</article></section>")
        return self._shell(spec.title, body)

    def _figure(self, key: str) -> str:
        sources = self.photo_sources(key)
        if not sources:
            return ""
        return "<figure class=\"photos\">" + "".join(f"<img src=\"{escape(s)}\">" for s in sources) + "</figure>"

    def render_category(self, index, page, pages, rows, extra):
        cards = "".join(f"<div class=\"card\"><a class=\"card-link\" href=\"/item/{escape(l.key)}\">{escape(l.title)}</a>"
                        f"<span class=\"card-price\">{_eur(l.price)} €</span><span class=\"card-seller\">{escape(l.vendor)}</span></div>"
                        for l in rows)
        cards += "".join(f"<div class=\"card\"><a class=\"card-link\" href=\"/item/{k}\">Neu / New</a></div>" for k in extra)
        rel = ' rel="next"'
        pager = "".join(f"<a href=\"/browse/{index}/{p}\"{rel if p == page + 1 else ''}>{p}</a>"
                        for p in range(1, pages + 1) if p != page)
        return self._shell(" / ".join(self.category_list[index]),
                           f"<div class=\"grid\">{cards}</div><nav class=\"pager\">{pager}</nav>")

    def render_vendor(self, vendor):
        reviews = "".join(f"<li><span class=\"stars\">{r}/5</span> {escape(t)} <time>{d}</time></li>" for r, t, d in vendor.feedback)
        return self._shell(vendor.name, f"<section class=\"vendor\"><h2 class=\"vname\">{escape(vendor.name)}</h2>"
                           f"<p class=\"since\">Joined {vendor.joined} · {vendor.sales} deals · {vendor.rating * 20:.1f}% positive</p>"
                           f"<div class=\"bio\">{escape(vendor.profile).replace(chr(10), '<br>')}</div>"
                           f"<textarea class=\"pgp\" readonly>{escape(vendor.pgp_key)}</textarea>"
                           f"<ol class=\"reviews\">{reviews}</ol></section>")


SITES = {cls.name: cls for cls in (SableHarbor, VesperBazaar)}
