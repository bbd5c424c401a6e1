"""The one reader of numbers and money (contracts.money) that page objects, the generic
extractor, record imports and the quantities component share."""

import pytest

from contracts.money import best_money, first_money, has_money, money_in, parse_number, price_cell
from enrichment.fields import price_of


@pytest.mark.parametrize("text, number", [
    ("1,200.50", 1200.5), ("1.200,50", 1200.5), ("0.015", 0.015), ("12,5", 12.5), ("1/4", 0.25),
    ("1,000", 1000.0), ("1.000.000", 1000000.0), ("1" + "0" * 400, None), ("1e999", None), ("abc", None), ("1/0", None),
])
def test_numbers_as_a_listing_writer_meant_them(text, number):
    assert parse_number(text) == number


@pytest.mark.parametrize("text, amount, currency, high", [
    ("500 $", 500.0, "USD", None), ("$60", 60.0, "USD", None), ("USD 12", 12.0, "USD", None),
    ("£13.00 GBP", 13.0, "GBP", None), ("50.00 - 39000.00 EUR", 50.0, "EUR", 39000.0),
    ("CAD $367.5", 367.5, "CAD", None), ("1 682,12 €", 1682.12, "EUR", None), ("12,50€", 12.5, "EUR", None),
    ("only 0.0052 btc", 0.0052, "BTC", None),
])
def test_money_as_markets_write_it(text, amount, currency, high):
    hit = first_money(text)
    assert (hit.amount, hit.currency, hit.high) == (amount, currency, high)
    assert has_money(text)


def test_fiat_is_read_before_crypto_and_every_amount_is_found():
    text = "0.0031 BTC (USD 200.00) or 2 XMR"
    assert [(h.amount, h.currency) for h in money_in(text)] == [(0.0031, "BTC"), (200.0, "USD"), (2.0, "XMR")]
    assert (best_money(text).amount, best_money(text).currency) == (200.0, "USD")
    assert money_in("100 pills of 20 mg, grade A") == [] and not has_money("5 kg") and best_money("no price") is None


def test_a_price_cell_may_name_any_currency_code_free_text_may_not():
    assert price_cell("0.5 ETH") == (0.5, "ETH")
    assert price_cell("SEK 120") == (120.0, "SEK")
    assert first_money("0.5 ETH") is None  # in free text an upper-case word beside a number is seldom money
    assert price_cell("call for price") is None and price_cell("1234") is None


def test_record_imports_read_price_cells_with_the_same_reader():
    assert price_of("USD 500.00 (0.3065 BTC)") == (500.0, "USD")
    assert price_of("1.234,56", "EUR") == (1234.56, "EUR")
    assert price_of(12, "eur") == (12.0, "EUR")
    assert price_of("12") is None and price_of(None) is None
