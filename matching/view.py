"""A shipment read once for scoring against many candidates: its declarations read, the
goods that matter, their weight and count, their value in USD at the posting date."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from contracts.shipments import Shipment
from enrichment.rates import load_rates
from matching.declaration import Declared, DeclarationReader
from matching.similarity import Terms


@dataclass(slots=True)
class ShipmentView:
    """A shipment read once for scoring against many candidates."""

    shipment: Shipment
    declared: list[Declared]
    products: dict[str, str]  # canonical -> the words that named it
    product_classes: dict[str, str]  # canonical -> its category
    categories: set[str]  # taxonomy ids named, with those of the named products
    hs_codes: list[str]  # declared, digits
    grams: list[tuple[float, float, float]] = field(default_factory=list)  # (low, high, guess): the contents in g
    count: int | None = None  # units declared for the named goods
    value_usd: float | None = None
    value_note: str = ""  # why the value could not be converted
    identifiers: set[str] = field(default_factory=set)  # the sender's, folded
    # derived once for the scorer's inner loop
    origin: str = ""
    destination: str = ""
    posted: date = date.min  # the posting date (read_shipment always sets it)
    hs4: frozenset[str] = frozenset()
    hs2: frozenset[str] = frozenset()
    terms: list[Terms] | None = None  # the articles' terms, prepared by the scorer (it knows the words' weights)
    memo: dict[int, tuple] = field(default_factory=dict)  # the scorer's evidence on aspects candidates share

    @property
    def item_id(self) -> str:
        return self.shipment.item_id


def _declared_weight(articles) -> tuple[float, float, float]:
    """(low, high, best guess) in grams for the contents, from the declared net weights:
    declarations round (0.1 kg may be 50 to 150 g), and a round minimum (0.1, 0.01 kg) is
    what senders write for anything lighter."""
    low = high = 0.0
    for article in articles:
        kg = article.net_weight_kg
        text = f"{kg:.3f}".rstrip("0")
        decimals = len(text.split(".")[1]) if "." in text else 0
        slack = {0: 500.0, 1: 50.0, 2: 5.0}.get(decimals, 0.5)
        grams = kg * 1000
        low += 0.0 if kg in (1.0, 0.1, 0.01, 0.001) else grams - slack
        high += grams + slack
    return max(low, 0.0), high, sum(a.net_weight_kg for a in articles) * 1000


def read_shipment(shipment: Shipment, reader: DeclarationReader) -> ShipmentView:
    declared = [reader.read(a.description) for a in shipment.articles]
    products = {p.canonical: p.text for d in declared for p in d.products}
    product_classes = {p.canonical: p.category for d in declared for p in d.products}
    # A cover description ("documents", "supplements") names no kind of goods worth comparing.
    categories = {c for d in declared if not d.vague for c in d.categories}
    categories |= {p.category for d in declared for p in d.products}
    # The goods that matter are in the articles naming something; else all of them.
    named = [i for i, d in enumerate(declared) if d.products or d.categories] or range(len(declared))
    articles = [shipment.articles[i] for i in named]
    grams = [_declared_weight(articles)]
    for i in named:
        q = declared[i].quantity
        if q and q[1] in ("g", "ml"):
            stated = q[0] * shipment.articles[i].quantity
            grams.append((stated * 0.98, stated * 1.02, stated))
    counts = [q[0] * shipment.articles[i].quantity for i in named
              if (q := declared[i].quantity) and q[1] == "unit"]
    count = int(counts[0]) if counts else sum(a.quantity for a in articles)
    rates = load_rates()
    total, note = 0.0, ""
    for article in articles:
        rate = rates.cached_rate(article.currency, shipment.posting_date)
        if rate is None:
            note = f"no exchange rate for {article.currency}"
            break
        total += article.value * rate
    value_usd = None if note else total
    identifiers = {v for v in (shipment.sender.email, shipment.sender.phone) if v}
    hs_codes = [a.hs_code for a in shipment.articles if a.hs_code]
    return ShipmentView(shipment=shipment, declared=declared, products=products, product_classes=product_classes,
                        categories=categories, hs_codes=hs_codes, grams=grams, count=count, value_usd=value_usd, value_note=note,
                        identifiers={i.lower() for i in identifiers}, origin=shipment.origin_country,
                        destination=shipment.destination_country, posted=shipment.posting_date,
                        hs4=frozenset(h[:4] for h in hs_codes), hs2=frozenset(h[:2] for h in hs_codes))
