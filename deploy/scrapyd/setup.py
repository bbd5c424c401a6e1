"""The egg `scrapyd-deploy` builds from this folder: no code, only the entry point that tells
Scrapyd which settings module to load. The code is the Interdict package installed beside
Scrapyd (its models, gazetteers and config files must be real files, which a zipped egg on
sys.path cannot give)."""

from setuptools import setup

setup(
    name="interdict-scrapyd",
    version="0.1.0",
    packages=[],
    entry_points={"scrapy": ["settings = interdict.scrapy_settings"]},
)
