"""schema.org Product / Offer data (JSON-LD, microdata, RDFa, read by extruct) as listings.

Clearnet shops describe their products for search engines; where they do, that is the
most reliable reading of a page (confidence 0.95). Several offers with an eligible
quantity become price tiers, an AggregateOffer a price range, shipping details origin,
destinations and a shipping option with its rate.
"""

from __future__ import annotations

import math

import logging
from typing import Any

import extruct
from pydantic import ValidationError

from contracts.listings import PARSED_FIELDS, ParsedListing

log = logging.getLogger(__name__)
SYNTAXES = ["json-ld", "microdata", "rdfa"]
SCHEMA_PREFIXES = ("https://schema.org/", "http://schema.org/")
STRUCTURED = 0.95
MAX_NESTING = 6


def _short(key: str) -> str:
    for prefix in SCHEMA_PREFIXES:
        if key.startswith(prefix):
            return key[len(prefix):]
    return key


def _types(node: dict) -> set[str]:
    kind = node.get("@type", [])
    return {_short(t) for t in ([kind] if isinstance(kind, str) else kind)}


def _from_rdfa(graph: list[dict]) -> list[dict]:
    """extruct gives RDFa as an expanded, flattened graph: fold it back into nested nodes."""
    nodes = {n.get("@id"): n for n in graph if isinstance(n, dict)}

    def fold(node: dict, depth: int) -> dict:
        out: dict[str, Any] = {"@type": sorted(_types(node))[0] if _types(node) else ""}
        for key, values in node.items():
            if key.startswith("@") or not key.startswith(SCHEMA_PREFIXES):
                continue
            items = []
            for value in values if isinstance(values, list) else [values]:
                if isinstance(value, dict) and "@value" in value:
                    items.append(value["@value"])
                elif isinstance(value, dict) and value.get("@id") in nodes and depth < MAX_NESTING:
                    items.append(fold(nodes[value["@id"]], depth + 1))
            if items:
                out[_short(key)] = items[0] if len(items) == 1 else items
        return out

    return [fold(n, 0) for n in graph if isinstance(n, dict) and "Product" in _types(n)]


def _json_ld_nodes(items: list) -> list[dict]:
    out = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("@graph"), list):
            out += _json_ld_nodes(item["@graph"])
        elif isinstance(item, list):
            out += _json_ld_nodes(item)
        elif isinstance(item, dict):
            out.append(item)
    return out


def products(html: str | bytes, url: str) -> list[dict]:
    """schema.org Product nodes of a page, whatever syntax carries them."""
    try:
        data = extruct.extract(html, base_url=url, syntaxes=SYNTAXES, uniform=True, errors="ignore")
    except Exception as exc:  # noqa: BLE001 - a page extruct cannot read has no structured data for us
        log.debug("no structured data read from %s: %s", url, exc)
        return []
    found = [n for n in _json_ld_nodes(data.get("json-ld", [])) + data.get("microdata", []) if "Product" in _types(n)]
    return found + _from_rdfa(data.get("rdfa", []))


def _list(value) -> list:
    return value if isinstance(value, list) else [value] if value is not None else []


def _text(value) -> str | None:
    if isinstance(value, dict):
        value = value.get("name") or value.get("@value")
    if isinstance(value, list):
        value = " / ".join(str(v) for v in value if v)
    return str(value).strip() if value not in (None, "") else None


def _number(value) -> float | None:
    """A schema.org number; "Infinity", "NaN" and "1e999" are no number at all."""
    try:
        number = float(str(value).replace(",", "")) if value not in (None, "") else None
    except ValueError:
        return None
    return number if number is None or math.isfinite(number) else None


def _country(region) -> str | None:
    if isinstance(region, dict):
        return _text(region.get("addressCountry") or region.get("name"))
    return _text(region)


def product_listing(product: dict, url: str) -> ParsedListing | None:
    offers = [o for o in _list(product.get("offers")) if isinstance(o, dict)]
    fields: dict[str, Any] = {"title": _text(product.get("name")), "url": _text(product.get("url")) or url,
                              "description": _text(product.get("description")) or "",
                              "category": _text(product.get("category"))}
    tiers, destinations, options = [], [], []
    for offer in offers:
        currency = _text(offer.get("priceCurrency")) or _text((offer.get("priceSpecification") or {}).get("priceCurrency"))
        amount = _number(offer.get("price") if offer.get("price") is not None else offer.get("lowPrice"))
        if amount is None and isinstance(offer.get("priceSpecification"), dict):
            amount = _number(offer["priceSpecification"].get("price"))
        if amount is None or not currency:
            continue
        money = {"amount": amount, "currency": currency}
        fields.setdefault("price", money)
        if "AggregateOffer" in _types(offer) and _number(offer.get("highPrice")):
            fields.setdefault("price_max", _number(offer.get("highPrice")))
        quantity = offer.get("eligibleQuantity")
        if isinstance(quantity, dict) and quantity.get("value") is not None:
            tiers.append({"quantity": f"{quantity['value']} {_text(quantity.get('unitText')) or ''}".strip(), "price": money})
        seller = offer.get("seller")
        if seller and "vendor" not in fields:
            fields["vendor"] = _text(seller)
            fields["vendor_url"] = _text(seller.get("url")) if isinstance(seller, dict) else None
        for details in _list(offer.get("shippingDetails")):
            if not isinstance(details, dict):
                continue
            origin = _country(details.get("shippingOrigin"))
            if origin:
                fields.setdefault("ships_from", origin)
            destinations += [c for c in map(_country, _list(details.get("shippingDestination"))) if c]
            rate = details.get("shippingRate")
            if isinstance(rate, dict) and _number(rate.get("value")) is not None and _text(rate.get("currency")):
                options.append({"name": _text(details.get("name")) or "shipping",
                                "price": {"amount": _number(rate["value"]), "currency": _text(rate["currency"])}})
    fields.update(price_tiers=tiers if len(tiers) > 1 else [], ships_to=list(dict.fromkeys(destinations)),
                  shipping_options=options)
    confidence = {name: STRUCTURED if fields.get(name) else 0.0 for name in PARSED_FIELDS}
    try:
        return ParsedListing(**{k: v for k, v in fields.items() if v is not None}, confidence=confidence,
                             extractor="schema.org", page_kind="listing", source=url)
    except ValidationError:
        return None
