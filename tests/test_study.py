"Chapter summaries: each schema round-trips, a stored summary that does not match its schema is refused, and the summaries in the configured artifact store match theirs."
import dataclasses, math, typing

import pytest

from featviz.core.config import get_settings
from featviz.core.store import ArtifactStore, get_store
from featviz.study.chapters import (SUMMARIES, ClusterScores, EvaluationSummary, Record, SummaryError, result_key)

STUDY_STORE = get_store(get_settings())     # read at import, before conftest isolates each test's FEATVIZ_CACHE

def example(hint):
    "A value of type `hint` for a test summary."
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, getattr(__import__('types'), 'UnionType')): return example(next(a for a in args if a is not type(None)))
    if hint is float: return 0.5
    if hint is int: return 3
    if hint is str: return 'quick'
    if hint is bool: return True
    if hint is typing.Any: return 1.0
    if hint is dict: return {'a': 1.0}                     # a bare dict field (e.g. AuditSummary.duplicates' values)
    if isinstance(hint, type) and issubclass(hint, Record): return example_record(hint)
    if origin is list: return [example(args[0])]
    if origin is dict: return {'a': example(args[1])}
    raise TypeError(hint)

def example_record(cls):
    hints = typing.get_type_hints(cls)
    kw = {f.name: example(hints[f.name]) for f in dataclasses.fields(cls)}
    if cls is EvaluationSummary:
        for f in ('accuracy', 'accuracy_low', 'accuracy_high', 'macro_f1'): kw[f] = {result_key(*k): 0.9 for k in EvaluationSummary.HEADLINE}
    return cls(**kw)

@pytest.mark.parametrize('cls', SUMMARIES, ids=lambda c: c.__name__)
def test_summary_round_trips(cls, tmp_path):
    store = ArtifactStore(tmp_path)
    s = example_record(cls)
    s.save(store)
    assert store.exists(f'{cls.chapter}/summary', '.json')
    assert cls.load(store) == s

@pytest.mark.parametrize('cls', SUMMARIES, ids=lambda c: c.__name__)
def test_mismatching_summary_is_refused(cls, tmp_path):
    store = ArtifactStore(tmp_path)
    good = example_record(cls).to_json()
    first = next(iter(good))
    for bad, msg in (({k: v for k, v in good.items() if k != first}, f"missing ['{first}']"),
                     ({**good, 'renamed label': 1}, "unexpected ['renamed label']"),
                     ({**good, 'mode': 7}, 'mode = 7')):
        store.save_json(f'{cls.chapter}/summary', bad)
        with pytest.raises(SummaryError, match=__import__('re').escape(msg)): cls.load(store)
    assert cls.load(ArtifactStore(tmp_path/'empty')) is None

def test_cluster_scores_keep_the_table_labels():
    row = {'n': 10000.0, 'dim': 3969.0, 'classes': 10.0, 'chance accuracy': 0.1135, 'kNN acc (features)': 0.96,
           'silhouette (features)': 0.1, 'kNN acc (2-D)': 0.95, 'silhouette (2-D)': 0.4, 'trustworthiness': 0.97}
    cs = ClusterScores.from_row(row)
    assert (cs.n, cs.knn_features) == (10000, 0.96) and cs.to_json() == row
    with pytest.raises(SummaryError, match="kNN acc"): ClusterScores.from_row({**{k: v for k, v in row.items() if k != 'kNN acc (features)'}})

def test_evaluation_summary_needs_the_headline_results_and_their_intervals():
    acc = {result_key(*k): 0.9 for k in EvaluationSummary.HEADLINE}
    kw = dict(accuracy=acc, accuracy_low=acc, accuracy_high=acc, macro_f1=acc, probes={}, probes_low={}, probes_high={},
              paired={}, choices={})
    EvaluationSummary('quick', 1, 1, 'resnet50', **kw)
    with pytest.raises(SummaryError, match='which the home page reports'):
        EvaluationSummary('quick', 1, 1, 'resnet50', **{**kw, 'accuracy': {'logistic regression | pixels': 0.9}})
    with pytest.raises(SummaryError, match=r"no interval for \['logistic regression \| pixels'"):
        EvaluationSummary('quick', 1, 1, 'resnet50', **{**kw, 'accuracy_low': {}})

@pytest.mark.parametrize('cls', SUMMARIES, ids=lambda c: c.__name__)
def test_stored_summaries_match_their_schema(cls):
    "The summaries the chapters wrote into the configured artifact store (CI: by its nbdev-test run) load through their schema."
    store = STUDY_STORE
    if not store.exists(f'{cls.chapter}/summary', '.json'): pytest.skip(f'chapter {cls.chapter} has not run with this FEATVIZ_CACHE')
    assert isinstance(cls.load(store), cls)
