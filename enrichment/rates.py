"""Currency conversion with the dated rates table in config/rates.toml (never live rates)."""

from __future__ import annotations

import bisect
import math
import tomllib
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from config import CONFIG_DIR


@dataclass(frozen=True, eq=False)  # hashed by identity: rates are cached per table
class RatesTable:
    dates: tuple[date, ...]
    usd_per_unit: tuple[dict[str, float], ...]

    def usd_rate(self, currency: str, on: date) -> float | None:
        """USD value of one unit of ``currency`` on ``on`` (latest entry on or before it)."""
        if currency == "USD":
            return 1.0
        index = bisect.bisect_right(self.dates, on) - 1
        # Before the first entry, fall back to the earliest one rather than inventing a rate.
        for row in reversed(self.usd_per_unit[: max(index, 0) + 1]):
            if currency in row:
                return row[currency]
        return None

    def convert(self, amount: float, currency: str, to: str, on: date) -> float | None:
        source, target = self.cached_rate(currency, on), self.cached_rate(to, on)
        if source is None or target is None:
            return None
        converted = round(amount * source / target, 2)
        return converted if math.isfinite(converted) else None  # 1e305 BTC has no dollar value


    def cached_rate(self, currency: str, on: date) -> float | None:
        return _cached_rate(self, currency, on)


@lru_cache(maxsize=65536)
def _cached_rate(table: RatesTable, currency: str, on: date) -> float | None:
    return table.usd_rate(currency, on)


@lru_cache(maxsize=4)
def load_rates(path: str | None = None) -> RatesTable:
    with Path(path or CONFIG_DIR / "rates.toml").open("rb") as fh:
        rows = sorted(tomllib.load(fh)["rates"], key=lambda r: r["date"])
    return RatesTable(
        dates=tuple(r["date"] for r in rows),
        usd_per_unit=tuple({k: float(v) for k, v in r.items() if k != "date"} for r in rows),
    )
