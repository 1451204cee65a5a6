"""Hygiene: multi-arm users, duplicate exposures and variant/page mismatches are counted and handled as chosen."""

from __future__ import annotations

import pandas as pd
import pytest

from core.abtest.hygiene import HygieneChoices, clean
from core.abtest.log_reader import read_log
from tests.conftest import shared_path


def _log() -> pd.DataFrame:
    rows = [
        # user, variant, page, day, converted
        ("u1", "control", "old", 1, 0),
        ("u2", "control", "old", 1, 1),
        ("u2", "control", "old", 3, 0),  # duplicate in one arm: first (day 1, converted) is kept
        ("u3", "treatment", "new", 2, 0),
        ("u3", "control", "old", 1, 1),  # multi-arm: first exposure is control (day 1)
        ("u4", "treatment", "old", 1, 1),  # mismatch: treatment shown the old page
        ("u5", "treatment", "new", 1, 0),
        ("u6", "control", "old", 2, 0),
    ]
    df = pd.DataFrame(rows, columns=["user_id", "variant", "page", "day", "converted"])
    df["timestamp"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(df.pop("day"), unit="D")
    return df


def test_counts_and_default_choices():
    cleaned, report = clean(_log())
    assert (report.rows_in, report.users_in) == (8, 6)
    assert report.mismatched_rows == 1 and report.expected_pages == {"control": "old", "treatment": "new"}
    assert report.multi_arm_users == 1
    assert (report.duplicate_rows, report.users_with_duplicates) == (1, 1)
    # Defaults: drop mismatched rows, drop multi-arm users, keep the first of duplicates.
    assert sorted(cleaned["user_id"]) == ["u1", "u2", "u5", "u6"]
    assert cleaned.set_index("user_id").loc["u2", "converted"] == 1
    assert (report.rows_dropped_mismatch, report.rows_dropped_multi_arm, report.rows_dropped_duplicates) == (1, 2, 1)
    assert report.rows_out == report.users_out == 4
    text = " ".join(report.lines())
    assert "1 rows show another variant's page: those rows dropped, taking 1 users" in text
    # u4 (only a mismatched row) and u3 (two arms) are lost; dropped + kept add up to the users that came in
    assert "1 of them still were after the step above and were dropped (2 rows)" in text
    assert report.users_dropped == 2 and report.users_dropped + report.users_out == report.users_in
    assert "Dropped 2 of 6 users (4 rows); kept 4 users. Analysed: 4 users" in text


def test_first_exposure_and_keep_choices():
    cleaned, report = clean(_log(), HygieneChoices(mismatches="keep", multi_arm="first", duplicates="drop"))
    by_user = cleaned.set_index("user_id")
    assert by_user.loc["u3", "variant"] == "control"  # its earlier exposure
    assert by_user.loc["u4", "variant"] == "treatment"  # kept as assigned
    assert "u2" not in by_user.index  # duplicates dropped
    assert report.rows_dropped_mismatch == 0 and report.rows_dropped_multi_arm == 1
    assert cleaned["user_id"].is_unique


def test_expected_pages_can_be_given_and_bad_choices_are_named():
    _, report = clean(_log(), HygieneChoices(expected_pages={"control": "new", "treatment": "new"}))
    assert report.mismatched_rows == 6  # all five control rows now count as mismatches, and u4 (old page)
    with pytest.raises(ValueError, match="multi_arm='keep'"):
        HygieneChoices(multi_arm="keep")
    with pytest.raises(ValueError, match="'variant'"):
        clean(pd.DataFrame({"user_id": ["a"]}))


@pytest.mark.slow
def test_udacity_traps_are_found():
    frame, _ = read_log(shared_path("udacity_ab_test", "ab_data.csv.zip"))
    _, report = clean(frame)
    assert report.rows_in == 294_478 and report.users_in == 290_584
    assert report.mismatched_rows == 3_893  # control/new_page 1,928 + treatment/old_page 1,965 (SOURCE.md)
    assert report.multi_arm_users == 1_895
    assert report.rows_dropped_duplicates == 1  # user 773192, seen twice on the right page
    assert report.users_out == 290_584
    # The mismatch step removed every second-arm row, so no user was left in two arms and none was lost: the
    # summary must say so rather than "1,895 users dropped" next to all 290,584 analysed.
    assert report.multi_arm_users_left == 0 and report.users_dropped == 0
    text = " ".join(report.lines())
    assert "1,895 users were in more than one arm in the raw log; 0 of them still were" in text
    assert "Dropped 0 of 290,584 users (3,894 rows); kept 290,584 users." in text
    assert report.rows_in - report.rows_out == 3_894 and report.users_dropped + report.users_out == report.users_in
    # Keeping the mismatches instead leaves every user in at most one arm only after "first exposure".
    cleaned, kept = clean(frame, HygieneChoices(mismatches="keep", multi_arm="first"))
    assert kept.rows_dropped_mismatch == 0 and cleaned["user_id"].is_unique and len(cleaned) == 290_584
