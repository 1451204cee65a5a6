"""Data hygiene of an exposure log: what would bias the comparison, counted and handled as the marketer chooses.

Three problems are looked for, in this order (each on what the previous step left):
1. variant/page mismatches: rows whose shown page is not the page of their variant (the variant's most frequent
   page unless `expected_pages` says otherwise). Choice: drop those rows, or keep them as assigned.
2. users exposed to more than one arm. Choice: drop those users, or keep each one's first exposure.
3. duplicate exposures of a user in the same arm. Choice: keep the first exposure, or drop those users.
"First" means earliest timestamp (file order breaks ties, or decides alone when there is no timestamp).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

import pandas as pd

from core.i18n import Message

MismatchChoice = Literal["drop", "keep"]
MultiArmChoice = Literal["drop", "first"]
DuplicateChoice = Literal["first", "drop"]


@dataclass(frozen=True)
class HygieneChoices:
    mismatches: MismatchChoice = "drop"
    multi_arm: MultiArmChoice = "drop"
    duplicates: DuplicateChoice = "first"
    # variant -> the page that variant should show; None: each variant's most frequent page.
    expected_pages: dict[str, str] | None = None

    def __post_init__(self) -> None:
        for name, allowed in (("mismatches", ("drop", "keep")), ("multi_arm", ("drop", "first")),
                              ("duplicates", ("first", "drop"))):
            if getattr(self, name) not in allowed:
                raise ValueError(f"hygiene choice {name}={getattr(self, name)!r}; choose one of {allowed}")


@dataclass
class HygieneReport:
    """Counts found in the raw log (before any handling) and what the choices removed."""

    rows_in: int
    users_in: int
    mismatched_rows: int
    multi_arm_users: int
    duplicate_rows: int  # rows beyond a user's first, in the raw log
    users_with_duplicates: int
    rows_dropped_mismatch: int
    rows_dropped_multi_arm: int
    rows_dropped_duplicates: int
    rows_out: int
    users_out: int
    # users who lost every exposure at each step (a dropped row whose user has another row loses no user)
    users_dropped_mismatch: int = 0
    users_dropped_multi_arm: int = 0
    users_dropped_duplicates: int = 0
    multi_arm_users_left: int = 0  # users still in more than one arm when step 2 ran (after step 1)
    has_page: bool = False  # the log says which page was shown, so mismatches could be looked for
    choices: dict = field(default_factory=dict)
    expected_pages: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def users_dropped(self) -> int:
        return self.users_dropped_mismatch + self.users_dropped_multi_arm + self.users_dropped_duplicates

    def lines(self) -> list[str]:
        """Plain-language summary for the page and the CLI: per step what was found, what was dropped (rows and
        whole users) and, last, what was kept; the dropped and kept counts add up to what came in."""
        out = [Message("{rows:,} exposure rows from {users:,} users.", rows=self.rows_in, users=self.users_in)]
        if self.has_page:
            if self.choices.get("mismatches") == "drop":
                out.append(Message("{rows:,} rows show another variant's page: those rows dropped, taking "
                                   "{lost:,} users with them (the others still have a row on their own page).",
                                   rows=self.mismatched_rows, lost=self.users_dropped_mismatch))
            else:
                out.append(Message("{rows:,} rows show another variant's page: kept as assigned.",
                                   rows=self.mismatched_rows))
        if self.choices.get("multi_arm") == "drop":
            out.append(Message("{users:,} users were in more than one arm in the raw log; {left:,} of them still were "
                               "after the step above and were dropped ({rows:,} rows).", users=self.multi_arm_users,
                               left=self.multi_arm_users_left, rows=self.rows_dropped_multi_arm))
        else:
            out.append(Message("{users:,} users were in more than one arm in the raw log; {left:,} of them still were "
                               "after the step above and keep their first exposure ({rows:,} later rows dropped).",
                               users=self.multi_arm_users, left=self.multi_arm_users_left,
                               rows=self.rows_dropped_multi_arm))
        if self.choices.get("duplicates") == "first":
            out.append(Message("{rows:,} repeated exposure rows from {users:,} users in the raw log: each keeps its "
                               "first exposure ({dropped:,} rows dropped, no user lost).", rows=self.duplicate_rows,
                               users=self.users_with_duplicates, dropped=self.rows_dropped_duplicates))
        else:
            out.append(Message("{rows:,} repeated exposure rows from {users:,} users in the raw log: {lost:,} users "
                               "still repeated were dropped ({dropped:,} rows).", rows=self.duplicate_rows,
                               users=self.users_with_duplicates, lost=self.users_dropped_duplicates,
                               dropped=self.rows_dropped_duplicates))
        out.append(Message("Dropped {lost:,} of {users:,} users ({rows_lost:,} rows); kept {kept:,} users. Analysed: "
                           "{kept:,} users, one exposure each.", lost=self.users_dropped, users=self.users_in,
                           rows_lost=self.rows_in - self.rows_out, kept=self.users_out))
        return out


def _order(df: pd.DataFrame) -> pd.DataFrame:
    """Earliest first; file order breaks ties (stable sort)."""
    if "timestamp" in df and df["timestamp"].notna().any():
        return df.sort_values("timestamp", kind="mergesort", na_position="last")
    return df


def _multi_arm_users(df: pd.DataFrame) -> pd.Index:
    n_arms = df.groupby("user_id", sort=False)["variant"].nunique()
    return n_arms.index[n_arms > 1]


def clean(df: pd.DataFrame, choices: HygieneChoices | None = None) -> tuple[pd.DataFrame, HygieneReport]:
    """One row per user, in one arm; returns the cleaned frame (file order kept) and the report."""
    choices = choices or HygieneChoices()
    for col in ("user_id", "variant"):
        if col not in df:
            raise ValueError(f"exposure log has no {col!r} column (columns: {', '.join(map(str, df.columns))})")
    rows_in, users_in = len(df), int(df["user_id"].nunique())
    work = df.reset_index(drop=True)

    # 1. variant/page mismatches
    expected: dict[str, str] = {}
    mismatch = pd.Series(False, index=work.index)
    has_page = "page" in work and work["page"].notna().any()
    if has_page:
        if choices.expected_pages:
            expected = {str(k): str(v) for k, v in choices.expected_pages.items()}
        else:
            modes = work.dropna(subset=["page"]).groupby("variant")["page"].agg(lambda s: s.value_counts().index[0])
            expected = {str(k): str(v) for k, v in modes.items()}
        want = work["variant"].map(expected)
        mismatch = work["page"].notna() & want.notna() & (work["page"].astype(str) != want)
    n_mismatch = int(mismatch.sum())

    # Raw counts, before any handling, for the report.
    multi_raw = _multi_arm_users(work)
    per_user_arm = work.groupby(["user_id", "variant"], sort=False).size()
    dup_raw = int((per_user_arm - 1).clip(lower=0).sum())
    users_dup_raw = int(per_user_arm[per_user_arm > 1].index.get_level_values(0).nunique())

    def n_users() -> int:
        return int(work["user_id"].nunique())

    dropped_mismatch = 0
    users0 = n_users()
    if choices.mismatches == "drop" and n_mismatch:
        work = work[~mismatch]
        dropped_mismatch = n_mismatch
    users1 = n_users()

    # 2. users in more than one arm
    before = len(work)
    multi = _multi_arm_users(work)
    if len(multi):
        in_multi = work["user_id"].isin(multi)
        if choices.multi_arm == "drop":
            work = work[~in_multi]
        else:
            first_variant = _order(work[in_multi]).drop_duplicates("user_id")[["user_id", "variant"]]
            keep = work[in_multi].reset_index().merge(first_variant, on=["user_id", "variant"])["index"]
            work = work[~in_multi | work.index.isin(keep)]
    dropped_multi = before - len(work)
    users2 = n_users()

    # 3. duplicate exposures within one arm
    before = len(work)
    if choices.duplicates == "first":
        first_rows = _order(work).drop_duplicates("user_id").index
        work = work[work.index.isin(first_rows)]
    else:
        counts = work["user_id"].value_counts()
        work = work[~work["user_id"].isin(counts.index[counts > 1])]
    dropped_dup = before - len(work)
    users3 = n_users()

    report = HygieneReport(
        rows_in=rows_in,
        users_in=users_in,
        mismatched_rows=n_mismatch,
        multi_arm_users=len(multi_raw),
        duplicate_rows=dup_raw,
        users_with_duplicates=users_dup_raw,
        rows_dropped_mismatch=dropped_mismatch,
        rows_dropped_multi_arm=dropped_multi,
        rows_dropped_duplicates=dropped_dup,
        rows_out=len(work),
        users_out=users3,
        users_dropped_mismatch=users0 - users1,
        users_dropped_multi_arm=users1 - users2,
        users_dropped_duplicates=users2 - users3,
        multi_arm_users_left=len(multi),
        has_page=bool(has_page),
        choices={"mismatches": choices.mismatches, "multi_arm": choices.multi_arm, "duplicates": choices.duplicates},
        expected_pages=expected,
    )
    return work.reset_index(drop=True), report
