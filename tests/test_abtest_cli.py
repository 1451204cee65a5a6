"""`python -m core abtest` and the stored-experiment round trip."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportions_ztest

from core.__main__ import main
from db.engine import session_scope
from db.experiments import list_experiments, load_exposures, save_experiment
from tests.conftest import shared_path


def _run(capsys, *argv: str) -> tuple[int, dict | str, str]:
    rc = main(["abtest", *argv])
    out, err = capsys.readouterr()
    return rc, (json.loads(out) if "--json" in argv and rc == 0 else out), err


@pytest.fixture
def small_log(tmp_path):
    rng = np.random.default_rng(0)
    n = 3000
    df = pd.DataFrame({
        "visitor": [f"v{i}" for i in range(n)],
        "bucket": np.where(rng.random(n) < 0.45, "B", "A"),
        "ordered": rng.binomial(1, 0.1, n),
        "when": pd.Timestamp("2024-03-01") + pd.to_timedelta(rng.integers(0, 14 * 86400, n), unit="s"),
        "prior": rng.gamma(2, 10, n),
    })
    df["sales"] = df["ordered"] * rng.gamma(3, 10, n) + 0.1 * df["prior"]
    path = tmp_path / "log.csv"
    df.to_csv(path, index=False)
    return path, df


@pytest.mark.slow
def test_udacity_json(capsys):
    path = shared_path("udacity_ab_test", "ab_data.csv.zip")
    rc, out, _ = _run(capsys, "--log", str(path), "--json")
    assert rc == 0
    assert out["hygiene"]["mismatched_rows"] == 3893 and out["hygiene"]["users_out"] == 290_584
    arms = {a["variant"]: a for a in out["arms"]}
    (comp,) = out["comparisons"]
    z, p = proportions_ztest([arms["treatment"]["conversions"], arms["control"]["conversions"]],
                             [arms["treatment"]["users"], arms["control"]["users"]])
    assert comp["p_conversion"] == pytest.approx(p, abs=1e-6) and comp["z"] == pytest.approx(z, abs=1e-6)
    assert round(arms["control"]["rate"] * 100, 2) == 12.04 and round(arms["treatment"]["rate"] * 100, 2) == 11.88


def test_mapping_split_save_and_stored_experiment(capsys, store_url, small_log):
    path, df = small_log
    mapping = "user_id=visitor,variant=bucket,converted=ordered,timestamp=when,revenue=sales,pre_metric=prior"
    rc, out, _ = _run(capsys, "--log", str(path), "--mapping", mapping, "--control", "A", "--json", "--save", "mine")
    assert rc == 0
    assert out["srm"]["flagged"]  # 55/45 against the default equal plan
    comp = out["comparisons"][0]
    assert comp["cuped"]["metric"] == "revenue" and comp["cuped"]["variance_reduction"] > 0
    counts = df.groupby("bucket")["ordered"].agg(["size", "sum"])
    assert {a["variant"]: a["users"] for a in out["arms"]} == counts["size"].to_dict()

    rc, planned, _ = _run(capsys, "--log", str(path), "--mapping", mapping, "--split", "A=55,B=45", "--json")
    assert rc == 0 and not planned["srm"]["flagged"]

    exp_id = out["saved_experiment_id"]
    with session_scope(store_url) as session:
        (exp,) = list_experiments(session)
        stored = load_exposures(session, exp.id)
    assert exp.id == exp_id and exp.control == "A" and exp.config["mapping"]["variant"] == "bucket"
    assert len(stored) == len(df) and stored["revenue"].sum() == pytest.approx(df["sales"].sum())
    rc, again, _ = _run(capsys, "--experiment", str(exp_id), "--json")
    assert rc == 0
    assert again["comparisons"][0]["p_conversion"] == pytest.approx(comp["p_conversion"], abs=1e-12)
    assert again["comparisons"][0]["cuped"]["diff"] == pytest.approx(comp["cuped"]["diff"], rel=1e-9)

    rc, human, _ = _run(capsys, "--experiment", str(exp_id))
    assert rc == 0 and "SRM: chi2" in human and "users per arm" in human


def test_bad_input_exits_2_with_the_reason(capsys, store_url, small_log):
    path, _ = small_log
    rc, _, err = _run(capsys, "--log", str(path), "--mapping", "user_id=visitor,variant=nope,converted=ordered")
    assert rc == 2 and "'nope'" in err
    rc, _, err = _run(capsys, "--experiment", "99")
    assert rc == 2 and "No experiment with id 99" in err


def test_demo_coupon_experiment_round_trip(demo_store):
    with session_scope(demo_store) as session:
        (exp,) = [e for e in list_experiments(session) if e.source == "demo"]
        frame = load_exposures(session, exp.id)
        assert {"pre_metric", "timestamp", "revenue"} <= set(frame.columns)
        copy = save_experiment(session, "copy", frame, source="upload", control="control")
        again = load_exposures(session, copy.id)
    pd.testing.assert_frame_equal(frame, again)
    with pytest.raises(ValueError, match="source 'web'"):
        with session_scope(demo_store) as session:
            save_experiment(session, "x", frame, source="web")


def test_save_keeps_missing_values_and_ignores_the_frame_index(store_url):
    df = pd.DataFrame(
        {"user_id": ["a", "b", "c"], "variant": ["x", "y", "x"], "converted": [1, 0, 1],
         "timestamp": pd.to_datetime(["2024-01-01 10:00", None, "2024-01-03 00:00"]), "pre_metric": [1.5, None, 2.0],
         "user_store_id": [None, None, None]},
        index=[7, 3, 5],  # a filtered frame: the index is not 0..n-1
    )
    with session_scope(store_url) as session:
        exp = save_experiment(session, "gaps", df, control="x")
        back = load_exposures(session, exp.id)
    assert back["user_id"].tolist() == ["a", "b", "c"] and back["converted"].tolist() == [1, 0, 1]
    assert back["timestamp"].isna().tolist() == [False, True, False]
    assert back["timestamp"].iloc[0] == pd.Timestamp("2024-01-01 10:00")
    assert back["pre_metric"].isna().tolist() == [False, True, False] and back["revenue"].tolist() == [0.0] * 3


def test_report_options_on_a_hillstrom_log(capsys, tmp_path):
    """Hillstrom as an exposure log: orders, segments, a guardrail, capping and a prior all reach the JSON."""
    h = pd.read_csv(shared_path("hillstrom_email", "hillstrom.csv"))
    log = tmp_path / "hillstrom_log.csv"
    h.assign(user=np.arange(len(h)), orders=h["conversion"], visits=h["visit"]).to_csv(log, index=False)
    rc, out, err = _run(capsys, "--log", str(log), "--mapping", "user_id=user,variant=segment,converted=conversion,"
                        "revenue=spend,pre_metric=history", "--control", "No E-Mail", "--orders", "orders",
                        "--segments", "zip_code,newbie", "--keep", "visits", "--guardrail", "average order value=0.5",
                        "--cap-quantile", "0.99", "--prior", "0.006,2000", "--plan-correction", "dunnett",
                        "--ratio", "spend per visit=revenue/visits", "--json")
    assert rc == 0, err
    rep = out["report"]
    assert {m["metric"] for m in rep["metrics"]} == {"conversion", "revenue per user", "orders per user",
                                                     "average order value", "spend per visit"}
    assert len(rep["metrics"]) == 10 and all(m["p_adjusted"] >= m["p_value"] for m in rep["metrics"])
    assert [g["variant"] for g in rep["guardrails"]] == ["Mens E-Mail", "Womens E-Mail"]
    assert [s["column"] for s in rep["segments"]] == ["zip_code", "newbie"]
    spv = next(m for m in rep["metrics"] if m["metric"] == "spend per visit" and m["variant"] == "Mens E-Mail")
    mens, none = h[h.segment == "Mens E-Mail"], h[h.segment == "No E-Mail"]
    cap = rep["revenue_cap"]
    assert spv["value_variant"] == pytest.approx(mens.spend.clip(upper=cap).sum() / mens.visit.sum())
    assert spv["value_control"] == pytest.approx(none.spend.clip(upper=cap).sum() / none.visit.sum())
    assert rep["plan"]["n_arms"] == 3 and rep["plan"]["correction"] == "dunnett"
    assert rep["options"]["prior"] == {"alpha": pytest.approx(12.0), "beta": pytest.approx(1988.0)}
    assert rep["revenue_cap"] > 0 and out["comparisons"][0]["p_source"] == "CUPED"
    assert all(c["sequential_tau"] > 0 for c in out["comparisons"])
    rc, _, err = _run(capsys, "--log", str(log), "--mapping", "user_id=user,variant=segment,converted=conversion",
                      "--guardrail", "bounce rate", "--json")
    assert rc == 2 and "METRIC=MARGIN" in err
    rc, _, err = _run(capsys, "--log", str(log), "--mapping", "user_id=user,variant=segment,converted=conversion",
                      "--segments", "device", "--json")
    assert rc == 2 and "'device'" in err
