"""Page objects per market family, looked up by the profile name a market's config gives.
Every module of this package that defines a MarketProfile adds it: a new market is one
module (docs/adding-a-market.md)."""

from __future__ import annotations

import importlib
import pkgutil

from crawlers.pages.base import MarketProfile, PageError


def _discovered() -> dict[str, MarketProfile]:
    profiles: dict[str, MarketProfile] = {}
    for module in sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name != "base"):
        loaded = importlib.import_module(f"{__name__}.{module}")
        for value in vars(loaded).values():
            if isinstance(value, type) and issubclass(value, MarketProfile) and value.__module__ == loaded.__name__:
                if value.name in profiles:
                    raise ValueError(f"two page-object profiles are named {value.name!r}")
                profiles[value.name] = value()
    return profiles


PROFILES: dict[str, MarketProfile] = _discovered()

__all__ = ["PROFILES", "MarketProfile", "PageError", "profile_for_html"]


def profile_for_html(html: str) -> MarketProfile | None:
    return next((p for p in PROFILES.values() if p.recognises(html)), None)
