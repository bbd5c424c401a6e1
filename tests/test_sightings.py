"""index.documents.repeated_sightings: which items of a batch the stores may count unchanged
without reading their documents."""

from index.documents import repeated_sightings


def test_only_a_sighting_matching_the_document_before_the_batch_changes_it_is_repeated():
    stored = {"a": "d1", "b": "d2"}
    assert repeated_sightings(["a", "b", "c"], ["d1", "x", "d3"], stored) == [True, False, False]
    # a then changed then the stored sighting again: the second "d1" no longer matches the document
    assert repeated_sightings(["a", "a", "a"], ["d1", "x", "d1"], stored) == [True, False, False]
    assert repeated_sightings(["a", "a"], ["d1", "d1"], stored) == [True, True]
    assert repeated_sightings(["a"], ["d1"], {"a": None}) == [False]  # written before digests were kept
