"""What a declaration itself gives away, whatever it matches (risk flags), and a shipment's
risk: the logistic of the risk prior, the flags and the best match (weights in
matching/data/scoring.json)."""

from __future__ import annotations

import math

from contracts.matches import Reason
from enrichment.rates import load_rates
from matching.view import ShipmentView


def logistic(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def risk_flags(w: dict, view: ShipmentView) -> list[Reason]:
    """What the declaration itself says, whatever it matches."""
    shipment = view.shipment
    flags = []
    vague = [d.text for d in view.declared if d.vague]
    if vague and len(vague) == len(view.declared):
        flags.append(Reason(code="vague_description", contribution=w["risk_vague_description"],
                            detail=f"'{vague[0]}' is on the vague-description list"))
    if shipment.category == "gift":
        eur = load_rates().convert(view.value_usd, "USD", "EUR", shipment.posting_date) if view.value_usd else None
        many = max(a.quantity for a in shipment.articles)
        if many > w["gift_max_quantity"] or (eur is not None and eur > w["gift_max_value_eur"]):
            what = f"{many} identical articles" if many > w["gift_max_quantity"] else f"EUR {eur:,.2f}"
            flags.append(Reason(code="gift_commercial", contribution=w["risk_gift_commercial"],
                                detail=f"declared as a gift with a commercial quantity or value ({what})"))
    controlled = tuple(w["controlled_categories"])
    for declared in view.declared:
        for product in declared.products:
            if product.category.split(".")[0] in controlled:
                flags.append(Reason(code="controlled_product", contribution=w["risk_controlled_product"],
                                    detail=f"'{product.text}' is {product.canonical} ({product.category})"))
    for article, declared in zip(shipment.articles, view.declared):
        named = [p for p in declared.products if p.hs_code]
        if article.hs_code and named and all(article.hs_code[:2] != (p.hs_code or "")[:2] for p in named):
            flags.append(Reason(code="hs_inconsistent", contribution=w["risk_hs_inconsistent"],
                                detail=f"HS {article.hs_code} declared for '{article.description}', "
                                       f"which is {named[0].canonical} (HS {named[0].hs_code})"))
    return flags


def match_flags(w: dict, match_reasons: list[Reason]) -> list[Reason]:
    """Risk flags a confirmed match adds: the declared value against the listing's price."""
    return [Reason("undervalued", w["risk_undervalued"], r.detail)
            for r in match_reasons if r.code == "undervalued"]


def risk(w: dict, flags: list[Reason], best_score: float) -> float:
    return logistic(w["risk_prior"] + sum(f.contribution for f in flags) + w["risk_match_weight"] * best_score)
