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
