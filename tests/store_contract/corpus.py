"""The small corpus every store contract suite runs on, and what they compare results by."""

from datetime import UTC, datetime

T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)

CORPUS = [
    dict(listing_key="a1", title="Dutch MDMA crystals 84% pure", description="Molly from Holland, stealth vacuum sealed.",
         vendor={"name": "DutchMasters"}, ships_from="Netherlands", ships_to=["Worldwide"],
         price={"amount": 100, "currency": "USD"}, market="alpha", category_path=["Drugs", "Ecstasy"]),
    dict(listing_key="a2", title="Peruvian cocaine 1g", description="Kokain höchster Qualität. Versand aus Deutschland.",
         vendor={"name": "KokainKönig"}, ships_from="Germany", ships_to=["EU"],
         price={"amount": 80, "currency": "EUR"}, market="alpha", category_path=["Drugs", "Stimulants"]),
    dict(listing_key="b1", title="Rolex Submariner replica", description="Swiss movement 1:1 clone, ships from China.",
         vendor={"name": "WatchKing"}, ships_from="China", ships_to=["United States", "Germany"],
         price={"amount": 350, "currency": "USD"}, market="beta", category_path=["Counterfeits"]),
    dict(listing_key="b2", title="MDMA pills Blue Punisher x10", description="Pressed pills, 240mg.",
         vendor={"name": "dutchmasters"}, ships_from="Netherlands", ships_to=["EU"],
         price={"amount": 40, "currency": "USD"}, market="beta", category_path=["Drugs", "Pills"]),
    dict(listing_key="b3", title='Hostile "quotes" AND NEAR( * OR title:x <script>alert(1)</script>',
         description="Ünïcödé ünd ßpecial — 日本語 テキスト", vendor={"name": "Odd Vendor"}, ships_from="Japan",
         ships_to=["Japan"], price={"amount": 5, "currency": "USD"}, market="beta"),
]


def keys(result):
    return sorted(hit.document.listing_key for hit in result.hits)
