"""Elasticsearch goes down in the middle of a crawl and comes back: every listing arrives
exactly once. Uses its own node, so the session's node is never disturbed."""

import http.client
import json
import os
import re
import subprocess
import sys
import time
import urllib.request


import pytest

from conftest import REPO
from interdict.demo.run import demo_markets, free_port
from interdict.esnode import ElasticsearchNode

pytestmark = pytest.mark.e2e


def count(url: str) -> int:
    try:
        with urllib.request.urlopen(f"{url}/interdict-listings/_count", timeout=5) as r:
            return json.load(r)["count"]
    except (OSError, http.client.HTTPException, ValueError):  # down, or going down mid-answer
        return -1


def test_outage_mid_crawl_loses_nothing(tmp_path, catalog, es_dir):
    node = ElasticsearchNode(es_dir, free_port(), free_port()).start()
    spool = tmp_path / "spool"
    env = {"INTERDICT_CRAWL__BATCH_SIZE": "50", "INTERDICT_STORE__SPOOL_DIR": str(spool),
           "INTERDICT_CRAWL__SPOOL_WAIT": "240", "INTERDICT_ELASTICSEARCH__REQUEST_TIMEOUT": "5"}
    try:
        with demo_markets("127.0.0.1", {"sable": 0, "vesper": 0}, catalog.seed, 0) as urls:
            crawl = subprocess.Popen(
                [sys.executable, "-m", "interdict.cli", "crawl", "sable", "vesper", "--store", node.url,
                 *[f"--base-url={m}={u}" for m, u in urls.items()]],
                cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                env={**os.environ, **env})
            deadline = time.monotonic() + 120
            while count(node.url) < 300 and time.monotonic() < deadline and crawl.poll() is None:
                time.sleep(0.2)
            indexed_before_outage = count(node.url)
            node.stop()  # the cluster goes away mid-crawl
            time.sleep(5)
            node.start()
            out, err = crawl.communicate(timeout=600)
        assert crawl.returncode == 0, err[-3000:]
        assert 300 <= indexed_before_outage < 2100
        assert re.search(r"store unavailable for \d+ batch\(es\): spooled", err), err[-3000:]
        assert count(node.url) == 2100
        assert not list(spool.rglob("*.jsonl"))  # everything replayed
        from config import load_config
        from index import Query
        from index.elastic import ElasticsearchStore

        store = ElasticsearchStore(load_config(env={}).elasticsearch, url=node.url)
        docs = [h.document for o in range(0, 2100, 1000) for h in store.search(Query(limit=1000, offset=o, sort="price")).hits]
        store.close()
        assert len({d.id for d in docs}) == 2100 and all(d.seen_count == 1 for d in docs)
        expected = {(m, s.key) for m in ("sable", "vesper") for s in catalog.markets[m].listings}
        assert {(d.market, d.listing_key) for d in docs} == expected
    finally:
        node.stop()



