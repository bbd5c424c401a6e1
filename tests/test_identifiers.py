"""Wallet, PGP and onion validation against independent references."""

import hashlib
from pathlib import Path

import pytest

from config.onion import is_valid_v3_onion, onion_address
from enrichment.pgp import PGPError, parse_public_key
from enrichment.wallets import b58check_encode, bitcoin_address_kind, segwit_encode

PGP = Path(__file__).parent / "fixtures" / "pgp"


@pytest.mark.parametrize("address, kind", [
    ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "p2pkh"),  # the genesis block's address
    ("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "p2sh"),  # BIP 13 example
    ("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "p2wpkh"),  # BIP 173 test vector
    ("bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3", "p2wsh"),  # BIP 173
    ("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", "p2tr"),  # BIP 350
])
def test_valid_bitcoin_addresses(address, kind):
    assert bitcoin_address_kind(address) == kind


@pytest.mark.parametrize("address", [
    "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb",  # last character changed: checksum fails
    "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLz",
    "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5",
    "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4".replace("q", "Q", 1),  # mixed case
    "bc1zw508d6qejxtdg4y5r3zarvaryvqyzf3du",  # witness v2 with bech32 (not bech32m) checksum
    "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx",  # testnet
    "1111111111111111111114oLvT3",  # the all-zero hash address with its checksum broken
    "0OIl",
])
def test_invalid_bitcoin_addresses(address):
    assert bitcoin_address_kind(address) is None


def test_valid_checksum_with_wrong_version_or_length_is_rejected():
    payload = hashlib.sha256(b"y").digest()
    assert bitcoin_address_kind(b58check_encode(0x6F, payload[:20])) is None  # testnet version
    assert bitcoin_address_kind(b58check_encode(0x00, payload[:19])) is None  # short hash


def test_encoders_round_trip():
    payload = hashlib.sha256(b"x").digest()[:20]
    assert bitcoin_address_kind(b58check_encode(0, payload)) == "p2pkh"
    assert bitcoin_address_kind(b58check_encode(5, payload)) == "p2sh"
    assert bitcoin_address_kind(segwit_encode("bc", 0, payload)) == "p2wpkh"
    assert bitcoin_address_kind(segwit_encode("bc", 1, payload + payload[:12])) == "p2tr"


@pytest.mark.parametrize("name, fingerprint", [
    ("fixture.asc", "48FBAF121F2F5C1185EFCF2F8BA548FE7F9F10A8"),
    ("ed.asc", "C0620259C942BE7A4D9FD7E70AB7B267D2AB57ED"),
])
def test_pgp_fingerprints_match_gnupg(name, fingerprint):
    key = parse_public_key((PGP / name).read_text())
    assert key.fingerprint == fingerprint
    assert key.key_id == fingerprint[-16:]
    assert key.version == 4
    assert key.user_ids and "@example.invalid" in key.user_ids[0]


def test_pgp_block_inside_text_and_corrupt_blocks():
    block = (PGP / "ed.asc").read_text()
    assert parse_public_key("my key:\n" + block + "\nthanks").fingerprint.startswith("C062")
    lines = block.splitlines()
    lines[3] = lines[3][:10] + "!!!!" + lines[3][14:]
    with pytest.raises(PGPError):
        parse_public_key("\n".join(lines))
    with pytest.raises(PGPError, match="no PGP public key block"):
        parse_public_key("no key here")


def test_demo_vendor_keys_parse_to_their_fingerprints(catalog):
    for vendor in catalog.vendors[:20]:
        assert parse_public_key(vendor.pgp_key).fingerprint == vendor.fingerprint


def test_onion_v3_validation():
    address = onion_address(hashlib.sha256(b"service").digest())
    assert len(address) == 62 and is_valid_v3_onion(address)
    broken = ("a" if address[0] != "a" else "b") + address[1:]
    assert not is_valid_v3_onion(broken)
    assert not is_valid_v3_onion("expyuzz4wqqyqhjn.onion")  # v2, retired
    assert is_valid_v3_onion("duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion")


def test_keccak_is_not_sha3():
    from enrichment.wallets import keccak256

    # Keccak-256 of the empty string, as Ethereum uses it (NIST SHA3-256 gives a7ffc6f8...).
    assert keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"


@pytest.mark.parametrize("address", [  # EIP-55 test vectors
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
])
def test_ethereum_eip55_checksums(address):
    from enrichment.wallets import ethereum_address_status

    assert ethereum_address_status(address) == "checksummed"
    assert ethereum_address_status(address.lower()) == "unchecksummed"  # one case carries no checksum
    flipped = address[:-1] + (address[-1].swapcase() if address[-1].isalpha() else "a")
    assert ethereum_address_status(flipped) is None


def test_monero_addresses_checksummed_with_keccak():
    import os

    from enrichment.wallets import keccak256, monero_address_kind, monero_b58encode

    # The Monero general fund's published donation address.
    published = "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A"
    assert monero_address_kind(published) == "standard"
    assert monero_address_kind(published[:-1] + "B") is None
    for prefix, kind in ((18, "standard"), (42, "subaddress")):
        body = bytes([prefix]) + os.urandom(64)
        address = monero_b58encode(body + keccak256(body)[:4])
        assert len(address) == 95 and monero_address_kind(address) == kind
    integrated = bytes([19]) + os.urandom(72)
    assert monero_address_kind(monero_b58encode(integrated + keccak256(integrated)[:4])) == "integrated"


def test_identifiers_in_listing_text(enricher):
    from conftest import make_listing

    key_text = (PGP / "ed.asc").read_text()
    description = (
        "Contact: telegram @fast_shipper_eu, Wickr: bobby99, jabber: bob@xmpp.jp, "
        "session 05" + "a1" * 32 + ". Call +44 7911 123456 or +1 (999) 555 0000. "
        "XMR 44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A "
        "ETH 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed, mirror "
        f"{onion_address(bytes(range(32)))}. Mail me@proton.me\n{key_text}"
    )
    result = next(enricher.enrich_listings([make_listing(description=description)]))
    found = {(i.kind, i.value): i.valid for i in result.enrichment.identifiers}
    assert found[("telegram", "fast_shipper_eu")] and found[("wickr", "bobby99")]
    assert found[("jabber", "bob@xmpp.jp")] and ("email", "bob@xmpp.jp") not in found
    assert found[("session", "05" + "a1" * 32)]
    assert found[("phone", "+447911123456")] is True
    assert found[("phone", "+19995550000")] is False  # 999 is no US area code: kept, marked invalid
    assert found[("xmr", "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A")]
    assert found[("eth", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed")]
    assert found[("onion", onion_address(bytes(range(32))))]
    assert found[("email", "me@proton.me")]
    assert [v for (k, v) in found if k == "pgp"] == [parse_public_key(key_text).fingerprint]
    for entity in result.enrichment.entities:
        if entity.label in ("TELEGRAM", "PHONE", "XMR_ADDRESS"):
            assert description[entity.start:entity.end] == entity.text and entity.field == "description"


def test_words_after_messenger_names_are_not_handles(enricher):
    from conftest import make_listing

    result = next(enricher.enrich_listings([make_listing(description="Telegram only. Wickr: please message first.")]))
    assert not [i for i in result.enrichment.identifiers if i.kind in ("telegram", "wickr")]


def test_pgp_block_whose_blank_line_after_the_headers_was_lost():
    good = (PGP / "ed.asc").read_text()
    lines = good.splitlines()
    body_start = lines.index("") + 1 if "" in lines else 1
    damaged = "\n".join([lines[0], "Version: GnuPG v2", "Comment: pasted from a market page", *lines[body_start:]])
    assert parse_public_key(damaged).fingerprint == parse_public_key(good).fingerprint
