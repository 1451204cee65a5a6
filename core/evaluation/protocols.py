"""Offline protocols: how purchase sequences are split into training data and held-out targets.

Both protocols hold out ONE next purchase per user and keep the user's earlier purchases as the history the
model sees at evaluation time, so every model (baseline or LM) is judged on "what does this customer buy next".
Validation is always carved out *before* the test target and is never part of `Split.train`, so tuning on
validation cannot leak the answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.interactions import InteractionData


@dataclass
class EvalSet:
    """Users to evaluate, the history each one shows the model (oldest first), and the held-out next item."""

    users: np.ndarray  # user indices into InteractionData
    histories: list[np.ndarray]  # item indices the model may see, oldest first
    targets: np.ndarray  # the held-out item index per user

    def __post_init__(self) -> None:
        self.users = np.asarray(self.users, dtype=np.int64)
        self.targets = np.asarray(self.targets, dtype=np.int64)
        if not (len(self.users) == len(self.histories) == len(self.targets)):
            raise ValueError(
                f"EvalSet needs one history and one target per user; got {len(self.users)} users, "
                f"{len(self.histories)} histories, {len(self.targets)} targets"
            )

    def __len__(self) -> int:
        return len(self.users)

    def subset(self, mask: np.ndarray) -> EvalSet:
        """The rows where `mask` is true (used for activity-bucket and cold-item breakdowns)."""
        mask = np.asarray(mask, dtype=bool)
        return EvalSet(self.users[mask], [h for h, m in zip(self.histories, mask) if m], self.targets[mask])


@dataclass
class Split:
    """A protocol's result: what models fit on, what tunes them (valid), what reports them (test)."""

    train: InteractionData
    valid: EvalSet
    test: EvalSet
    protocol: str  # "loo" | "temporal"
    # Train plus the validation period (LOO: seq[:-1]; temporal: everything before the cutoff). Tune on
    # `valid` with models fitted on `train`, then refit on this for the test figures, as S3-Rec-style
    # papers do; it never contains a test target.
    train_full: InteractionData | None = None

    def test_fit_data(self) -> InteractionData:
        """What a model is fitted on before it is scored on `test`."""
        return self.train_full if self.train_full is not None else self.train


def _empty_eval() -> tuple[list[int], list[np.ndarray], list[int]]:
    return [], [], []


def leave_one_out(data: InteractionData) -> Split:
    """Per user, in time order: last purchase = test, second to last = validation (S3-Rec / SASRec protocol).

    Users with at least 3 purchases: train on seq[:-2]; validation history seq[:-2] -> seq[-2];
    test history seq[:-1] -> seq[-1]; train_full = seq[:-1]. Users with fewer than 3 purchases are used for
    training only.
    """
    train_seqs: list[np.ndarray] = []
    full_seqs: list[np.ndarray] = []
    train_times: list[np.ndarray] | None = [] if data.times is not None else None
    full_times: list[np.ndarray] | None = [] if data.times is not None else None
    vu, vh, vt = _empty_eval()
    tu, th, tt = _empty_eval()
    for u, seq in enumerate(data.sequences):
        seq = np.asarray(seq, dtype=np.int64)
        times = data.times[u] if data.times is not None else None
        if len(seq) >= 3:
            train_seqs.append(seq[:-2])
            full_seqs.append(seq[:-1])
            if train_times is not None:
                train_times.append(np.asarray(times)[:-2])
                full_times.append(np.asarray(times)[:-1])
            vu.append(u)
            vh.append(seq[:-2])
            vt.append(int(seq[-2]))
            tu.append(u)
            th.append(seq[:-1])
            tt.append(int(seq[-1]))
        else:
            train_seqs.append(seq)
            full_seqs.append(seq)
            if train_times is not None:
                train_times.append(np.asarray(times))
                full_times.append(np.asarray(times))
    return Split(
        train=data.with_sequences(train_seqs, train_times),
        valid=EvalSet(np.asarray(vu, dtype=np.int64), vh, np.asarray(vt, dtype=np.int64)),
        test=EvalSet(np.asarray(tu, dtype=np.int64), th, np.asarray(tt, dtype=np.int64)),
        protocol="loo",
        train_full=data.with_sequences(full_seqs, full_times),
    )


def _quantile_cutoff(times: list[np.ndarray], fraction: float, where: str) -> int:
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"{where} must be between 0 and 1 (exclusive), got {fraction}")
    flat = np.concatenate([t for t in times if len(t)] or [np.zeros(0, dtype=np.int64)])
    if len(flat) == 0:
        raise ValueError("temporal_split: the data has no timestamped purchases")
    return int(np.quantile(flat, 1.0 - fraction, method="higher"))


def _first_after(
    sequences: list[np.ndarray], times: list[np.ndarray], start: int, end: int | None, min_history: int
) -> tuple[list[int], list[np.ndarray], list[int]]:
    """Per user: history = purchases before `start`, target = first purchase in [start, end)."""
    users, hists, targets = _empty_eval()
    for u, (seq, ts) in enumerate(zip(sequences, times)):
        if len(seq) == 0:
            continue
        before = ts < start
        window = ~before if end is None else (~before & (ts < end))
        if not window.any() or int(before.sum()) < min_history:
            continue
        users.append(u)
        hists.append(np.asarray(seq[before], dtype=np.int64))
        targets.append(int(seq[np.flatnonzero(window)[0]]))
    return users, hists, targets


def temporal_split(
    data: InteractionData,
    cutoff: int | None = None,
    valid_fraction: float = 0.1,
    test_fraction: float = 0.1,
    min_history: int = 1,
) -> Split:
    """Global time split: test on each user's first purchase at/after `cutoff` (Unix seconds).

    `cutoff` defaults to the time before which (1 - test_fraction) of all purchases happened. Validation is
    the same split one step earlier: `valid_cutoff` is where the last `valid_fraction` of the pre-cutoff
    purchases begins, and validation targets are each user's first purchase in [valid_cutoff, cutoff).
    `Split.train` holds only purchases before `valid_cutoff` (like leave-one-out, it never contains a
    validation target); `train_full` and the test histories hold every purchase before `cutoff`. Users need
    `min_history` purchases before a cut to be evaluated (0 includes cold users with an empty history).
    """
    if data.times is None or all(len(t) == 0 for t in data.times):
        raise ValueError(f"temporal_split needs purchase timestamps; data set {data.name!r} has only the order")
    times = [np.asarray(t, dtype=np.int64) for t in data.times]
    seqs = [np.asarray(s, dtype=np.int64) for s in data.sequences]
    if cutoff is None:
        cutoff = _quantile_cutoff(times, test_fraction, "test_fraction")
    cutoff = int(cutoff)
    pre_times = [t[t < cutoff] for t in times]
    if not any(len(t) for t in pre_times):
        raise ValueError(f"temporal_split: no purchases before the cutoff {cutoff}")
    valid_cutoff = _quantile_cutoff(pre_times, valid_fraction, "valid_fraction")

    tu, th, tt = _first_after(seqs, times, cutoff, None, min_history)
    vu, vh, vt = _first_after(seqs, times, valid_cutoff, cutoff, min_history)
    if not tu:
        raise ValueError(
            f"temporal_split: no user has a purchase after the cutoff {cutoff} and at least {min_history} before it"
        )
    keep = [t < valid_cutoff for t in times]
    train = data.with_sequences([s[k] for s, k in zip(seqs, keep)], [t[k] for t, k in zip(times, keep)])
    pre = [t < cutoff for t in times]
    train_full = data.with_sequences([s[k] for s, k in zip(seqs, pre)], [t[k] for t, k in zip(times, pre)])
    return Split(
        train=train,
        valid=EvalSet(np.asarray(vu, dtype=np.int64), vh, np.asarray(vt, dtype=np.int64)),
        test=EvalSet(np.asarray(tu, dtype=np.int64), th, np.asarray(tt, dtype=np.int64)),
        protocol="temporal",
        train_full=train_full,
    )


def thin_training(split: Split, share: float, seed: int = 0) -> Split:
    """`split` with only a random `share` of the customers training (and validating) the models; every test user
    and test history is kept. A sparser shop, where each item has fewer purchases to learn from: what item text
    buys depends on that (Online Retail's items, ~270 purchases each, leave text nothing to add)."""
    if not 0.0 < share <= 1.0:
        raise ValueError(f"thin_training: share must be in (0, 1], got {share}")
    if share == 1.0:
        return split
    keep = np.random.default_rng(seed).random(split.train.n_users) < share

    def thin(data: InteractionData) -> InteractionData:
        empty = np.zeros(0, dtype=np.int64)
        seqs = [s if k else empty for s, k in zip(data.sequences, keep)]
        times = None if data.times is None else [t if k else np.asarray(t)[:0] for t, k in zip(data.times, keep)]
        return data.with_sequences(seqs, times)

    valid = split.valid.subset(keep[split.valid.users])
    if not len(valid):
        raise ValueError(f"thin_training: no validation user among the {int(keep.sum())} customers kept ({share:.0%})")
    return Split(train=thin(split.train), valid=valid, test=split.test, protocol=f"{split.protocol}, {share:.0%} train",
                 train_full=None if split.train_full is None else thin(split.train_full))


PROTOCOLS = {"loo": leave_one_out, "temporal": temporal_split}


def make_split(data: InteractionData, protocol: str, **kwargs) -> Split:
    """Split by protocol name ("loo" | "temporal" | "new-items", the simulated new-item split of core.evaluation.cold)."""
    if protocol == "new-items":
        from core.evaluation.cold import new_item_split

        return new_item_split(data, **kwargs)
    if protocol not in PROTOCOLS:
        raise ValueError(f"Unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}")
    return PROTOCOLS[protocol](data, **kwargs)
