"""The two scikit-learn-compatible estimators behind a risk score.

PriorRiskModel: hand-set logistic weights on a few attendance signals, for an organisation with no
history of its own. Additive by construction: each signal's contribution is weight × (value − typical).

GBMRiskModel: LightGBM with shallow trees (exact per-prediction contributions, `pred_contrib`, stay cheap:
see shared/NOTES.md), deterministic, then calibrated: out-of-fold margins (unshuffled K folds, so the
same data gives the same model) fit a sigmoid or isotonic map from margin to probability, and the final
booster is trained on all rows. Contributions are in log-odds of the uncalibrated margin; the calibrator
is monotone, so their order and sign are what the explanation needs.
"""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold

# (feature, weight per unit, typical value, value used when the signal is missing)
PRIOR_WEIGHTS: list[tuple[str, float, float, float]] = [
    ("att_rate_4w", -3.0, 0.85, 0.85),
    ("att_drop", 2.0, 0.0, 0.0),
    ("absent_run", 0.45, 0.0, 0.0),
    ("days_since_attended", 0.05, 7.0, 7.0),
    ("first_two_months", 0.5, 0.0, 0.0),
    ("peers_left_30d", 0.35, 0.0, 0.0),
    ("siblings_left_60d", 0.6, 0.0, 0.0),
    ("group_trend", -1.5, 0.0, 0.0),
    ("age_outside_range", 0.3, 0.0, 0.0),
    # Signals of other apps: missing (NaN) counts as "nothing wrong".
    ("hw_missed_28d", 0.3, 0.0, 0.0),
    ("renewal_missed", 1.2, 0.0, 0.0),
    ("frozen_now", 0.4, 0.0, 0.0),
    ("feedback_low_90d", 0.5, 0.0, 0.0),
    ("xp_streak_broken", 0.3, 0.0, 0.0),
    ("shop_quiet", 0.2, 0.0, 0.0),
]
PRIOR_INTERCEPT = -3.0


def _as_array(X) -> np.ndarray:
    return np.asarray(X.to_numpy() if hasattr(X, "to_numpy") else X, dtype=float)


class PriorRiskModel(ClassifierMixin, BaseEstimator):
    """Transparent starting model; `fit` learns nothing but the column layout."""

    def __init__(self, feature_names=None, intercept=PRIOR_INTERCEPT):
        self.feature_names = feature_names
        self.intercept = intercept

    def fit(self, X, y=None):
        names = list(self.feature_names if self.feature_names is not None else X.columns)
        self.classes_ = np.array([0, 1])
        self.feature_names_in_ = np.array(names, dtype=object)
        index = {name: i for i, name in enumerate(names)}
        self.terms_ = [
            (index[f], w, typical, missing) for f, w, typical, missing in PRIOR_WEIGHTS if f in index
        ]
        return self

    def contributions(self, X) -> np.ndarray:
        """(n, n_features + 1): each signal's log-odds contribution, the intercept last."""
        values = _as_array(X)
        out = np.zeros((len(values), len(self.feature_names_in_) + 1))
        for col, weight, typical, missing in self.terms_:
            column = np.where(np.isnan(values[:, col]), missing, values[:, col])
            out[:, col] = weight * (column - typical)
        out[:, -1] = self.intercept
        return out

    def predict_proba(self, X) -> np.ndarray:
        margin = self.contributions(X).sum(axis=1)
        p = 1.0 / (1.0 + np.exp(-margin))
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


class GBMRiskModel(ClassifierMixin, BaseEstimator):
    def __init__(
        self,
        n_estimators=150,
        learning_rate=0.05,
        max_depth=3,
        num_leaves=7,
        min_child_samples=20,
        subsample=1.0,
        calibration="auto",
        calibration_folds=4,
        random_state=42,
        n_jobs=1,
    ):
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.calibration = calibration
        self.calibration_folds = calibration_folds
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _booster(self):
        import lightgbm as lgb

        return lgb.LGBMClassifier(
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            max_depth=self.max_depth,
            num_leaves=self.num_leaves,
            min_child_samples=self.min_child_samples,
            subsample=self.subsample,
            random_state=self.random_state,
            n_jobs=self.n_jobs,
            deterministic=True,
            force_row_wise=True,
            verbose=-1,
        )

    def fit(self, X, y, sample_weight=None):
        values = _as_array(X)
        y = np.asarray(y, dtype=int)
        weight = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        self.classes_ = np.array([0, 1])
        self.feature_names_in_ = np.array(
            list(X.columns) if hasattr(X, "columns") else [f"f{i}" for i in range(values.shape[1])],
            dtype=object,
        )
        margins = np.zeros(len(y))
        folds = KFold(n_splits=self.calibration_folds, shuffle=False)
        for train, held in folds.split(values):
            if len(np.unique(y[train])) < 2:
                margins[held] = 0.0
                continue
            part = self._booster().fit(
                values[train], y[train], sample_weight=None if weight is None else weight[train]
            )
            margins[held] = part.predict(values[held], raw_score=True)
        method = self.calibration
        if method == "auto":
            method = "isotonic" if y.sum() >= 200 else "sigmoid"
        if method == "isotonic":
            self.calibrator_ = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(
                margins, y, sample_weight=weight
            )
        else:
            self.calibrator_ = LogisticRegression(C=1e6).fit(margins.reshape(-1, 1), y, sample_weight=weight)
        self.calibration_method_ = method
        self.model_ = self._booster().fit(values, y, sample_weight=weight)
        return self

    def margin(self, X) -> np.ndarray:
        return self.model_.predict(_as_array(X), raw_score=True)

    def contributions(self, X) -> np.ndarray:
        """(n, n_features + 1): exact per-prediction TreeSHAP contributions, the bias last."""
        return self.model_.predict(_as_array(X), pred_contrib=True)

    def _calibrate(self, margins: np.ndarray) -> np.ndarray:
        if self.calibration_method_ == "isotonic":
            return np.clip(self.calibrator_.predict(margins), 0.0, 1.0)
        return self.calibrator_.predict_proba(margins.reshape(-1, 1))[:, 1]

    def predict_proba(self, X) -> np.ndarray:
        p = self._calibrate(self.margin(X))
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)
