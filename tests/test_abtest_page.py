"""The A/B tests page (AppTest): the Udacity upload, the demo's stored coupon test, a replay, the planner."""

from __future__ import annotations

import zipfile

import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from core.abtest.analysis import chance_to_beat
from core.abtest.planner import sample_size_plan
from tests.conftest import app_test, shared_path

TOL = 1e-6


ROLES = {"arms": "conversion rate", "comparisons": "lift (points)", "revenue": "p-value (Welch)",
         "cuped": "CUPED difference",
         "srm": "expected users", "plan_table": "users per arm"}


def _frames(at) -> dict[str, pd.DataFrame]:
    """The page's tables by role; the analysis' come first ('main_…'), a replay's second ('replay_…')."""
    out: dict[str, pd.DataFrame] = {}
    for df in at.dataframe:
        value = df.value
        for role, column in ROLES.items():
            if column in value.columns:
                prefix = "" if role == "plan_table" else ("main_" if f"main_{role}" not in out else "replay_")
                out[prefix + role] = value
    return out


@pytest.mark.slow
def test_udacity_upload_shows_statsmodels_figures(store_url):
    path = shared_path("udacity_ab_test", "ab_data.csv.zip")
    raw = pd.read_csv(zipfile.ZipFile(path).open("ab_data.csv"))
    ok = (raw["group"] == "control") == (raw["landing_page"] == "old_page")
    ref = raw[ok].drop_duplicates("user_id").groupby("group")["converted"].agg(["size", "sum"])
    nc, cc = int(ref.loc["control", "size"]), int(ref.loc["control", "sum"])
    nt, ct = int(ref.loc["treatment", "size"]), int(ref.loc["treatment", "sum"])

    at = app_test("experiments")
    at.run()
    assert not at.exception
    at.file_uploader(key="log").set_value(("ab_data.csv.zip", path.read_bytes(), "application/zip"))
    at.run()
    assert not at.exception and not at.error
    assert at.selectbox(key="map_variant").value == "group" and at.selectbox(key="map_page").value == "landing_page"
    hygiene = at.markdown[0].value
    assert "3,893 rows show another variant's page: those rows dropped, taking 0 users" in hygiene
    assert "1,895 users were in more than one arm in the raw log; 0 of them still were" in hygiene
    assert "Dropped 0 of 290,584 users (3,894 rows); kept 290,584 users." in hygiene

    frames = _frames(at)
    arms = frames["main_arms"].set_index("arm")
    assert arms.loc["control", "users"] == nc and arms.loc["treatment", "users"] == nt
    assert arms.loc["control", "conversion rate"] == pytest.approx(cc / nc, abs=TOL)
    assert arms.loc["treatment", "conversion rate"] == pytest.approx(ct / nt, abs=TOL)
    assert round(cc / nc, 4) == 0.1204 and round(ct / nt, 4) == 0.1188

    comp = frames["main_comparisons"].set_index("arm").loc["treatment"]
    z, p = proportions_ztest([ct, cc], [nt, nc])
    lo, hi = confint_proportions_2indep(ct, nt, cc, nc, method="wald", compare="diff")
    rlo, rhi = confint_proportions_2indep(ct, nt, cc, nc, method="log", compare="ratio")
    expected = {
        "lift (points)": ct / nt - cc / nc, "lift low": lo, "lift high": hi,
        "relative lift": (ct / nt) / (cc / nc) - 1, "relative low": rlo - 1, "relative high": rhi - 1,
        "z": z, "p-value (z-test)": p, "chance to beat control": chance_to_beat(cc, nc, ct, nt),
    }
    for col, value in expected.items():
        assert comp[col] == pytest.approx(value, abs=TOL), col
    assert 0.05 < comp["p-value (z-test)"] and comp["sequential p-value"] >= comp["p-value (z-test)"]
    srm = frames["main_srm"].set_index("arm")
    assert srm.loc["control", "expected users"] == pytest.approx((nc + nt) / 2)
    assert f"p = {stats.chisquare([nc, nt]).pvalue:.4f}" in at.expander[0].label
    verdict = at.info[0].value
    assert "no detectable difference" in verdict and "12.04 % vs 11.88 %" in verdict
    assert "more users per arm would detect a 2 % lift" in verdict
    # cumulative lift with its band (23 days), and the Bayesian P(best) bars
    assert [c.key for c in at.get("plotly_chart")] == ["main_plot_treatment", "main_pbest"]
    # A wrong mapping is named, not a traceback.
    at.selectbox(key="map_converted").set_value("group")
    at.run()
    assert not at.exception and "'group' (converted)" in at.error[0].value


def test_small_upload_with_srm_is_flagged_and_saved(store_url):
    rows = ["user,arm,bought,spend"]
    rows += [f"c{i},control,{int(i % 10 == 0)},{5.0 if i % 10 == 0 else 0}" for i in range(1300)]
    rows += [f"t{i},treatment,{int(i % 8 == 0)},{5.0 if i % 8 == 0 else 0}" for i in range(1000)]
    at = app_test("experiments")
    at.run()
    at.file_uploader(key="log").set_value(("small.csv", "\n".join(rows).encode(), "text/csv"))
    at.run()
    assert not at.exception
    assert "no column for ['converted']" in at.error[0].value  # 'bought' is not a name it knows: map it
    at.selectbox(key="map_converted").set_value("bought")
    at.run()
    assert at.selectbox(key="map_user_id").value == "user" and at.selectbox(key="map_revenue").value == "spend"
    assert "Sample-ratio mismatch" in at.error[0].value
    frames = _frames(at)
    assert "revenue per user" in frames["main_arms"] and "revenue/user diff" in frames["main_revenue"]
    at.text_input(key="save_name").input("small test")
    at.get("form_submit_button")[0].click()
    at.run()
    assert "Saved as experiment #1" in at.success[0].value
    at.radio(key="source").set_value("A stored experiment")
    at.run()
    assert at.selectbox(key="experiment").options == ["#1 small test (upload, 2,300 users)"]
    assert _frames(at)["main_arms"]["users"].tolist() == [1300, 1000]


@pytest.mark.slow
def test_demo_store_coupon_test_replay_and_planner(demo_store):
    at = app_test("experiments")
    at.run()
    assert not at.exception
    assert at.radio(key="source").value == "A stored experiment"
    assert any("demo" in o for o in at.selectbox(key="experiment").options)
    frames = _frames(at)
    assert frames["main_arms"]["arm"].tolist() == ["control", "coupon"]
    assert "main_cuped" in frames  # the demo stores a pre-period revenue per user
    assert at.text_input(key=f"split_{at.selectbox(key='experiment').value}").value == "control=0.5,coupon=0.5"

    # Offline replay between the demo's registered baselines.
    assert len(at.selectbox(key="replay_a").options) >= 2
    at.button(key="replay_run").click()
    at.run()
    assert not at.exception
    assert any("Simulation" in w.value for w in at.warning)
    replay_arms = _frames(at)["replay_arms"]
    assert replay_arms["arm"].str.startswith("A: ").iloc[0] and replay_arms["users"].sum() > 100
    at.button(key="replay_save").click()
    at.run()
    assert "Saved as experiment" in at.success[0].value
    at.run()
    assert any("(replay," in o for o in at.selectbox(key="experiment").options)

    # Planner.
    at.number_input(key="plan_base").set_value(10.0)
    at.number_input(key="plan_mde").set_value(20.0)
    at.number_input(key="plan_traffic").set_value(400)
    at.run()
    expected = sample_size_plan(0.10, 0.20, daily_traffic=400)
    table = _frames(at)["plan_table"]
    assert table["users per arm"].iloc[0] == expected.n_per_arm and table["days"].iloc[0] == expected.days


@pytest.mark.slow
def test_hillstrom_upload_shows_metrics_guardrails_segments_and_bayes(store_url, tmp_path):
    """Hillstrom's 3-arm e-mail test uploaded: the report sections show core's figures, the forest plot and P(best)."""
    import numpy as np

    from core.abtest.report import ReportOptions, experiment_report

    h = pd.read_csv(shared_path("hillstrom_email", "hillstrom.csv")).head(12_000)
    h = h.assign(user=np.arange(len(h)), orders=h["conversion"])
    at = app_test("experiments")
    at.run()
    at.radio(key="source").set_value("Upload a log")
    at.run()
    at.file_uploader(key="log").set_value(("hillstrom.csv", h.to_csv(index=False).encode(), "text/csv"))
    at.run()
    for canon, col in (("user_id", "user"), ("variant", "segment"), ("converted", "conversion"),
                       ("revenue", "spend"), ("pre_metric", "history")):
        at.selectbox(key=f"map_{canon}").set_value(col)
    at.run()
    at.selectbox(key="map_orders").set_value("orders")
    at.multiselect(key="map_segments").set_value(["zip_code", "newbie"])
    at.run()
    at.selectbox(key="control").set_value("No E-Mail")
    at.run()
    at.multiselect(key="main_segments").set_value(["newbie"])
    at.multiselect(key="main_guard").set_value(["average order value"])
    at.number_input(key="main_margin").set_value(50.0)
    at.run()
    assert not at.exception and not at.error
    keys = [c.key for c in at.get("plotly_chart")]
    assert "main_forest_newbie" in keys and "main_pbest" in keys
    tables = [df.value for df in at.dataframe]

    def table_with(column: str) -> pd.DataFrame:
        return next(t for t in tables if column in t.columns)

    frame = pd.DataFrame({"user_id": h["user"].astype(str), "variant": h["segment"], "converted": h["conversion"],
                          "revenue": h["spend"].astype(float), "pre_metric": h["history"].astype(float),
                          "orders": h["orders"].astype(float), "newbie": h["newbie"].astype(str)})
    ref = experiment_report(frame, ReportOptions(control="No E-Mail", segments=["newbie"],
                                                 guardrails={"average order value": 0.5}))
    shown = table_with("method")
    assert shown["p_adjusted"].tolist() == pytest.approx([m.p_adjusted for m in ref.metrics], rel=1e-9)
    assert table_with("margin_abs")["p_value"].tolist() == pytest.approx([g.p_value for g in ref.guardrails])
    assert table_with("users control")["difference"].tolist() == pytest.approx(
        [c.result.diff for c in ref.segments[0].cells])
    assert any("Cochran's Q" in c.value for c in at.caption)


def test_planner_baseline_follows_the_loaded_test(store_url):
    """Two stored tests with different control rates: the planner's baseline is the loaded test's control rate
    and follows when another test is picked (it used to stay at the first test's figure)."""
    import numpy as np

    from db.engine import session_scope
    from db.experiments import save_experiment

    rates = {"first": 0.30, "second": 0.08}
    with session_scope(store_url) as s:
        ids = {}
        for name, rate in rates.items():
            n = 400
            conv = np.r_[np.arange(n) < rate * n, np.arange(n) < 0.5 * n].astype(int)
            frame = pd.DataFrame({"user_id": [f"{name}-{i}" for i in range(2 * n)],
                                  "variant": ["control"] * n + ["treatment"] * n, "converted": conv})
            ids[name] = save_experiment(s, name, frame, source="upload", control="control").id
    at = app_test("experiments")
    at.run()
    assert not at.exception
    at.selectbox(key="experiment").set_value(ids["first"])
    at.run()
    assert at.number_input(key="plan_base").value == pytest.approx(30.0)
    at.selectbox(key="experiment").set_value(ids["second"])
    at.run()
    assert not at.exception
    assert at.number_input(key="plan_base").value == pytest.approx(8.0)
    # A baseline typed by hand stays while the same test is loaded.
    at.number_input(key="plan_base").set_value(12.5)
    at.run()
    assert at.number_input(key="plan_base").value == pytest.approx(12.5)
