"""`interdict import` end to end, through the real command: a tarball and a WARC made here,
a CSV in each shared dataset's column layout (the datasets themselves are not copied), a
MySQL dump of vendor profiles, a page without a price, a v2 onion, a re-run, a capture
imported out of order, a broken member. Pages are written for the test in two layouts the
extractor was not tuned on."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from conftest import SHARED_DATA, run_cli

MTIME = datetime(2019, 3, 4, 5, 6, tzinfo=UTC).timestamp()


def detail(title: str, vendor: str, price: str | None, ships_from: str = "Netherlands",
           ships_to: str = "Worldwide", category: str = "Stimulants", extra: str = "") -> str:
    price_row = f"<tr><th>Price</th><td>{price}</td></tr>" if price else ""
    return (f"<!DOCTYPE html><html><head><title>{title} | Old Market</title>{extra}</head><body>"
            "<nav><a href='/'>Home</a><a href='/c/1'>Stimulants</a><a href='/c/2'>Opioids</a></nav>"
            f"<main><h1>{title}</h1><table>{price_row}"
            f"<tr><th>Vendor</th><td><a href='/vendor/{vendor}'>{vendor}</a></td></tr>"
            f"<tr><th>Ships from</th><td>{ships_from}</td></tr><tr><th>Ships to</th><td>{ships_to}</td></tr>"
            f"<tr><th>Category</th><td>{category}</td></tr></table>"
            f"<h2>Description</h2><p>{title}: lab tested, vacuum sealed, tracked shipping, reship once.</p>"
            "</main></body></html>")


def category_page(n: int = 4) -> str:
    cards = "".join(f"<div class='card'><a href='/listing/{i}'>Speed paste {i * 5}g</a>"
                    f"<span class='seller'>Vendor: <a href='/vendor/paste{i}'>paste{i}</a></span>"
                    f"<span class='cost'>{20 + i}.00 EUR</span></div>" for i in range(1, n + 1))
    return (f"<html><head><title>Stimulants | Old Market</title></head><body><h1>Stimulants</h1>{cards}"
            "</body></html>")


def add(archive: tarfile.TarFile, name: str, text: str, mtime: float = MTIME) -> None:
    data = text.encode()
    info = tarfile.TarInfo(name)
    info.size, info.mtime = len(data), mtime
    archive.addfile(info, io.BytesIO(data))


@pytest.fixture
def env(tmp_path):
    """The command's own store, state, evidence and audit log."""
    return {"INTERDICT_STORE__PATH": str(tmp_path / "store.db"), "INTERDICT_CRAWL__STATE_DIR": str(tmp_path / "state"),
            "INTERDICT_EVIDENCE__DIR": str(tmp_path / "evidence"), "INTERDICT_API__PATH": str(tmp_path / "api.db")}


def cli(env, *args):
    return run_cli(*args, env=env)


def search(env, *args) -> list[dict]:
    proc = cli(env, "search", "--json", "--limit", "100", *args)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines() if '"listing_key"' in line]


def test_a_tarball_of_saved_pages_is_imported_with_capture_dates_evidence_and_a_rerun_that_skips(tmp_path, env):
    tarball = tmp_path / "oldmarket-2019.tar.gz"
    with tarfile.open(tarball, "w:gz") as archive:
        add(archive, "oldmarket/listing/1.html", detail("Speed paste 50g", "paste1", "EUR 140.00"))
        add(archive, "oldmarket/listing/2.html", detail("Crystal meth 10g", "glassman", "USD 300"))
        add(archive, "oldmarket/listing/3.html", detail("Sold out: pink molly 5g", "molly", None))  # no price
        add(archive, "oldmarket/category/stimulants", category_page())  # no extension: found by content
        add(archive, "oldmarket/robots.txt", "User-agent: *\nDisallow: /")
    proc = cli(env, "import", str(tarball))
    assert proc.returncode == 0, proc.stderr
    assert "4 page(s) read (3 listing, 1 index, 0 without a listing)" in proc.stderr, proc.stderr
    docs = {d["data"]["listing"]["title"]: d for d in search(env)}
    assert set(docs) >= {"Speed paste 50g", "Crystal meth 10g", "Sold out: pink molly 5g", "Speed paste 5g"}
    paste = docs["Speed paste 50g"]
    assert paste["market"] == "oldmarket"  # the archive's top folder; no config entry
    assert paste["first_seen"].startswith("2019-03-04T05:06") and paste["data"]["listing"]["capture"]["approximate"]
    assert paste["data"]["listing"]["capture"]["captured_from"] == "mtime"
    assert paste["data"]["listing"]["vendor"]["name"] == "paste1"
    assert paste["data"]["enrichment"]["ships_from"] == ["NL"]
    unpriced = docs["Sold out: pink molly 5g"]
    assert unpriced["data"]["listing"].get("price") is None and unpriced["price_history"] == []
    # the page itself is evidence, kept in the archive folder, whatever becomes of the tarball
    tarball.rename(tmp_path / "moved.tar.gz")
    shown = cli(env, "evidence", "show", paste["id"])
    assert shown.returncode == 0, shown.stderr
    assert "Speed paste 50g" in shown.stdout and "MATCHES" in shown.stderr and "oldmarket-2019.tar.gz" in shown.stderr
    # a re-run is idempotent and reads nothing again
    again = cli(env, "import", str(tmp_path / "moved.tar.gz"))
    assert again.returncode == 0 and "0 page(s) read" in again.stderr and "5 member(s) already imported" not in \
        again.stderr and "4 member(s) already imported" in again.stderr, again.stderr
    assert len(search(env)) == len(docs)
    jobs = [json.loads(line) for line in cli(env, "jobs", "--json").stdout.splitlines()]
    assert [j["mode"] for j in jobs] == ["import", "import"] and jobs[-1]["listings_new"] >= 4
    audit = cli(env, "audit", "--action", "import", "--json")
    assert audit.returncode == 0 and len(audit.stdout.splitlines()) == 2, audit.stderr


def warc_of(path: Path, records: list[tuple[str, str, str]]) -> None:
    """A WARC as any crawler writes one: response records with the page and WARC-Date."""
    with open(path, "wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        for url, date, html in records:
            body = html.encode()
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                               ("Content-Length", str(len(body)))], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http,
                                                          warc_headers_dict={"WARC-Date": date}))
        redirect = StatusAndHeaders("302 Found", [("Location", "/x")], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record("http://abcdefghijklmnop.onion/old", "response",
                                                      payload=io.BytesIO(b""), http_headers=redirect))


def test_a_warc_of_a_v2_onion_market_keeps_its_urls_and_capture_dates(tmp_path, env):
    warc = tmp_path / "crawl.warc.gz"
    warc_of(warc, [("http://abcdefghijklmnop.onion/listing/7", "2016-05-01T10:00:00Z",
                    detail("Heroin #4 1g", "afghan", "BTC 0.12", ships_from="Germany")),
                   ("http://abcdefghijklmnop.onion/listing/8", "2016-05-02T10:00:00Z",
                    detail("Oxycodone 80mg x10", "oxyking", "USD 250", ships_from="United States"))])
    proc = cli(env, "import", str(warc), "--market", "agora")
    assert proc.returncode == 0, proc.stderr
    assert "2 page(s) of v2 onion services" in proc.stderr
    docs = {d["data"]["listing"]["title"]: d for d in search(env)}
    heroin = docs["Heroin #4 1g"]["data"]["listing"]
    assert heroin["url"] == "http://abcdefghijklmnop.onion/listing/7" and heroin["transport"] == "tor"
    assert heroin["crawled_at"].startswith("2016-05-01T10:00") and heroin["capture"]["captured_from"] == "warc-date"
    assert heroin["capture"]["legacy_onion"] and not heroin["capture"]["approximate"]
    assert docs["Heroin #4 1g"]["market"] == "agora"


def test_captures_imported_newest_first_make_the_history_in_market_order(tmp_path, env):
    def folder(name: str, price: str) -> Path:
        root = tmp_path / name / "shop"
        root.mkdir(parents=True)
        (root / "ket.html").write_text(detail("Ketamine shards 5g", "kman", price))
        return tmp_path / name

    newer, older = folder("june", "EUR 90"), folder("january", "EUR 120")
    assert cli(env, "import", str(newer), "--market", "shop", "--captured", "2019-06-01").returncode == 0
    assert cli(env, "import", str(older), "--market", "shop", "--captured", "2019-01-01").returncode == 0
    [doc] = search(env)
    assert doc["first_seen"].startswith("2019-01-01") and doc["last_seen"].startswith("2019-06-01")
    assert [(p["amount"], p["at"][:10]) for p in doc["price_history"]] == [(120, "2019-01-01"), (90, "2019-06-01")]
    assert doc["data"]["listing"]["price"]["amount"] == 90 and doc["status"] == "active"


def test_one_broken_member_is_named_and_skipped_the_others_imported(tmp_path, env):
    archive = tmp_path / "seized.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("seized/a.html", detail("Cocaine 1g", "coke1", "USD 90"))
        z.writestr("seized/b.html", detail("Cocaine 2g", "coke2", "USD 170"))
    data = bytearray(archive.read_bytes())
    at = data.find(b"seized/b.html") + len("seized/b.html") + 10  # inside b's compressed bytes
    data[at:at + 8] = b"\x00" * 8
    archive.write_bytes(bytes(data))
    proc = cli(env, "import", str(archive), "--market", "seized")
    assert proc.returncode == 1
    assert "seized/b.html: cannot read" in proc.stderr, proc.stderr
    assert [d["data"]["listing"]["title"] for d in search(env)] == ["Cocaine 1g"]


# -- datasets, in the shared datasets' column layouts ------------------------------------

def test_datasets_in_each_shared_layout_are_mapped_and_imported(tmp_path, env):
    agora = tmp_path / "agora-products.csv"
    agora.write_text('"list","date","vendor","product","price","cat","subcat","subsubcat","feedback","from","to"\n'
                     '"2014-01-01__a.html","2014-01-01","passman","MDMA 84% 10g",0.25,"Drugs","Ecstasy",NA,"\n'
                     '    Feedbacks:\n     5/5 great","Netherlands","Worldwide"\n'
                     '"2014-01-01__b.html","2014-01-01",NA,"Orphan row",0.1,"Drugs","Other",NA,"","NA","NA"\n')
    alphabay = tmp_path / "Opioids - 20170421.csv"  # the crawl's date in the file name, as AlphaBay's are
    alphabay.write_bytes(("category_link,subcategory_link,listing_title,listing_price,listing_vendor\n"
                          'Drugs,Opioids,Heroin für Kenner 1g,"Buy price\nUSD 95.00\n",Übermensch\n').encode("mac_roman"))
    torrez = tmp_path / "torrez.csv"
    torrez.write_text(",vendor,category_level_1,category_level_2,category_level_3,highest_category,product,"
                      "price in $,shipping_from,shipping_to,url\n"
                      "0,meds4ed,Drugs and Chemicals,Prescriptions Drugs,,Prescriptions Drugs,Sildigra 150mg x10,"
                      "\"2,385.41\",United States,United States,http://yxuy5oau7nugw4kpb4lclrqdbixp3wvc4iuiad23ebyp2q3gx7"
                      "rtrgqd.onion/items/sildigra\n")
    for args in ([str(agora), "--market", "agora", "--currency", "BTC"],
                 [str(alphabay), "--market", "alphabay", "--encoding", "mac_roman"],
                 [str(torrez), "--market", "torrez"]):
        proc = cli(env, "import", *args)
        assert "columns title=" in proc.stderr, proc.stderr
    docs = {d["data"]["listing"]["title"]: d["data"] for d in search(env)}
    assert set(docs) == {"MDMA 84% 10g", "Heroin für Kenner 1g", "Sildigra 150mg x10"}
    mdma = docs["MDMA 84% 10g"]["listing"]
    assert (mdma["price"], mdma["vendor"]["name"], mdma["crawled_at"][:10]) == (
        {"amount": 0.25, "currency": "BTC"}, "passman", "2014-01-01")
    assert mdma["capture"]["captured_from"] == "column" and mdma["category_path"] == ["Drugs", "Ecstasy"]
    assert docs["Heroin für Kenner 1g"]["listing"]["vendor"]["name"] == "Übermensch"
    assert docs["Heroin für Kenner 1g"]["listing"]["price"] == {"amount": 95.0, "currency": "USD"}
    heroin = docs["Heroin für Kenner 1g"]["listing"]
    assert heroin["crawled_at"][:10] == "2017-04-21" and heroin["capture"]["captured_from"] == "filename"
    assert not heroin["capture"]["approximate"]
    sildigra = docs["Sildigra 150mg x10"]["listing"]
    assert sildigra["capture"]["captured_from"] == "mtime" and sildigra["capture"]["approximate"]  # no date anywhere
    assert sildigra["price"] == {"amount": 2385.41, "currency": "USD"}  # "price in $" names the currency
    assert sildigra["url"].endswith("/items/sildigra") and sildigra["transport"] == "tor"
    orphan = cli(env, "import", str(agora), "--market", "agora2", "--currency", "BTC")
    assert orphan.returncode == 0 and f"{agora}:5: no vendor" in orphan.stderr, orphan.stderr  # no listing: named, not an error


def test_a_file_not_in_the_encoding_given_is_named_not_garbled(tmp_path, env):
    mac = tmp_path / "alphabay.csv"
    mac.write_bytes("listing_title,listing_vendor\nKäse,x\n".encode("mac_roman"))
    proc = cli(env, "import", str(mac), "--market", "alphabay")
    assert proc.returncode == 1 and "not utf-8 text" in proc.stderr and "--encoding" in proc.stderr


def test_vendor_profiles_from_a_mysql_dump(tmp_path, env):
    dump = tmp_path / "sellers.sql"
    dump.write_text("CREATE TABLE `dnm_dream` (\n  `seqNo` int(11) NOT NULL,\n  `seller_name` varchar(45),\n"
                    "  `pgp` longtext,\n  `description` longtext,\n  `market_name` varchar(45)\n) ENGINE=InnoDB;\n"
                    "INSERT INTO `dnm_dream` VALUES (1,'0ldamsterdam',NULL,'Contact: wickr oldams\\nShips from NL',"
                    "'dream'),(2,'bad',NULL,'x');\n")
    proc = cli(env, "import", str(dump), "--kind", "vendors")
    assert proc.returncode == 1 and "row of 4 values for 5 columns" in proc.stderr, proc.stderr
    vendors = run_cli("search", "--json", "--limit", "5", "--filter", "market=dream", env=env)
    assert vendors.returncode == 0
    assert "vendors: 1 new" in proc.stderr


def test_index_takes_raw_records_as_enrich_does(env):
    raw = json.dumps({"title": "Blue Punisher MDMA x10", "vendor": "Sold by pillking", "price": "USD 60",
                      "ships_from": "Netherlands", "url": "http://example.invalid/l/9"}) + "\n"
    proc = run_cli("index", "--market", "dump", input=raw, env=env)
    assert proc.returncode == 0, proc.stderr
    [doc] = search(env)
    assert doc["market"] == "dump" and doc["data"]["listing"]["vendor"]["name"] == "pillking"
    assert run_cli("index", input=raw, env=env).returncode == 1  # without a market: named, not guessed


@pytest.mark.skipif(not (SHARED_DATA / "archives" / "darkdock-2024.tar.gz").is_file(),
                    reason="needs ../shared/data/archives")
def test_the_real_darkdock_archive_imports_its_listings_with_sellers_and_prices(env):
    proc = cli(env, "import", str(SHARED_DATA / "archives" / "darkdock-2024.tar.gz"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "4308 page(s) read" in proc.stderr, proc.stderr  # 4,309 files, one a byte-identical copy
    found = search(env, "--filter", "vendor=drunkdragon")
    assert found and all(d["data"]["listing"].get("price") for d in found)
    total = int(cli(env, "search", "--limit", "0").stdout.split()[0])
    assert 2000 <= total <= 3934  # the detail pages' listings, each once however many pages show it
