"""bench/accuracy.py --csv-dir: a shop export folder goes through the upload pipeline and comes back as the same
purchase sequences, and the benchmark runs on it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bench.accuracy import csv_dir_files, load_csv_dir, main


def _export(folder: Path, n_users: int = 30, n_items: int = 12, per_user: int = 4, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    folder.mkdir()
    (folder / "items.csv").write_text("item_id,title,category\n" + "".join(
        f"I{i},{'red mug' if i % 2 else 'blue plate'} {i},{'kitchen' if i % 2 else 'table'}\n" for i in range(n_items)))
    (folder / "users.csv").write_text("user_id,region\n" + "".join(f"U{u},UK\n" for u in range(n_users)))
    bought: dict[str, list[str]] = {}
    lines = ["user_id,item_id,action_type,timestamp"]
    for u in range(n_users):
        items = [f"I{int(i)}" for i in rng.integers(n_items, size=per_user)]
        bought[f"U{u}"] = items
        lines += [f"U{u},{it},purchase,2024-05-{d + 1:02d} 10:00" for d, it in enumerate(items)]
    (folder / "events.csv").write_text("\n".join(lines) + "\n")
    return bought


def test_csv_dir_round_trip(tmp_path):
    bought = _export(tmp_path / "shop")
    data = load_csv_dir(tmp_path / "shop")
    assert data.name == "shop" and data.n_users == 30 and data.n_items == 12 and data.has_text()
    got = {u: [str(data.item_keys[i]) for i in seq] for u, seq in zip(data.user_keys, data.sequences)}
    assert got == bought


def test_csv_dir_benchmark_and_errors(tmp_path, capsys):
    _export(tmp_path / "shop")
    assert main(["--csv-dir", str(tmp_path / "shop"), "--models", "popularity", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["dataset"] == "shop" and out["n_test_users"] == 30 and out["models"][0]["metrics"]["n_users"] == 30
    assert main(["--csv-dir", str(tmp_path / "shop"), "--models", "popularity", "--train-share", "0.5", "--json"]) == 0
    thin = json.loads(capsys.readouterr().out)
    assert thin["protocol"] == "loo, 50% train" and thin["n_test_users"] == 30
    assert main(["--csv-dir", str(tmp_path / "shop"), "--train-share", "1.5"]) == 2
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no events"):
        csv_dir_files(tmp_path / "empty")
    assert main(["--csv-dir", str(tmp_path / "empty")]) == 2
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "events.csv").write_text("colour,size\nred,3\n")
    with pytest.raises(ValueError, match="rejected"):
        load_csv_dir(bad)


def test_lm_params_are_typed_by_the_model_defaults_and_unknown_names_refused():
    from bench.accuracy import lm_overrides

    assert lm_overrides(["n_embd=128", "dropout=0.3", "text_add=false", "base_checkpoint=null"]) == {
        "n_embd": 128, "dropout": 0.3, "text_add": False, "base_checkpoint": None}
    with pytest.raises(ValueError, match="n_embed"):
        lm_overrides(["n_embed=128"])
    assert main(["--dataset", "ml-100k", "--models", "lm", "--lm-param", "widht=3"]) == 2


def test_scoring_variants_are_scored_beside_their_fit_and_paired_against_the_first_model(tmp_path, monkeypatch):
    import core.evaluation.evaluate as ev
    from bench.accuracy import _paired
    from core.evaluation.paired import per_user_ndcg
    from core.models.popularity import Popularity

    class WithVariant(Popularity):  # a model with a scoring-time part: its variant scores every item alike
        def scoring_variants(self):
            flat = Popularity()
            flat.item_keys_ = self.item_keys_
            flat.score = lambda histories, users=None: np.zeros((len(histories), self.n_items_), np.float32)
            return {"flat": flat}

    _export(tmp_path / "shop", n_users=60)
    data = load_csv_dir(tmp_path / "shop")
    monkeypatch.setattr(ev, "make_model", lambda kind, **params: WithVariant(**params))
    plain = ev.run_evaluation(data, [ev.ModelSpec("pop", "popularity")])
    result = ev.run_evaluation(data, [ev.ModelSpec("pop", "popularity")], scoring_variants=True)
    assert [r.label for r in plain.results] == ["pop"]
    assert [r.label for r in result.results] == ["pop", "pop, flat"] and result.results[1].fit_seconds == 0.0
    assert result.results[0].user_ranks == plain.results[0].user_ranks
    assert len(result.cold_users) == result.n_test_users == len(result.results[0].user_ranks)

    pairs = _paired(result)
    where, overall = pairs[0]
    assert where == "overall" and (overall.a, overall.b) == ("pop", "pop, flat")
    gap = per_user_ndcg(result.results[0].user_ranks) - per_user_ndcg(result.results[1].user_ranks)
    assert overall.diff == pytest.approx(gap.mean()) and overall.diff > 0 and overall.se > 0
