"""Customs intelligence: shipment records matched against indexed listings, and watchlist
terms for risk engines. Built by the shipment-matching issue; depends on `index` only."""
