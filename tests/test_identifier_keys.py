"""One search key per identifier, whichever way a vendor page, a parcel or an analyst wrote it
(contracts.identifiers; the store contract tests search with them)."""

import pytest

from contracts.identifiers import identifier_key, identifier_keys, identifiers_in_text

FINGERPRINT = "1E94AE00D5AE609A393455554128AC10275ED715"


@pytest.mark.parametrize("written, key", [
    (FINGERPRINT, FINGERPRINT),
    (FINGERPRINT.lower(), FINGERPRINT),
    ("1E94 AE00 D5AE 609A 3934  5555 4128 AC10 275E D715", FINGERPRINT),
    ("0x4128AC10275ED715", "4128AC10275ED715"),  # long key id
    ("0x275ed715", "275ED715"),  # short key id
    ("Email....name@gmail.com", "name@gmail.com"),
    ("email:Name@GMail.com", "name@gmail.com"),
    ("mailto:name@gmail.com", "name@gmail.com"),
    ("+1 (555) 010-9999", "+15550109999"),
    ("BC1QCW0AM0D8RXDDED4WPUKNEZCD3CX6DKYKVK28VH", "bc1qcw0am0d8rxdded4wpuknezcd3cx6dkykvk28vh"),
    ("1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"),  # base58: as written
    ("0x52908400098527886E0F7030069857D2E4169EE7", "0x52908400098527886e0f7030069857d2e4169ee7"),
    ("http://Abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion/shop",
     "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion"),
    ("@CaliLab12", "calilab12"),
    ("CaliLab12", "calilab12"),
])
def test_one_key_whatever_the_writing(written, key):
    assert identifier_key(written) == key


def test_base58_case_is_part_of_the_address():
    assert identifier_key("1BoatSLRHtKNngkdXEeobR76b53LETtpyT") != identifier_key("1boatslrhtknngkdxeeobr76b53lettpyt")


def test_a_fingerprint_is_also_found_by_its_key_ids():
    assert identifier_keys(FINGERPRINT) == [FINGERPRINT, FINGERPRINT[-16:], FINGERPRINT[-8:]]
    assert identifier_keys("name@gmail.com") == ["name@gmail.com"]


@pytest.mark.parametrize("text, keys, rest", [
    ("name@gmail.com", ["name@gmail.com"], ""),
    ("cocaine Email....Name@gmail.com peru", ["name@gmail.com"], "cocaine peru"),
    ("ketamine 1e94 ae00 d5ae 609a 3934 5555 4128 ac10 275e d715", [FINGERPRINT], "ketamine"),
    ("0x275ED715", ["275ED715"], ""),
    ("wallet bc1qcw0am0d8rxdded4wpuknezcd3cx6dkykvk28vh", ["bc1qcw0am0d8rxdded4wpuknezcd3cx6dkykvk28vh"], "wallet"),
    ("@calilab12 telegram", ["calilab12"], "telegram"),
    ("call +44 7700 900123", ["+447700900123"], "call"),
    ("2C-B 25mg 4-MMC", [], "2C-B 25mg 4-MMC"),  # words and codes stay words
    ("mdma 84% pure", [], "mdma 84% pure"),
])
def test_identifiers_typed_among_words(text, keys, rest):
    assert identifiers_in_text(text) == (keys, rest)
