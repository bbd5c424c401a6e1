"""The enrichment pipeline follows spaCy's conventions: factories say what they assign and
require, components with data read it in initialize() and save it with to_disk(), so a
saved pipeline is self-contained and spacy.load() reads it back offline; the shared
gazetteer pass is an explicit first component."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import spacy

from enrichment.pipeline import DEFAULT_CONFIG, load_pipeline

REPO = Path(__file__).resolve().parent.parent
TEXTS = [
    "Dutch MDMA crystals 84% pure 10g for $50. Ships from Netherlands to EU, vacuum sealed, DHL tracked.",
    "Rolex Submariner replica, worldwide shipping except Australia, 3-5 days. Contact wickr: watchking99",
    "Oxycodon 80mg x 30 pills, declared as gift, USPS priority from USA. BTC only.",
    "Kokain höchster Qualität aus Peru, Versand aus Deutschland, 1g 80 EUR",
]


def mentions(doc) -> list[tuple]:
    return [(m.label, m.start, m.end, m.value, m.component) for m in doc._.interdict_entities]


def test_factories_declare_what_they_assign_and_require():
    nlp = load_pipeline()
    analysis = nlp.analyze_pipes()
    assert all(not problems for problems in analysis["problems"].values()), analysis["problems"]
    summary = analysis["summary"]
    assert "doc._.interdict_quantities" in summary["interdict_products"]["requires"]
    assert summary["interdict_gazetteers"]["assigns"] == ["doc._.interdict_gazetteer_hits"]
    # Products before quantities: spaCy names what is missing.
    config = spacy.util.load_config(DEFAULT_CONFIG)
    order = config["nlp"]["pipeline"]
    order.remove("interdict_quantities")
    order.append("interdict_quantities")
    misordered = spacy.util.load_model_from_config(config, auto_fill=True)
    assert "doc._.interdict_quantities" in misordered.analyze_pipes()["problems"]["interdict_products"]


def test_each_component_shows_its_share_of_the_mentions():
    doc = load_pipeline()(TEXTS[0])
    assert {m.label for m in doc._.interdict_quantities} == {"QUANTITY", "PRICE", "PURITY"}
    assert [m.value for m in doc._.interdict_products if m.label == "PRODUCT"] == ["MDMA"]
    assert [m.value for m in doc._.interdict_places] == ["NL", "EU"]
    assert {m.label for m in doc._.interdict_shipping} == {"STEALTH", "CARRIER"}
    assert set(doc._.interdict_gazetteer_hits) == {"interdict_products", "interdict_places", "interdict_shipping"}


def test_a_component_without_its_data_says_how_to_get_it():
    config = spacy.util.load_config(DEFAULT_CONFIG)
    uninitialised = spacy.util.load_model_from_config(config, auto_fill=True)  # no nlp.initialize()
    with pytest.raises(ValueError, match="nlp.initialize"):
        list(uninitialised.pipe(TEXTS))


def test_the_shared_pass_comes_first():
    config = spacy.util.load_config(DEFAULT_CONFIG)
    config["nlp"]["pipeline"].remove("interdict_gazetteers")
    del config["components"]["interdict_gazetteers"]
    with pytest.raises(ValueError, match="interdict_gazetteers"):
        spacy.util.load_model_from_config(config, auto_fill=True)


def test_a_saved_pipeline_is_self_contained_and_loads_offline(tmp_path):
    """Saved with nlp.to_disk(), read by spacy.load() in a fresh process where Interdict's data
    folders do not exist: the same mentions on every text."""
    nlp = load_pipeline()
    expected = [mentions(doc) for doc in nlp.pipe(TEXTS)]
    assert all(expected)
    nlp.to_disk(tmp_path / "pipeline")
    saved = json.loads((tmp_path / "pipeline" / "interdict_products" / "files.json").read_text())
    assert set(saved) == {"gazetteer", "taxonomy", "patterns", "common_words", "not_products"}
    code = f"""
import json, sys
from pathlib import Path
import enrichment.components, enrichment.gazetteers, contracts.vocabulary  # registers the factories
import spacy
enrichment.gazetteers.DATA_DIR = contracts.vocabulary.VOCABULARY_DIR = Path("/nonexistent")
nlp = spacy.load({str(tmp_path / 'pipeline')!r})
texts = json.loads(sys.stdin.read())
print(json.dumps([[(m.label, m.start, m.end, m.value, m.component) for m in d._.interdict_entities]
                  for d in nlp.pipe(texts)]))
"""
    proc = subprocess.run([sys.executable, "-c", code], input=json.dumps(TEXTS), capture_output=True, text=True,
                          cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert [[tuple(m) for m in doc] for doc in json.loads(proc.stdout)] == expected
