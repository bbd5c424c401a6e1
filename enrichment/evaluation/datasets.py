"""Readers for the public darknet-market datasets, turned into evaluation cases.

Each case holds what the enrichment stage is given (a :class:`RawListing` with text only:
title, description, date — never the market's category or shipping cells), the raw cells
for the structured-field measurements, and the gold labels taken from the markets' own
structured fields. Gold places come from a deliberately strict reading of the cells (see
``strict_places``): a cell that is not plainly a list of countries or regions has no gold
label and is left out, rather than labelled by the code under test.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from contracts.inputs import sql_value_tuples

import pycountry

from contracts.listings import RawListing
from contracts.text import fold

CATEGORY_MAP = Path(__file__).with_name("category_map.json")
LABEL_OVERRIDES = Path(__file__).with_name("label_overrides.jsonl")
HELD_OUT_SHARE = 5  # one vendor in five is held out


@dataclass
class Case:
    dataset: str
    vendor: str
    record: RawListing  # text only
    category: str | None = None  # gold taxonomy id
    ships_from: list[str] | None = None  # gold codes
    ships_to: list[str] | None = None
    cells: dict[str, str] = field(default_factory=dict)  # raw ships_from / ships_to / price / vendor cells
    price: tuple[float, str] | None = None  # gold listed price
    vendor_gold: str | None = None

    @property
    def split(self) -> str:
        return split_of(self.dataset, self.vendor)

    @property
    def reviewed_category(self) -> str | None:
        """The gold category after the reviewed overrides (label_overrides.jsonl)."""
        if self.category is None:
            return None
        return _label_overrides().get((self.dataset, self.record.title, self.category), self.category)


def split_of(dataset: str, vendor: str) -> str:
    """'held-out' for one vendor in five (by hash), 'dev' for the rest: stable across runs."""
    digest = hashlib.sha256(f"{dataset}:{vendor.lower()}".encode()).digest()
    return "held-out" if int.from_bytes(digest[:4], "big") % HELD_OUT_SHARE == 0 else "dev"


# -- gold labels -----------------------------------------------------------------------

_GOLD_REGIONS = {
    "usa": "US", "us": "US", "united states": "US", "united states of america": "US", "uk": "GB",
    "united kingdom": "GB", "eu": "EU", "european union": "EU", "europe": "EUROPE", "worldwide": "WORLDWIDE",
    "world wide": "WORLDWIDE", "world": "WORLDWIDE", "ww": "WORLDWIDE", "global": "WORLDWIDE",
    "north america": "NORTH_AMERICA",
}


@lru_cache(maxsize=1)
def _gold_names() -> dict[str, str]:
    names = dict(_GOLD_REGIONS)
    for country in pycountry.countries:
        for attr in ("name", "common_name"):
            if getattr(country, attr, None):
                names.setdefault(fold(getattr(country, attr)), country.alpha_2)
    return names


def strict_places(cell: str | None) -> list[str] | None:
    """Gold codes of a cell that is plainly a list of places; None when it is anything else."""
    if not cell:
        return None
    text = " ".join(cell.split()).strip(" .!")
    if not text or text.upper() == "NA":
        return None
    parts = [p.strip() for p in re.split(r",|&|\+|/| and ", text) if p.strip()]
    names = _gold_names()
    codes = [names.get(fold(p)) for p in parts]
    return list(dict.fromkeys(codes)) if codes and all(codes) else None  # type: ignore[arg-type]


def split_from_to(from_cell: str, to_cell: str) -> tuple[str, str]:
    """Agora's scrape sometimes put "From: X To: Y" into the from cell."""
    text = " ".join(from_cell.split())
    match = re.match(r"^From:\s*(.*?)(?:\s+To:\s*(.*))?$", text)
    if match:
        return match.group(1), (match.group(2) or to_cell)
    return text, to_cell


@lru_cache(maxsize=1)
def _category_map() -> dict[str, dict[str, str | None]]:
    data = json.loads(CATEGORY_MAP.read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_")}


@lru_cache(maxsize=1)
def _label_overrides() -> dict[tuple[str, str, str], str]:
    """(dataset, title, market's mapped category) -> the category a reviewer gave the listing,
    where the market filed it wrongly (seeds under Weed, a synthesis guide under Drugs)."""
    overrides = {}
    for line in LABEL_OVERRIDES.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        overrides[row["dataset"], row["title"], row["market"]] = row["label"]
    return overrides


def gold_category(market: str, path: list[str]) -> tuple[bool, str | None]:
    """(mapped, taxonomy id) for a market category path; longest mapped prefix wins."""
    table = _category_map()[market]
    parts = [p.strip() for p in path if p and p.strip() and p.strip() != "NA"]
    for size in range(len(parts), 0, -1):
        key = " / ".join(parts[:size])
        if key in table:
            return True, table[key]
    return False, None


# -- readers ---------------------------------------------------------------------------

def _rows(path: Path, encoding: str = "utf-8") -> Iterator[dict[str, str]]:
    with path.open(encoding=encoding, errors="replace", newline="") as fh:
        yield from csv.DictReader(fh)


def _date(value: str) -> datetime | None:
    try:
        return datetime.strptime(value.strip(), "%Y-%m-%d")
    except ValueError:
        return None


def agora(root: Path) -> Iterator[Case]:
    """Agora 2014 product pages (deduplicated across crawl dates) and vendor pages."""
    seen: set[tuple[str, str]] = set()
    for path in sorted((root / "agora-2014").glob("products-*.csv")):
        for row in _rows(path):
            key = (row["vendor"], row["product"])
            if key in seen or not row["product"].strip():
                continue
            seen.add(key)
            from_cell, to_cell = split_from_to(row["from"], row["to"])
            mapped, category = gold_category("agora", [row["cat"], row["subcat"], row["subsubcat"]])
            yield Case("agora", row["vendor"], RawListing(title=row["product"], date=_date(row["date"])),
                       category=category if mapped else None,
                       ships_from=strict_places(from_cell), ships_to=strict_places(to_cell),
                       cells={"ships_from": from_cell, "ships_to": to_cell})
    vendor_pages = root / "agora-2014" / "vendorall_0114.csv"
    if vendor_pages.exists():
        for row in _rows(vendor_pages):
            if not row["product"].strip():
                continue
            from_cell, to_cell = split_from_to(row["from"], row["to"])
            record = RawListing(title=row["product"], description=row["description"].removesuffix("..."),
                                date=_date(row["date"]))
            yield Case("agora-vendor-pages", row["vendor"], record, ships_from=strict_places(from_cell),
                       ships_to=strict_places(to_cell), cells={"ships_from": from_cell, "ships_to": to_cell})


def torrez(root: Path) -> Iterator[Case]:
    path = root / "torrez-2021" / "Product_dataset_new.csv"
    if not path.exists():
        return
    for row in _rows(path):
        mapped, category = gold_category("torrez", [row["category_level_1"], row["category_level_2"],
                                                    row["category_level_3"]])
        try:
            price = (float(row["price in $"].replace(",", "")), "USD")
        except ValueError:
            price = None
        yield Case("torrez", row["vendor"], RawListing(title=row["product"], date=datetime(2021, 6, 1)),
                   category=category if mapped else None, ships_from=strict_places(row["shipping_from"]),
                   ships_to=strict_places(row["shipping_to"]), price=price,
                   cells={"ships_from": row["shipping_from"], "ships_to": row["shipping_to"]})


_PURCHASE_RE = re.compile(r"Purchase price:\s*USD\s*([\d,]+\.\d+)")


def alphabay(root: Path) -> Iterator[Case]:
    """AlphaBay 2017: Mac Roman files with CR line ends, category from the file name."""
    for path in sorted((root / "alphabay-2017").glob("*.csv")):
        name, _, stamp = path.stem.rpartition(" - ")
        mapped, category = gold_category("alphabay", name.split(" - "))
        crawled = datetime.strptime(stamp, "%Y%m%d")
        for row in _rows(path, encoding="mac_roman"):
            title = (row.get("listing_title") or "").strip()
            if not title:
                continue
            purchase = _PURCHASE_RE.search(row.get("detail_price") or "")
            yield Case("alphabay", row.get("listing_vendor") or "", RawListing(title=title, date=crawled),
                       category=category if mapped else None,
                       price=(float(purchase.group(1).replace(",", "")), "USD") if purchase else None,
                       vendor_gold=(row.get("listing_vendor") or "").strip() or None,
                       cells={"price": row.get("listing_price") or "", "vendor": row.get("detail_qty_sold") or ""})


READERS = {"agora": agora, "torrez": torrez, "alphabay": alphabay}  # "dream": vendor profiles, run.py


def load_cases(root: Path, datasets: list[str] | None = None) -> Iterator[Case]:
    for name, reader in READERS.items():
        if datasets and name not in datasets:
            continue
        yield from reader(root)


# -- Dream Market 2016 seller profiles (a MySQL dump) ------------------------------------

DREAM_COLUMNS = ("seq", "seller_name", "member_since", "contracts", "contact", "pgp", "level", "description",
                 "positive_feedbacks", "negative_feedbacks", "market_name")


def dream_sellers(root: Path) -> Iterator[dict[str, str | None]]:
    path = root / "dream-2016-sellers" / "DreamMarket2016_seller.sql"
    if not path.exists():
        return
    for row in sql_value_tuples(path.read_text(encoding="utf-8", errors="replace")):
        if len(row) == len(DREAM_COLUMNS):
            yield dict(zip(DREAM_COLUMNS, row))
