"""Fit the conflict scorer's logistic weights on the shared data; write data/conflict/model.json.

Deterministic: features come from ``bot.conflict.cli.record_features`` (the
CLI's own path), the fit is full-batch Newton on L2-regularised, weighted
logistic loss with numpy (no scikit-learn). Only the TRAIN split of each set
is used (splits: benchmarks/conflict_eval.py). Each set weighs the same in
the loss (except MLMA, counted three times: SET_WEIGHTS, MLMA_WEIGHT) and gets
its own intercept while fitting, so base rates (83 %
offensive in Davidson, 13 % abusive in ConvAbuse) do not leak into the
feature weights; the shipped bias is ConvAbuse's intercept (chat-like base
rate). Features that the data cannot identify (every ConvAbuse turn is a
reply, only French sets are French, no set has other members' earlier
hostility or swearing habits) get fixed, documented prior weights.

The default threshold is the one that maximises mean F1 on the Davidson and
ConvAbuse TRAIN splits with precision >= MIN_PRECISION and recall >=
MIN_RECALL on both (margins above the 0.75 / 0.5 targets).

``--loso`` is the generalisation check: for each set, fit on the other sets'
train splits and report the left-out set's held-out AUROC, without and with
an experimental word-unigram feature (strong-L2 logistic over words, stacked
as one out-of-fold column; script only, the shipped model has none because
it lost this check). Environment knobs for experiments: BOW_L2 (150),
BOW_LEX=1 (unigrams limited to lexicon words), BOW_CHECK=0 (skip the
unigram half), FR_DELTA=1 / FR_L2 (separate French weights; lost too).

    python scripts/fit_conflict.py          # fit and write the model
    python scripts/fit_conflict.py --loso   # leave-one-set-out AUROC (writes nothing)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
for extra in (ROOT, ROOT / "benchmarks"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from conflict_eval import DEFAULT_DATA, Example, auroc, load_examples, prf  # noqa: E402

from bot.conflict.cli import record_features  # noqa: E402
from bot.conflict.scoring import _BITS, DATA_DIR, FEATURE_NAMES, _default_lexicon  # noqa: E402

L2 = 2.0
FR_DELTA = os.environ.get("FR_DELTA", "0") == "1"
FR_L2 = float(os.environ.get("FR_L2", "20"))
# Experimental bag-of-words column (script only, see --loso): appended after
# the shipped features; the shipped model does not use it.
NAMES = (*FEATURE_NAMES, "bow")
BOW = len(FEATURE_NAMES)
BOW_CLIP = 4.0
LEXICON_ONLY_BOW = os.environ.get("BOW_LEX", "0") == "1"
BOW_CHECK = os.environ.get("BOW_CHECK", "1") == "1"
_LEXICON_BITS = sum(
    _BITS[c] for c in ("insult", "profanity", "slur", "threat", "dehum", "sexual", "hate", "identity")
)
TOKEN_RE = re.compile(r"[^\W_](?:[^\W_]|[*'\-](?=[^\W_]))*")
BOW_L2 = float(os.environ.get("BOW_L2", "150"))
BOW_MIN_DF = 3
BOW_MIN_WEIGHT = 0.01
BOW_FOLDS = 5
# Priors for features the shared sets cannot identify (see module docstring).
FIXED_WEIGHTS = {
    "is_fr": 0.0,
    "ctx_reply": 0.3,
    "ctx_other_prev": 0.8,
    "ctx_swear_habit": -1.5,
}
# Features whose weight must not go below zero (a hostile cue never lowers
# the score): projected after each Newton step.
NON_NEGATIVE = {
    "neg_sent",
    "insult",
    "slur",
    "threat",
    "dehum",
    "command",
    "direct_insult",
    "targeted_x_neg",
    "identity_x_hate",
    "identity_x_neg",
    "threat_x_target",
    "ctx_self_prev",
    "caps",
    "exclaim",
    "group_generic",
    "bow",
}
# Features that only ever lower the score (negation, quotation, friendly cues).
NON_POSITIVE = {"negated", "quoted", "reported", "prof_x_pos", "prof_x_laugh", "laugh", "self_directed"}
# A bare mention of a group ("women", "immigrés") must never be enough to
# flag: the sets oversample identity words in hateful cases, so the fitted
# weight would otherwise make any identity mention border on the threshold.
# The same for a generalisation ("les immigrés sont arrivés hier"): identity
# plus group_generic stays under the threshold.
UPPER_BOUNDS = {"identity": 0.8, "group_generic": 0.3}
# Relative weight of each set in the loss (default 1: every set weighs the
# same whatever its size). MLMA is the only natural French set (HateCheck fr
# is template sentences): counted three times. Twice made natural French text
# weigh as much as natural English text (Davidson + ConvAbuse); three times
# transfers better again to the unseen natural English sets
# (leave-one-set-out: Davidson 0.867 -> 0.881, ConvAbuse 0.893 -> 0.901).
SET_WEIGHTS = {"mlma_fr": float(os.environ.get("MLMA_WEIGHT", "3"))}
ANCHOR_SET = "convabuse"
# Projected Newton with an active set (see fit); ACTIVE_SET=0 restores the
# old "Newton step, then clip", whose fixed point is not the constrained optimum.
ACTIVE_SET = os.environ.get("ACTIVE_SET", "1") == "1"
THRESHOLD_SETS = ("davidson", "convabuse")
MIN_PRECISION = 0.775
MIN_RECALL = 0.55


def featurize(examples: list[Example]) -> np.ndarray:
    """Return the feature matrix of examples through the CLI's code path (bow column zeroed)."""
    x = np.array([record_features(e.record)[1].vector for e in examples], dtype=float)
    return np.hstack([x, np.zeros((len(examples), 1))])


def last_tokens(examples: list[Example]) -> list[list[str]]:
    """Return the bag-of-words tokens of each example's last (scored) message."""
    out = []
    for e in examples:
        messages = e.record["messages"]
        assert isinstance(messages, list)
        toks = TOKEN_RE.findall(str(messages[-1]["text"]).lower())
        if LEXICON_ONLY_BOW:
            lex = _default_lexicon(str(e.record["lang"]))
            toks = [t for t in toks if lex.lookup(t) & _LEXICON_BITS]
        out.append(toks)
    return out


def _lbfgs(
    fun: Callable[[np.ndarray], tuple[float, np.ndarray]], x0: np.ndarray, iters: int = 120, m: int = 10
) -> np.ndarray:
    """Minimise a smooth convex function with L-BFGS and backtracking (numpy only)."""
    x = x0.copy()
    f, g = fun(x)
    s_hist: list[np.ndarray] = []
    y_hist: list[np.ndarray] = []
    for _ in range(iters):
        q = g.copy()
        alphas = []
        for s_i, y_i in zip(reversed(s_hist), reversed(y_hist), strict=True):
            a = s_i @ q / (y_i @ s_i)
            alphas.append(a)
            q -= a * y_i
        if s_hist:
            q *= (s_hist[-1] @ y_hist[-1]) / (y_hist[-1] @ y_hist[-1])
        for (s_i, y_i), a in zip(zip(s_hist, y_hist, strict=True), reversed(alphas), strict=True):
            b = y_i @ q / (y_i @ s_i)
            q += (a - b) * s_i
        direction = -q
        step = 1.0
        while True:
            x_new = x + step * direction
            f_new, g_new = fun(x_new)
            if f_new <= f + 1e-4 * step * (g @ direction) or step < 1e-10:
                break
            step *= 0.5
        s_k, y_k = x_new - x, g_new - g
        x, f, g = x_new, f_new, g_new
        if y_k @ s_k > 1e-12:
            s_hist.append(s_k)
            y_hist.append(y_k)
            if len(s_hist) > m:
                s_hist.pop(0)
                y_hist.pop(0)
        if np.max(np.abs(g)) < 1e-6:
            break
    return x


def fit_bow(
    tokens: list[list[str]], y: np.ndarray, groups: np.ndarray, n_groups: int, l2: float = BOW_L2
) -> dict[str, float]:
    """Fit word weights (strong L2, per-set intercepts, sets weighted equally); return {word: weight}."""
    doc_freq: Counter[str] = Counter()
    for toks in tokens:
        doc_freq.update(set(toks))
    vocab = sorted(w for w, c in doc_freq.items() if c >= BOW_MIN_DF)
    index = {w: i for i, w in enumerate(vocab)}
    rows = []
    cols = []
    for r, toks in enumerate(tokens):
        for t in toks:
            j = index.get(t)
            if j is not None:
                rows.append(r)
                cols.append(j)
    row = np.array(rows, dtype=np.int64)
    col = np.array(cols, dtype=np.int64)
    n, v = len(y), len(vocab)
    counts = np.bincount(groups, minlength=n_groups).astype(float)
    sample_w = (n / n_groups) / counts[groups]

    def fun(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[:v], theta[v:]
        z = np.bincount(row, weights=w[col], minlength=n) + b[groups]
        p = 1.0 / (1.0 + np.exp(-z))
        loss = np.sum(sample_w * (np.logaddexp(0.0, z) - y * z)) + 0.5 * l2 * (w @ w)
        r = sample_w * (p - y)
        grad_w = np.bincount(col, weights=r[row], minlength=v) + l2 * w
        grad_b = np.bincount(groups, weights=r, minlength=n_groups)
        return float(loss), np.concatenate([grad_w, grad_b])

    theta = _lbfgs(fun, np.zeros(v + n_groups))
    return {w: float(theta[i]) for i, w in enumerate(vocab) if abs(theta[i]) >= BOW_MIN_WEIGHT}


def bow_column(tokens: list[list[str]], weights: dict[str, float]) -> np.ndarray:
    """Return the bow feature (clipped sum of word weights) of each token list."""
    out = np.array([sum(weights.get(t, 0.0) for t in toks) for toks in tokens])
    return np.clip(out, -BOW_CLIP, BOW_CLIP)


def out_of_fold_bow(
    examples: list[Example], tokens: list[list[str]], y: np.ndarray, groups: np.ndarray, n_groups: int
) -> np.ndarray:
    """Return the bow feature of each training example from a fit that did not see it (5 folds)."""
    fold = np.array([zlib.crc32(str(e.record["id"]).encode()) % BOW_FOLDS for e in examples])
    out = np.zeros(len(examples))
    for k in range(BOW_FOLDS):
        inside = np.flatnonzero(fold != k)
        weights = fit_bow([tokens[i] for i in inside], y[inside], groups[inside], n_groups)
        held = np.flatnonzero(fold == k)
        out[held] = bow_column([tokens[i] for i in held], weights)
    return out


def fit(
    x: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    n_groups: int,
    fr_delta: bool = FR_DELTA,
    group_weights: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (feature weights, French weights, per-group intercepts) with fixed priors applied.

    French weights = shared weights + a French offset under a stronger L2
    (FR_L2), so French only departs from English where the French sets insist.
    Sign constraints hold for both languages.
    """
    fixed = np.array([FIXED_WEIGHTS.get(n, np.nan) for n in NAMES])
    free = np.isnan(fixed)
    fixed_part = np.where(free, 0.0, fixed)
    offset = x @ fixed_part
    xf = x[:, free]
    free_names = [n for n, f in zip(NAMES, free, strict=True) if f]
    lower = np.array([0.0 if n in NON_NEGATIVE else -np.inf for n in free_names])
    upper = np.array([UPPER_BOUNDS.get(n, 0.0 if n in NON_POSITIVE else np.inf) for n in free_names])
    is_fr = x[:, NAMES.index("is_fr")][:, None]
    onehot = np.zeros((len(y), n_groups))
    onehot[np.arange(len(y)), groups] = 1.0
    d = xf.shape[1]
    blocks = [xf, xf * is_fr] if fr_delta else [xf]
    design = np.hstack([*blocks, onehot])
    # Each set weighs the same in total, whatever its size (times its SET_WEIGHTS).
    counts = np.bincount(groups, minlength=n_groups).astype(float)
    sample_w = (len(y) / n_groups) / counts[groups]
    if group_weights is not None:
        sample_w = sample_w * group_weights[groups]
    pen = [np.full(d, L2)] + ([np.full(d, FR_L2)] if fr_delta else [])
    penalty = np.concatenate([*pen, np.full(n_groups, 1e-6)])
    theta = np.zeros(design.shape[1])
    for _ in range(100):
        z = design @ theta + offset
        p = 1.0 / (1.0 + np.exp(-z))
        grad = design.T @ (sample_w * (p - y)) + penalty * theta
        hess = (design * (sample_w * p * (1 - p))[:, None]).T @ design + np.diag(penalty)
        if ACTIVE_SET and not fr_delta:
            # Projected Newton: a weight held at its bound whose gradient
            # pushes it further out stays there and leaves the Newton
            # system, so the free weights reach the constrained optimum
            # instead of a fixed point of "step, then clip".
            bounds = np.concatenate([lower, np.full(n_groups, -np.inf)])
            tops = np.concatenate([upper, np.full(n_groups, np.inf)])
            held = ((theta <= bounds) & (grad > 0)) | ((theta >= tops) & (grad < 0))
            free_idx = np.flatnonzero(~held)
            step = np.zeros_like(theta)
            step[free_idx] = np.linalg.solve(hess[np.ix_(free_idx, free_idx)], grad[free_idx])
        else:
            step = np.linalg.solve(hess, grad)
        theta = theta - step
        theta[:d] = np.clip(theta[:d], lower, upper)
        if fr_delta:
            theta[d : 2 * d] = np.clip(theta[d : 2 * d], lower - theta[:d], upper - theta[:d])
        if np.max(np.abs(step)) < 1e-8:
            break
    weights = fixed.copy()
    weights[free] = theta[:d]
    weights_fr = weights.copy()
    if fr_delta:
        weights_fr[free] += theta[d : 2 * d]
    return weights, weights_fr, theta[len(blocks) * d :]


def scores_of(
    x: np.ndarray, weights: np.ndarray, bias: float, weights_fr: np.ndarray | None = None
) -> np.ndarray:
    """Return sigmoid(bias + x·w), French rows with weights_fr when given."""
    z = x @ weights
    if weights_fr is not None:
        fr = x[:, NAMES.index("is_fr")] > 0
        z[fr] = x[fr] @ weights_fr
    return 1.0 / (1.0 + np.exp(-(z + bias)))


def choose_threshold(scores: dict[str, np.ndarray], labels: dict[str, np.ndarray]) -> float:
    """Return the threshold with best mean F1 on THRESHOLD_SETS within the P/R margins.

    Margins: precision >= MIN_PRECISION and recall >= MIN_RECALL on every set
    (above the 0.75 / 0.5 targets, so the held-out figures keep some room);
    if no threshold meets both, recall is dropped from the constraint.
    """
    for min_recall in (MIN_RECALL, 0.0):
        best, best_t = -1.0, -1.0
        for t in np.round(np.arange(0.05, 0.96, 0.01), 2):
            figures = [prf(list(scores[s] >= t), list(labels[s])) for s in THRESHOLD_SETS]
            if min(f["precision"] for f in figures) < MIN_PRECISION:
                continue
            if min(f["recall"] for f in figures) < min_recall:
                continue
            mean_f1 = sum(f["f1"] for f in figures) / len(figures)
            if mean_f1 > best:
                best, best_t = mean_f1, float(t)
        if best_t > 0:
            return best_t
    return 0.5


@dataclass
class Fitted:
    """A fitted scorer: dense weights, per-set intercepts, word weights, training design."""

    names: list[str]
    weights: np.ndarray
    weights_fr: np.ndarray
    intercepts: np.ndarray
    bow: dict[str, float]
    x: np.ndarray
    y: np.ndarray
    groups: np.ndarray


def fit_sets(examples: list[Example], x_all: np.ndarray, tokens: list[list[str]], use_bow: bool) -> Fitted:
    """Fit on the given (training) examples; x_all/tokens are their features and bow tokens."""
    names = sorted({e.dataset for e in examples})
    group_of = {name: i for i, name in enumerate(names)}
    y = np.array([e.label for e in examples], dtype=float)
    groups = np.array([group_of[e.dataset] for e in examples])
    x = x_all.copy()
    bow: dict[str, float] = {}
    if use_bow:
        x[:, BOW] = out_of_fold_bow(examples, tokens, y, groups, len(names))
        bow = fit_bow(tokens, y, groups, len(names))
    group_weights = np.array([SET_WEIGHTS.get(name, 1.0) for name in names])
    weights, weights_fr, intercepts = fit(x, y, groups, len(names), group_weights=group_weights)
    return Fitted(names, weights, weights_fr, intercepts, bow, x, y, groups)


def apply(fitted: Fitted, x: np.ndarray, tokens: list[list[str]], bias: float) -> np.ndarray:
    """Score unseen examples with a fitted scorer."""
    x = x.copy()
    x[:, BOW] = bow_column(tokens, fitted.bow) if fitted.bow else 0.0
    return scores_of(x, fitted.weights, bias, fitted.weights_fr)


def leave_one_set_out(examples: list[Example], x: np.ndarray, tokens: list[list[str]]) -> dict[str, object]:
    """For each set: fit on the other sets' train splits, AUROC on its held-out split."""
    sets = sorted({e.dataset for e in examples})
    table: dict[str, object] = {}
    for left in sets:
        train = [i for i, e in enumerate(examples) if e.split == "train" and e.dataset != left]
        held = [i for i, e in enumerate(examples) if e.split == "test" and e.dataset == left]
        labels = [examples[i].label for i in held]
        row = {}
        for use_bow in (False, True) if BOW_CHECK else (False,):
            fitted = fit_sets([examples[i] for i in train], x[train], [tokens[i] for i in train], use_bow)
            s = apply(fitted, x[held], [tokens[i] for i in held], 0.0)
            row["bow" if use_bow else "no_bow"] = round(auroc(list(s), labels), 4)
        with_bow = f"  with bow {row['bow']:.4f}" if "bow" in row else ""
        print(f"leave-out {left:14} AUROC without bow {row['no_bow']:.4f}{with_bow}", flush=True)
        table[left] = row
    return table


def main(argv: list[str] | None = None) -> int:
    """Fit on the train splits and write the model (or run the leave-one-set-out check)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=DATA_DIR / "model.json")
    parser.add_argument(
        "--loso", action="store_true", help="leave-one-set-out AUROC, with and without bow (writes nothing)"
    )
    args = parser.parse_args(argv)

    examples = load_examples(args.data)
    if args.loso:
        x_all = featurize(examples)
        leave_one_set_out(examples, x_all, last_tokens(examples))
        return 0
    sets = sorted({e.dataset for e in examples})
    train = [e for e in examples if e.split == "train"]
    fitted = fit_sets(train, featurize(train), last_tokens(train), use_bow=False)
    names, weights, intercepts = fitted.names, fitted.weights, fitted.intercepts
    x, y, groups = fitted.x, fitted.y, fitted.groups
    group_of = {name: i for i, name in enumerate(names)}
    for name, b in zip(names, intercepts, strict=True):
        print(f"intercept {name:14} {b:+.3f}")
    for name, w in zip(NAMES, weights, strict=True):
        print(f"weight {name:16} {w:+.3f}")

    bias = float(intercepts[group_of[ANCHOR_SET]])
    by_set_scores: dict[str, np.ndarray] = {}
    by_set_labels: dict[str, np.ndarray] = {}
    for name in THRESHOLD_SETS:
        mask = groups == group_of[name]
        by_set_scores[name] = scores_of(x[mask], weights, bias, fitted.weights_fr)
        by_set_labels[name] = y[mask].astype(int)
    threshold = choose_threshold(by_set_scores, by_set_labels)
    print(f"bias {bias:+.3f} threshold {threshold}")
    for name in THRESHOLD_SETS:
        f = prf(list(by_set_scores[name] >= threshold), list(by_set_labels[name]))
        print(f"train {name}: P {f['precision']:.3f} R {f['recall']:.3f} F1 {f['f1']:.3f}")
    train_auroc: dict[str, float] = {}
    for name in names:
        mask = groups == group_of[name]
        train_auroc[name] = round(
            auroc(list(scores_of(x[mask], weights, bias, fitted.weights_fr)), [int(v) for v in y[mask]]), 4
        )
    print("train AUROC (out-of-fold bow)", train_auroc)

    model = {
        "version": 2,
        "description": "Hearth conflict scorer: logistic weights over bot.conflict.scoring.FEATURE_NAMES",
        "fitted_by": "scripts/fit_conflict.py",
        "fitted_on": dict.fromkeys(names, "train split"),
        "available_sets": sets,
        "l2": L2,
        "set_weights": {name: SET_WEIGHTS.get(name, 1.0) for name in names},
        "fixed_weights": FIXED_WEIGHTS,
        "bias": round(bias, 6),
        "threshold": threshold,
        "weights": {n: round(float(w), 6) for n, w in zip(FEATURE_NAMES, weights[:BOW], strict=True)},
        "fr_l2": FR_L2 if FR_DELTA else None,
        "weights_fr": (
            {n: round(float(w), 6) for n, w in zip(FEATURE_NAMES, fitted.weights_fr[:BOW], strict=True)}
            if FR_DELTA
            else None
        ),
    }
    args.out.write_text(json.dumps(model, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
