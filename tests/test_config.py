import pytest

from config import ConfigError, load_config


def test_defaults_load_with_demo_markets():
    config = load_config(env={})
    assert config.store.backend == "embedded"
    assert set(config.markets) >= {"sable", "vesper"}
    sable = config.market("sable")
    assert sable.profile == "sable" and sable.transport == "clearnet"
    assert sable.base_url.startswith("http://127.0.0.1:")


def test_environment_overrides_nested_keys_with_typed_values():
    config = load_config(env={"INTERDICT_STORE__PATH": "/tmp/x.db", "INTERDICT_CRAWL__BATCH_SIZE": "7",
                              "INTERDICT_MARKETS__SABLE__BASE_URLS": '["http://127.0.0.1:9999/"]'})
    assert config.store.path == "/tmp/x.db"
    assert config.crawl.batch_size == 7
    assert config.market("sable").base_urls == ("http://127.0.0.1:9999",)


def test_operator_file_merges_over_defaults(tmp_path):
    extra = tmp_path / "ops.toml"
    extra.write_text('[markets.newmarket]\nprofile = "vesper"\nbase_urls = ["http://127.0.0.1:1"]\n'
                     'transport = "tor"\nconcurrency = 2\n')
    config = load_config(extra, env={})
    assert config.market("newmarket").transport == "tor"
    assert config.market("newmarket").concurrency == 2
    assert "sable" in config.markets


@pytest.mark.parametrize("env, message", [
    ({"INTERDICT_CRAWL__BATCH_SIZE": "0"}, "crawl.batch_size"),
    ({"INTERDICT_STORE__BACKEND": "mongodb"}, "store.backend"),
    ({"INTERDICT_MARKETS__SABLE__TRANSPORT": "carrier-pigeon"}, "markets.sable.transport"),
    ({"INTERDICT_MARKETS__SABLE__BASE_URLS": '["ftp://x"]'}, "must start with http"),
    ({"INTERDICT_CRAWL__NO_SUCH_KEY": "1"}, "crawl.no_such_key"),
])
def test_invalid_values_are_named_clearly(env, message):
    with pytest.raises(ConfigError) as err:
        load_config(env=env)
    assert message in str(err.value)
    assert str(err.value).startswith("invalid configuration:")


def test_unreadable_or_broken_files_are_reported(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.toml", env={})
    broken = tmp_path / "broken.toml"
    broken.write_text("[store\npath = 1")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(broken, env={})


def test_unknown_market_lists_configured_ones():
    with pytest.raises(ConfigError, match="unknown market 'nope'.*sable"):
        load_config(env={}).market("nope")
