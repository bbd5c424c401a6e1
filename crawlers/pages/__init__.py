"""Page objects per market family, looked up by the profile name a market's config gives."""

from __future__ import annotations

from crawlers.pages.base import MarketProfile, PageError
from crawlers.pages.sable import SableProfile
from crawlers.pages.vesper import VesperProfile

PROFILES: dict[str, MarketProfile] = {p.name: p for p in (SableProfile(), VesperProfile())}

__all__ = ["PROFILES", "MarketProfile", "PageError", "profile_for_html"]


def profile_for_html(html: str) -> MarketProfile | None:
    return next((p for p in PROFILES.values() if p.recognises(html)), None)
