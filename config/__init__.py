"""Interdict configuration: files plus environment overrides, validated once at start-up.

Every package reads its settings through :func:`load_config`. Defaults live in
``config/interdict.toml`` and ``config/markets.toml`` beside this module; an operator file
named by ``$INTERDICT_CONFIG`` is merged over them, then ``INTERDICT_<SECTION>__<KEY>``
environment variables win.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from config.alerts import AlertSettings
from config.onion import onion_problem

CONFIG_DIR = Path(__file__).resolve().parent
DEFAULT_FILES = (CONFIG_DIR / "interdict.toml", CONFIG_DIR / "markets.toml")
ENV_PREFIX = "INTERDICT_"


class ConfigError(Exception):
    """A configuration problem, phrased for the operator who has to fix it."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StoreSettings(_Strict):
    backend: Literal["embedded", "elasticsearch"] = "embedded"
    path: str = "var/interdict.db"
    spool_dir: str = "var/spool"


class ElasticsearchSettings(_Strict):
    urls: tuple[str, ...] = ("http://127.0.0.1:9200",)
    api_key: str = Field("", repr=False)
    username: str = ""
    password: str = Field("", repr=False)
    ca_certs: str = ""
    verify_certs: bool = True
    request_timeout: float = Field(30, gt=0)
    index_prefix: str = Field("interdict", pattern=r"^[a-z0-9][a-z0-9_-]*$")
    # Of the indices Interdict creates (a new index, or the next version `store migrate` makes);
    # an existing index keeps its own. Sizing: docs/operations.md.
    shards: int = Field(1, ge=1, le=1024)
    replicas: int = Field(0, ge=0, le=16)


class CrawlSettings(_Strict):
    max_page_bytes: int = Field(5_000_000, gt=0)
    download_timeout: float = Field(30, gt=0)
    batch_size: int = Field(200, gt=0)
    # A batch not full after this many seconds is sent anyway.
    batch_max_wait: float = Field(2.0, gt=0)
    spool_wait: float = Field(300, ge=0)
    user_agent: str = "Mozilla/5.0"
    # Operator-supplied sessions (cookies, headers) per market, kept outside the repository
    # and never logged: see crawlers/sessions.py.
    sessions_file: str = "~/.config/interdict/sessions.toml"
    # Market pauses (walls met) and the operator hand-off entries live here.
    state_dir: str = "var/state"
    # Listings and vendors that this many consecutive finished full crawls of their market did
    # not see become inactive (kept, never deleted; active again when seen).
    inactive_after: int = Field(3, ge=1)
    # An incremental crawl skips listing pages the index saw on the market within this many days.
    incremental_refresh_days: float = Field(7, gt=0)
    # A running crawl's counters are saved to its job record this often (seconds).
    progress_interval: float = Field(30, gt=0)
    # A Redis server (redis://[:password@]host:port/db) holding each market's crawl frontier
    # (crawlers/frontier/): crawls survive being killed and resume where they were, and any
    # number of workers (`interdict crawl --join`) share one market's crawl. Empty: each crawl
    # keeps its frontier in memory and a killed crawl starts again from the home page.
    frontier: str = Field("", repr=False, pattern=r"^(|rediss?://\S+|unix://\S+)$")
    # A worker on another host whose heartbeat is older than this is taken for dead and its
    # pages queued again (a dead worker on this host is noticed at once).
    frontier_lease_timeout: float = Field(30, ge=2)
    # Processes that read fetched pages (crawlers/reading.py), shared by the crawls of one
    # process: -1, one per core; 0, read in the crawl's own process (one core for everything).
    page_workers: int = Field(-1, ge=-1, le=64)


class EvidenceSettings(_Strict):
    enabled: bool = True
    dir: str = "var/evidence"
    max_file_bytes: int = Field(1_000_000_000, ge=10_000)


class EnrichmentSettings(_Strict):
    config: str = ""
    batch_size: int = Field(256, gt=0)
    # Text beyond this many characters per field is not analysed (bounded time per listing);
    # the enrichment lists the fields it cut in `truncated`.
    max_field_chars: int = Field(100_000, ge=1000)


class MatchingSettings(_Strict):
    # A candidate scoring at least this is a match (docs/matching.md: scores are probabilities
    # from summed log-odds, so 0.5 means "more likely than not").
    threshold: float = Field(0.5, ge=0, le=1)
    # Candidates shown to analysts below the threshold ("maybe"): offers compete, so when
    # forty fit a parcel equally each is near 0.02, and the five best are still worth a look.
    report_threshold: float = Field(0.01, ge=0, le=1)
    top: int = Field(5, ge=1, le=100)  # matches kept per shipment
    candidates_per_key: int = Field(100, ge=1, le=10_000)  # listings fetched per blocking key (nearest the parcel's date)
    max_candidates: int = Field(100, ge=1, le=10_000)  # scored per shipment, the most strongly blocked first (they compete)
    batch_size: int = Field(500, ge=1)  # shipments whose blocking keys go to the store together
    # How long a listing seen in a single snapshot lives when its market has no listing seen
    # in several (else: the median lifetime of those, Store.lifetimes).
    default_lifetime_days: float = Field(30.0, gt=0, le=3650, allow_inf_nan=False)


class CuratedTerm(_Strict):
    term: str = Field(min_length=1)
    kind: Literal["product", "slang", "vendor", "identifier", "route", "concealment", "declaration"]
    subkind: str | None = None  # identifiers: email, phone, pgp, btc, xmr, eth, telegram, wickr...
    note: str = ""
    weight: float = Field(1.0, ge=0, le=1, allow_inf_nan=False)  # an analyst's term counts in full unless told


class WatchlistSettings(_Strict):
    # Analyst-curated terms: `include` adds terms the index does not show (yet); `exclude`
    # drops derived terms that only make noise (matched case- and accent-blind, any kind).
    include: list[CuratedTerm] = []
    exclude: list[str] = []
    min_listings: int = Field(1, ge=1)  # derived product, slang, route and phrase terms need this many listings
    examples: int = Field(5, ge=0, le=100)  # listing ids kept per term
    # The default feed (matching.term_weights) leaves out terms weighing less than min_weight,
    # generic English words (wordfreq Zipf at least generic_zipf) and terms whose lift —
    # log10 of how much more often the indexed titles hold them than English text — is below min_lift.
    min_weight: float = Field(0.25, ge=0, le=1, allow_inf_nan=False)
    generic_zipf: float = Field(4.0, ge=0, le=8, allow_inf_nan=False)
    min_lift: float = Field(1.0, ge=-3, le=6, allow_inf_nan=False)
    # A vendor name wordfreq knows this well in a market language goes out only with qualifiers.
    vendor_qualify_zipf: float = Field(2.0, ge=0, le=8, allow_inf_nan=False)
    # Feeds (docs/feeds.md): the TLP marking of STIX objects and MISP events; how many days an
    # indicator stays valid after its term was last seen; the analyst web app's address, for
    # links from each indicator to the listings it was seen in ("" : listing ids only).
    tlp: Literal["clear", "white", "green", "amber", "red"] = "amber"
    valid_days: int = Field(180, ge=1, le=3650)
    evidence_url: str = ""
    # The TAXII server publishes what changed in the index at most this often (seconds), and a
    # pull waits at most this long for it (what comes later, the next pull gets).
    taxii_refresh_seconds: float = Field(60.0, ge=0, le=86400, allow_inf_nan=False)
    taxii_refresh_wait_seconds: float = Field(10.0, ge=0, le=3600, allow_inf_nan=False)


class InputSettings(_Strict):
    """Limits on what enters through files, pipes and uploads (contracts/inputs.py)."""
    # A JSON Lines line longer than this is named and skipped, never read whole.
    max_line_chars: int = Field(16_000_000, ge=1000)
    # A quoted CSV cell may span lines; one still open after this many lines is reported at
    # its opening line and reading resumes after it.
    max_field_lines: int = Field(50, ge=1)
    # Problems named one by one per file or upload; past this they are only counted.
    max_problems: int = Field(1000, ge=1)


class ApiSettings(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(8760, ge=1, le=65535)
    # API keys (hashed), the audit log and match reviews: the service's own state.
    path: str = "var/api.db"
    max_upload_bytes: int = Field(20_000_000, ge=1000)
    # The audit log's key (HMAC of its hash chain; mode 0600, made on first use) and the file its
    # head is anchored in. Both belong outside var/, where the log lives: docs/api.md says why.
    audit_key_file: str = "~/.config/interdict/audit.key"
    audit_head_file: str = "~/.config/interdict/audit-head.json"
    # Web app sessions: idle minutes before one expires, and its longest life in hours.
    session_idle_minutes: int = Field(60, ge=1)
    session_max_hours: int = Field(12, ge=1)
    # Shipment rows (CSV rows, JSON Lines lines or list entries) one upload may hold.
    max_upload_rows: int = Field(100_000, ge=1)


class ScrapydSettings(_Strict):
    """A Scrapyd server that schedules may run their crawls on ([schedules.NAME] target =
    "scrapyd"); Interdict is deployed there with deploy/scrapyd (docs/operations.md)."""
    url: str = Field("", pattern=r"^(|https?://\S+)$")
    project: str = "interdict"
    username: str = ""
    password: str = Field("", repr=False)
    timeout: float = Field(30, gt=0)  # per HTTP request to Scrapyd
    poll_interval: float = Field(5, gt=0)  # how often a run asks whether its Scrapyd jobs are done


class ImageSettings(_Strict):
    """Listing images (markets with ``images = true``): limits, where they are kept, the
    agency's blocklist and the near-duplicate rule (docs/images.md)."""

    dir: str = "var/images"  # one file per SHA-256; blocklisted images never get here
    max_per_listing: int = Field(8, ge=1, le=100)
    max_bytes: int = Field(8_000_000, ge=1000)
    max_pixels: int = Field(40_000_000, ge=10_000, le=500_000_000)
    # Agency-supplied lists, one entry per line ("#" comments): SHA-256 digests, and 16-hex
    # pHashes with the distance within which an image counts as listed.
    blocklist_sha256: str = ""
    blocklist_phash: str = ""
    blocklist_radius: int = Field(8, ge=0, le=20)
    link_max_sum: int = Field(31, ge=0, le=64)  # pHash + dHash distance of one photo (enrichment.images)
    export_gps: bool = False  # GPS positions in watchlist exports: opt-in, and for the analyst role only
    flagged_file: str = "var/images/flagged.jsonl"  # blocklist matches, for the operator


class DemoSettings(_Strict):
    seed: int = 20261128
    epoch: int = Field(0, ge=0)
    host: str = "127.0.0.1"


class TorSettings(_Strict):
    socks_url: str = "socks5h://127.0.0.1:9050"
    control_port: int = Field(9051, gt=0, lt=65536)
    control_host: str = "127.0.0.1"
    control_password: str = Field("", repr=False)  # cookie authentication is tried first
    outage_probe_interval: float = Field(10, gt=0)
    outage_give_up: float = Field(600, gt=0)
    newnym_min_interval: float = Field(10, ge=10)  # tor delays NEWNYM more often than this

    @field_validator("socks_url")
    @classmethod
    def _socks5h(cls, url: str) -> str:
        if not url.startswith("socks5h://"):
            raise ValueError("must be a socks5h:// URL (the hostname is resolved by Tor, never locally)")
        return url


class Market(_Strict):
    name: str
    title: str = ""
    profile: str
    base_urls: tuple[str, ...] = Field(min_length=1)
    transport: Literal["tor", "clearnet"]
    concurrency: int = Field(8, gt=0, le=64)
    delay: float = Field(0.0, ge=0)
    demo: bool = False
    # Follow links to loopback/private addresses? Only the market's own base URLs, and only
    # where a market really lives there (the demo markets, test fixtures).
    allow_private_targets: bool = False
    # Tor stream-isolation group; markets sharing a value share circuits (default: own).
    isolation: str = ""
    # Fetch the images listings show (off by default: market images can be illegal content).
    images: bool = False
    ban_statuses: tuple[int, ...] = (429, 503)
    ban_patterns: tuple[str, ...] = ("too many requests", "rate limit exceeded", "you have been banned")
    # Extra markers of CAPTCHA / DDoS-queue / login / error pages, added to the defaults in
    # crawlers/extract/walls.json: {captcha = {title = [...], text = [...]}, ...}
    # robots.txt: obeyed for clearnet markets and ignored for Tor markets unless set here.
    obey_robots_txt: bool | None = None
    # Generic crawls (profile = "generic") follow every link on the market's hosts except
    # those whose path holds one of these words: actions, not pages.
    deny_words: tuple[str, ...] = ("logout", "signout", "sign-out", "cart", "basket", "checkout", "order", "buy",
                                   "add", "delete", "remove", "message", "messages", "report", "settings",
                                   "account", "wallet", "withdraw", "deposit", "register", "login", "ticket",
                                   "dispute", "favorite", "favourite", "follow", "vote")
    wall_markers: dict[Literal["captcha", "ddos_queue", "login_wall", "error_page"],
                       dict[Literal["title", "text"], list[str]]] = {}

    @field_validator("base_urls")
    @classmethod
    def _urls_are_http(cls, urls: tuple[str, ...]) -> tuple[str, ...]:
        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"base URL {url!r} must start with http:// or https://")
            host = (urlsplit(url).hostname or "").lower()
            if host.endswith(".onion") and (problem := onion_problem(host)):
                raise ValueError(problem)
        return tuple(u.rstrip("/") for u in urls)

    @model_validator(mode="after")
    def _onion_needs_tor(self) -> "Market":
        if self.transport != "tor" and any((urlsplit(u).hostname or "").endswith(".onion") for u in self.base_urls):
            raise ValueError("onion base URLs need transport = \"tor\"")
        return self

    @property
    def base_url(self) -> str:
        return self.base_urls[0]

    @property
    def obeys_robots_txt(self) -> bool:
        return self.obey_robots_txt if self.obey_robots_txt is not None else self.transport == "clearnet"

    @property
    def isolation_token(self) -> str:
        return self.isolation or self.name


def cron_trigger(expression: str, timezone: str = "UTC"):
    """A cron expression as an APScheduler trigger: five fields (minute hour day month
    weekday), or six with seconds first."""
    from apscheduler.triggers.cron import CronTrigger

    fields = expression.split()
    if len(fields) == 5:
        return CronTrigger.from_crontab(expression, timezone=timezone)
    if len(fields) == 6:
        second, minute, hour, day, month, weekday = fields
        return CronTrigger(second=second, minute=minute, hour=hour, day=day, month=month, day_of_week=weekday,
                           timezone=timezone)
    raise ValueError(f"cron {expression!r} needs 5 fields (minute hour day month weekday) or 6 (seconds first)")


class Schedule(_Strict):
    """Crawls run by `interdict schedule run`."""
    markets: tuple[str, ...] = Field(min_length=1)
    cron: str
    mode: Literal["full", "incremental"] = "full"
    timezone: str = "UTC"
    # local: a child `interdict crawl` on this host; scrapyd: a job per market on [scrapyd].url
    target: Literal["local", "scrapyd"] = "local"

    @model_validator(mode="after")
    def _cron_parses(self) -> "Schedule":
        try:
            cron_trigger(self.cron, self.timezone)
        except (ValueError, LookupError) as exc:  # zoneinfo raises a LookupError subclass
            raise ValueError(f"invalid cron {self.cron!r} or timezone {self.timezone!r}: {exc}") from None
        return self


class Settings(_Strict):
    store: StoreSettings = StoreSettings()
    crawl: CrawlSettings = CrawlSettings()
    evidence: EvidenceSettings = EvidenceSettings()
    enrichment: EnrichmentSettings = EnrichmentSettings()
    matching: MatchingSettings = MatchingSettings()
    watchlist: WatchlistSettings = WatchlistSettings()
    api: ApiSettings = ApiSettings()
    input: InputSettings = InputSettings()
    scrapyd: ScrapydSettings = ScrapydSettings()
    images: ImageSettings = ImageSettings()
    demo: DemoSettings = DemoSettings()
    tor: TorSettings = TorSettings()
    elasticsearch: ElasticsearchSettings = ElasticsearchSettings()
    alerts: AlertSettings = AlertSettings()
    markets: dict[str, Market] = {}
    schedules: dict[str, Schedule] = {}
    _source: str | None = PrivateAttr(None)

    @property
    def source(self) -> str | None:
        """The operator file merged over the defaults (absolute), for processes this one starts."""
        return self._source

    @model_validator(mode="after")
    def _schedules_name_markets(self) -> "Settings":
        for name, schedule in self.schedules.items():
            unknown = [m for m in schedule.markets if m not in self.markets]
            if unknown:
                raise ValueError(f"schedule {name!r} names unknown market(s) {', '.join(unknown)}")
            if schedule.target == "scrapyd" and not self.scrapyd.url:
                raise ValueError(f"schedule {name!r} runs on Scrapyd, but no server is configured ([scrapyd] url)")
        return self

    def market(self, name: str) -> Market:
        try:
            return self.markets[name]
        except KeyError:
            known = ", ".join(sorted(self.markets)) or "none"
            raise ConfigError(f"unknown market {name!r} (configured: {known})") from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _parse_env_value(raw: str) -> Any:
    """Environment values are TOML literals when they parse as one, else plain strings."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def _env_overrides(env: Mapping[str, str]) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for key, raw in env.items():
        if not key.startswith(ENV_PREFIX) or "__" not in key or key == "INTERDICT_CONFIG":
            continue
        path = [part.lower() for part in key[len(ENV_PREFIX):].split("__")]
        node = overrides
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = _parse_env_value(raw)
    return overrides


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        lines.append(f"{where}: {message}" if where else message)
    return "invalid configuration: " + "; ".join(lines)


def load_config(
    path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Load defaults, then the operator file, then environment overrides; validate."""
    env = os.environ if env is None else env
    data: dict[str, Any] = {}
    for default in DEFAULT_FILES:
        data = _merge(data, _read_toml(default))
    operator_file = path or env.get("INTERDICT_CONFIG")
    if operator_file:
        data = _merge(data, _read_toml(Path(operator_file)))
    data = _merge(data, _env_overrides(env))
    markets = data.get("markets", {})
    if isinstance(markets, dict):
        data["markets"] = {
            name: {"name": name, **spec} if isinstance(spec, dict) else spec
            for name, spec in markets.items()
        }
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    settings._source = str(Path(operator_file).resolve()) if operator_file else None
    return settings
