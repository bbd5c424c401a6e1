"""Routes read from free text, on 280 hand-labelled sentences of the shared datasets
(enrichment/evaluation/routes.py; the fixture holds labels and digests, the text is read
from ../shared/data). Skips where that folder is absent."""

import pytest

from conftest import SHARED_DATA
from enrichment.evaluation import routes
from enrichment.evaluation.run import Score

pytestmark = pytest.mark.skipif(not (SHARED_DATA / "agora-2014").is_dir(), reason="../shared/data is absent")


def test_every_labelled_sentence_is_found_and_most_state_a_route():
    rows = routes.FIXTURE.read_text().splitlines()
    labelled = routes.load(SHARED_DATA)
    assert len(labelled) == len(rows) == 280
    assert sum(s.says_a_route for s in labelled) >= 200


def test_routes_from_free_text_meet_the_precision_and_recall_goals(enricher):
    score = Score()
    for _, read, gold in routes.read(enricher, routes.load(SHARED_DATA)):
        score.add({f"{r}:{p}" for r, p in read}, {f"{r}:{p}" for r, p in gold})
    assert score.precision >= 0.9 and score.recall >= 0.8, (score.precision, score.recall)
