"""Configuration through the crawler (crawlers/addon.py): a crawler built from a test
configuration, with no INTERDICT_* environment variable, hands every component that
configuration, read once; importing the settings module does nothing."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from scrapy.downloadermiddlewares import cookies
from scrapy.crawler import Crawler
from scrapy.settings import BaseSettings
from scrapy.utils.test import get_crawler

import crawlers.addon
from crawlers.jobs import CrawlJobs
from crawlers.pipelines import EnrichIndexPipeline
from crawlers.spiders.loader import MarketSpiderLoader
from crawlers.transport.circuits import CircuitRenewalMiddleware
from crawlers.transport.mirrors import MirrorAwareFingerprinter

REPO = Path(__file__).resolve().parent.parent
SableSpider = MarketSpiderLoader().load("sable")
CONTROL_PASSWORD = "control-s3cret"
REDIS_PASSWORD = "redis-s3cret"


@pytest.fixture
def test_config(tmp_path, monkeypatch):
    for name in [n for n in os.environ if n.startswith("INTERDICT_")]:
        monkeypatch.delenv(name)
    path = tmp_path / "test.toml"
    path.write_text(f"""
[store]
path = "{tmp_path / 'test.db'}"
spool_dir = "{tmp_path / 'spool'}"
[crawl]
user_agent = "InterdictTest/1.0"
download_timeout = 7
max_page_bytes = 123456
state_dir = "{tmp_path / 'state'}"
frontier = "redis://:{REDIS_PASSWORD}@127.0.0.1:1/0"
[evidence]
dir = "{tmp_path / 'evidence'}"
[tor]
socks_url = "socks5h://127.0.0.1:1"
control_password = "{CONTROL_PASSWORD}"
[markets.sable]
profile = "sable"
transport = "clearnet"
base_urls = ["http://sable.internal:8701", "http://mirror.internal:8702"]
allow_private_targets = true
concurrency = 3
""")
    return path


def project_settings(**extra) -> dict:
    """The project's settings as a crawl gets them (no reactor: these crawlers are built, not run)."""
    settings = BaseSettings()  # the module alone: Scrapy's defaults come in below everything
    settings.setmodule("crawlers.settings", priority="project")
    return {**settings.copy_to_dict(), "TWISTED_REACTOR_ENABLED": False, **extra}


def test_a_crawler_is_built_from_a_test_config_and_no_environment(test_config, tmp_path, monkeypatch):
    loads = []
    real_load = crawlers.addon.load_config
    monkeypatch.setattr(crawlers.addon, "load_config", lambda *a, **k: loads.append(a) or real_load(*a, **k))

    crawler = get_crawler(SableSpider, project_settings(INTERDICT_CONFIG=str(test_config)))
    settings = crawler.settings
    assert settings["USER_AGENT"] == "InterdictTest/1.0"
    assert (settings.getfloat("DOWNLOAD_TIMEOUT"), settings.getint("DOWNLOAD_MAXSIZE")) == (7, 123456)
    assert settings["DOWNLOAD_SLOTS"]["sable"] == {"concurrency": 3, "delay": 0.0}
    assert {"sable.internal", "mirror.internal"} <= set(settings.getlist("INTERDICT_PRIVATE_HOSTS"))
    assert settings["INTERDICT_STORE_PATH"] == str(tmp_path / "test.db")
    assert settings["INTERDICT_EVIDENCE_DIR"] == str(tmp_path / "evidence")
    assert settings["TOR_SOCKS_URL"] == "socks5h://127.0.0.1:1"
    assert settings["SCHEDULER"] == "crawlers.frontier.Frontier"  # crawl.frontier is set
    assert cookies._split_domain.suffix_list_urls == ()  # the offline guard, installed by the add-on

    # Every component gets the same configuration from the crawler: read once, never again.
    crawler.spider = SableSpider.from_crawler(crawler, market="sable")
    assert crawler.spider.base_url == "http://sable.internal:8701"
    assert crawler.spider.config.crawl.state_dir == str(tmp_path / "state")
    assert EnrichIndexPipeline.from_crawler(crawler).config is crawler.spider.config
    assert CircuitRenewalMiddleware.from_crawler(crawler).password == CONTROL_PASSWORD
    primary = MirrorAwareFingerprinter(crawler).primary
    assert primary["http://mirror.internal:8702"] == primary["http://sable.internal:8701"] == "http://sable.internal:8701"
    assert len(loads) == 1


def test_secrets_never_become_scrapy_settings(test_config):
    """Scrapy logs the settings a project overrides: no password may be among them."""
    crawler = get_crawler(SableSpider, project_settings(INTERDICT_CONFIG=str(test_config)))
    shown = repr(crawler.settings.copy_to_dict())
    assert CONTROL_PASSWORD not in shown and REDIS_PASSWORD not in shown
    assert "<Interdict configuration from" in shown


def test_the_command_line_hands_over_the_configuration_it_loaded(test_config, monkeypatch):
    from config import load_config
    from interdict.crawl import scrapy_settings

    config = load_config(test_config)
    monkeypatch.setattr(crawlers.addon, "load_config", lambda *a, **k: pytest.fail("loaded again"))
    settings = scrapy_settings(config, "var/other.db", trigger="test")  # as `interdict crawl` builds them
    settings.set("TWISTED_REACTOR_ENABLED", False, priority="cmdline")  # built, not run
    crawler = Crawler(SableSpider, settings)
    crawler._apply_settings()
    assert crawler.settings["USER_AGENT"] == "InterdictTest/1.0"
    assert crawler.settings["INTERDICT_STORE_PATH"] == "var/other.db"  # the command line wins over the config
    assert SableSpider.from_crawler(crawler, market="sable").config is config


def test_components_that_do_not_apply_say_so(test_config):
    """As Scrapy's own middlewares do: NotConfigured where a component has nothing to do."""
    from scrapy import Spider
    from scrapy.exceptions import NotConfigured

    class NotAMarket(Spider):
        name = "plain"

    crawler = get_crawler(NotAMarket, project_settings(INTERDICT_CONFIG=str(test_config)))
    crawler.spider = NotAMarket()
    for component in (CrawlJobs, CircuitRenewalMiddleware):
        with pytest.raises(NotConfigured):
            component.from_crawler(crawler)


def test_importing_the_settings_module_does_nothing():
    """`scrapy list`, Scrapyd and tools import crawlers.settings: no configuration is read and
    nothing is patched until a crawler is built."""
    code = ("import sys, crawlers.settings as s; from scrapy.downloadermiddlewares import cookies; "
            "assert 'config' not in sys.modules, 'configuration read at import'; "
            "assert cookies._split_domain.suffix_list_urls != (), 'patched at import'; "
            "assert s.ADDONS == {'crawlers.addon.InterdictAddon': 0}")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr
