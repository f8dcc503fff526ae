import datetime as dt

import pytest

from kruzhok.risk.synthetic import build_history

TODAY = dt.date(2026, 11, 20)


@pytest.fixture(autouse=True)
def _models_in_tmp(settings, tmp_path):
    settings.RISK_MODEL_DIR = tmp_path / "models"


@pytest.fixture
def history(alpha):
    """Alpha plus 60 synthetic children over 30 weeks, taught by alpha's teacher in alpha's branch."""
    return build_history(org=alpha.org, teacher=alpha.teacher, branch=alpha.branch, today=TODAY, seed=1)
