"""Listings and vendor profiles: what any acquisition front end (the Scrapy crawlers,
``interdict parse``, an import) hands over, and what the NLP stage adds to them
(``EnrichedListing``, ``EnrichedVendor``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from contracts.base import CleanStr, Contract, InputContract, TitleStr, UtcDatetime
from contracts.images import ListingImage
from contracts.inputs import nulls_absent

class Money(InputContract):
    amount: float = Field(ge=0)
    currency: Annotated[str, AfterValidator(str.upper)] = Field(min_length=3, max_length=4)


class PriceTier(InputContract):
    quantity: CleanStr  # as listed: "10 g", "100 pills"
    price: Money


class ShippingOption(InputContract):
    name: CleanStr  # "DHL Paket (tracked)", "USPS Priority Mail"
    price: Money | None = None  # what it adds to the order, when shown


class Variant(InputContract):
    """One choice a listing offers besides quantity (strain, flavour, size, colour)."""

    name: CleanStr
    price: Money | None = None  # when the variant has its own price


def _named(values: Any) -> Any:
    """Older documents and plain inputs hold options as text: "DHL (+USD 12.00)" -> {name}."""
    if isinstance(values, list):
        return [{"name": v} if isinstance(v, str) else v for v in values]
    return values


class VendorRef(InputContract):
    name: CleanStr = Field(min_length=1)
    url: str | None = None
    rating: float | None = None
    sales: int | None = Field(default=None, ge=0)


class Evidence(InputContract):
    """Where the raw response that produced a record is kept (WARC record and digest)."""

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")  # of the page body as parsed (the WARC payload)
    warc_record_id: str | None = None
    warc_file: str | None = None  # name inside the evidence folder (config evidence.dir)
    warc_offset: int | None = Field(default=None, ge=0)  # where the response record starts
    served_by: str | None = None  # the mirror (scheme://host:port) that served the page


class Capture(InputContract):
    """Where an imported listing came from (a crawled one has its ``Evidence`` only)."""

    source: str  # the path given to `interdict import`
    member: str = ""  # the file inside the archive or folder, or the WARC record's URL
    archive_sha256: str | None = None
    captured_from: Literal["warc-date", "column", "option", "filename", "mtime", "import"]  # where crawled_at came from
    approximate: bool = False  # a file's modification time: when it was copied, perhaps, not captured
    legacy_onion: bool = False  # a v2 onion address (retired 2021): kept in imports, never crawled


class Listing(InputContract):
    market: str = Field(min_length=1)
    url: str = Field(min_length=1)
    listing_key: str = Field(min_length=1)
    title: TitleStr
    description: CleanStr = ""
    price: Money | None = None  # a listing or capture that shows none: indexed, never priced
    price_tiers: list[PriceTier] = []
    vendor: VendorRef
    category_path: list[CleanStr] = []
    ships_from: CleanStr | None = None
    ships_to: list[CleanStr] = []
    shipping_options: Annotated[list[ShippingOption], BeforeValidator(_named)] = []
    variants: Annotated[list[Variant], BeforeValidator(_named)] = []
    payment_terms: CleanStr | None = None
    image_urls: list[str] = []
    images: list[ListingImage] = []  # what the crawl made of them (markets with images = true)
    crawled_at: UtcDatetime
    evidence: Evidence | None = None
    transport: Literal["tor", "clearnet"] = "clearnet"
    capture: Capture | None = None  # set by imports


class RawListing(BaseModel):
    """A listing as an analyst or another tool has it: text the way a market shows it.

    Only ``title`` is required; ``price`` may be "USD 500.00 (0.3065 BTC)", "0.05 BTC",
    "$1,200" or a number with ``currency``; ``ships_to`` a cell such as "Worldwide except
    Australia" or a list; ``category`` "Drugs / Cannabis / Weed" or a list. Any other fields
    are kept and written back unchanged (docs/enrichment.md).
    """

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    title: TitleStr
    description: CleanStr = ""
    vendor: CleanStr | None = None
    price: str | float | None = None
    currency: str | None = None
    ships_from: CleanStr | None = None
    ships_to: CleanStr | list[CleanStr] | None = None
    category: CleanStr | list[CleanStr] | None = None
    market: str | None = None
    date: datetime | None = None  # when the listing was seen: the date prices convert at

    @model_validator(mode="before")
    @classmethod
    def _nulls_absent(cls, data: Any) -> Any:
        return nulls_absent(data, cls.model_fields)  # other fields are written back as they came

    @field_validator("price", mode="before")
    @classmethod
    def _price_as_text(cls, value: Any) -> Any:
        if isinstance(value, dict):  # {"amount": 10, "currency": "EUR"}
            return f"{value.get('amount')} {value.get('currency') or ''}".strip()
        return value


PARSED_FIELDS = ("title", "url", "price", "price_tiers", "vendor", "vendor_url", "ships_from", "ships_to",
                 "category", "description", "stock", "shipping_options", "variants")


class ParsedListing(InputContract):
    """A listing as `interdict parse` reads it off a saved page: a market's page object or
    the generic extractor. ``confidence`` holds 0..1 per field of PARSED_FIELDS (0 = not
    found). The field names are a raw record's, so the output feeds `interdict enrich`."""

    title: TitleStr
    url: str | None = None
    price: Money | None = None
    price_max: float | None = Field(default=None, ge=0)  # top of a price range ("50 - 39000 EUR")
    price_tiers: list[PriceTier] = []
    vendor: CleanStr | None = None
    vendor_url: str | None = None
    ships_from: CleanStr | None = None
    ships_to: list[CleanStr] = []
    category: CleanStr | None = None
    description: CleanStr = ""
    stock: int | None = Field(default=None, ge=0)
    shipping_options: Annotated[list[ShippingOption], BeforeValidator(_named)] = []
    variants: Annotated[list[Variant], BeforeValidator(_named)] = []
    image_urls: list[str] = []  # the listing's own photos (a listing page's, not the site's chrome)
    confidence: dict[str, float]
    extractor: str  # "generic" or "page-object:<profile>"
    page_kind: Literal["index", "listing"]
    block: int | None = None  # position of the listing block on an index page
    source: str = ""  # the file or URL parsed
    language: str | None = None


class Feedback(InputContract):
    rating: float | None = None
    text: CleanStr = ""
    date: str | None = None


class VendorProfile(InputContract):
    market: str = Field(min_length=1)
    name: CleanStr = Field(min_length=1)
    url: str
    profile: CleanStr = ""
    pgp_key: str | None = None
    rating: float | None = None
    sales: int | None = None
    joined: str | None = None
    feedback: list[Feedback] = []
    crawled_at: UtcDatetime
    evidence: Evidence | None = None
    transport: Literal["tor", "clearnet"] = "clearnet"


class Entity(Contract):
    """One thing the NLP stage found, with where it found it and which component did."""

    label: str  # PRODUCT, QUANTITY, PRICE, COUNTRY, PGP_FINGERPRINT, BTC_ADDRESS, EMAIL...
    text: str
    field: str  # title, description, profile, pgp_key, ships_from, ships_to
    start: int
    end: int
    component: str
    value: str | None = None  # normalised value (canonical name, ISO code, fingerprint)
    attrs: dict[str, Any] = {}


class Product(Contract):
    text: str = ""  # the words in the listing that named it ("molly", "OC 80")
    canonical: str
    category: str  # taxonomy id, e.g. "drugs.stimulants"
    hs_code: str | None = None  # HS heading or HS6 for physical goods; None for services/data
    # "topic": named by a listing that offers something else (a guide to it, its seeds, a pipe for it)
    role: Literal["item", "topic"] = "item"


class Quantity(Contract):
    amount: float  # normalised: grams, millilitres or units
    unit: str  # g, ml, unit
    text: str
    dose: float | None = None  # "5x 80mg": 5 units of 80 mg each
    dose_unit: str | None = None


class PriceMention(Contract):
    amount: float
    currency: str
    usd: float | None = None
    eur: float | None = None
    text: str = ""
    source: Literal["field", "tier", "text"] = "text"
    quantity: Quantity | None = None  # the quantity this price buys, when the text pairs them


class Tier(Contract):
    """One price tier of a listing, read: what it buys, what that costs per unit, and the
    bulk discount against the smallest tier (0.2 = a fifth cheaper per gram/unit)."""

    quantity: Quantity | None = None
    price: PriceMention
    unit_price_usd: float | None = None  # per g, ml or unit
    discount: float | None = None


class Identifier(Contract):
    kind: str  # pgp, btc, xmr, eth, email, phone, telegram, wickr, session, jabber, onion
    value: str  # normalised: fingerprint, address, E.164 number, lower-cased handle
    valid: bool  # checksum / structure verified (False: looked like one, failed the check)
    text: str = ""


class Enrichment(Contract):
    """What the NLP stage found in one listing or vendor profile (schema: docs/enrichment.md)."""

    entities: list[Entity] = []
    products: list[Product] = []
    category: str | None = None  # the listing's main category (its first product in the title)
    categories: list[str] = []  # taxonomy ids of every product, with their ancestors
    quantities: list[Quantity] = []
    purity: float | None = None  # percent
    prices: list[PriceMention] = []
    tiers: list[Tier] = []  # the listing's price tiers with unit prices and bulk discounts
    identifiers: list[Identifier] = []
    ships_from: list[str] = []  # ISO 3166-1 alpha-2 codes and region ids (EU, EUROPE, WORLDWIDE...)
    ships_to: list[str] = []
    ships_to_excluded: list[str] = []  # "worldwide except Australia" -> ["AU"]
    provenance: list[str] = []  # where the product is said to come from: "hash direct from Nepal" -> ["NP"]
    carriers: list[str] = []  # carriers and services: DHL, EMS, tracked, registered...
    stealth: list[str] = []  # concealment: vacuum sealed, MBB, decoy...
    declared_as: list[str] = []  # declaration phrases: gift, no customs, samples...
    reship: bool = False
    drop_hints: list[str] = []
    delivery_days: tuple[float, float] | None = None
    language: str | None = None  # ISO 639-1, None when too short to tell
    vendor: str | None = None  # the vendor's name, cleaned of ratings and "Sold by" labels
    truncated: list[str] = []  # text fields longer than enrichment.max_field_chars, analysed in part
    price_usd: float | None = None  # the listing's own price, normalised at its crawl date
    price_eur: float | None = None
    search_text: str = ""  # unused since pipeline 0.2 (the stores fold text themselves); kept to read old documents
    enriched_at: UtcDatetime = Field(default_factory=lambda: datetime.now(UTC))
    pipeline_version: str = ""

    @model_validator(mode="before")
    @classmethod
    def _upgrade_stored(cls, data: Any) -> Any:
        """Documents indexed by pipeline 0.1 stored codes and identifiers in older shapes."""
        if isinstance(data, dict) and ("ships_from_codes" in data or isinstance(data.get("identifiers"), dict)):
            data = dict(data)
            data.setdefault("ships_from", data.pop("ships_from_codes", []))
            data.setdefault("ships_to", data.pop("ships_to_codes", []))
            data.pop("ships_from_codes", None)
            data.pop("ships_to_codes", None)
            if isinstance(data.get("identifiers"), dict):
                data["identifiers"] = [{"kind": kind, "value": v, "valid": True}
                                       for kind, values in data["identifiers"].items() for v in values]
        return data

    def identifier_values(self, kind: str | None = None) -> list[str]:
        return [i.value for i in self.identifiers if i.valid and (kind is None or i.kind == kind)]


class EnrichedListing(Contract):
    listing: Listing
    enrichment: Enrichment


class EnrichedVendor(Contract):
    vendor: VendorProfile
    enrichment: Enrichment
