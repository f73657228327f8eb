"""The user's statsmodels notebooks (shared/seeds 000 to 003) run on mixedmodels.

Each test holds the code cells of its notebook with only the imports changed
(``statsmodels.api`` -> ``mixedmodels.api``, ``statsmodels.formula.api`` ->
``mixedmodels.formula.api``); R cells are left out, and matplotlib draws on
the Agg backend. The assertions check the numbers the notebooks discuss
against lme4 (tests/reference/fits).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import load_case

import mixedmodels.api as sm
import mixedmodels.formula.api as smf
from mixedmodels.errors import ConvergenceWarning

LABELS = (
    "Mixed Linear Model Regression Results",
    "Model:",
    "MixedLM",
    "Dependent Variable:",
    "No. Observations:",
    "Method:",
    "REML",
    "No. Groups:",
    "Scale:",
    "Min. group size:",
    "Max. group size:",
    "Mean group size:",
    "Log-Likelihood:",
    "Converged:",
    "Coef.",
    "Std.Err.",
    "P>|z|",
    "[0.025",
    "0.975]",
)


def _relative(got: float, want: float) -> float:
    return abs(got - want) / abs(want)


def _convergence_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    """Messages of ConvergenceWarnings: ours, or any class of that name (statsmodels')."""
    return [
        str(item.message)
        for item in caught
        if issubclass(item.category, ConvergenceWarning)
        or item.category.__name__ == "ConvergenceWarning"
    ]


def _check_summary(text: str, extra: tuple[str, ...] = ()) -> None:
    for label in (*LABELS, *extra):
        assert label in text, label


@pytest.fixture
def plt():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    yield pyplot
    pyplot.close("all")


def _dietox_cells(capsys: pytest.CaptureFixture) -> None:
    """The dietox cells of notebooks 000 and 002."""
    data = sm.datasets.get_rdataset("dietox", "geepack").data
    md = smf.mixedlm("Weight ~ Time", data, groups=data["Pig"])
    mdf = md.fit()
    print(mdf.summary())
    text = capsys.readouterr().out
    _check_summary(text, ("Intercept", "Time", "Group Var", "11.3669", "-2404.7753"))
    want = load_case("dietox_ri_reml")["logLik"]
    assert _relative(mdf.llf, want) < 1e-6

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        md = smf.mixedlm("Weight ~ Time", data, groups=data["Pig"], re_formula="~Time")
        mdf = md.fit()
        print(mdf.summary())
    assert _convergence_warnings(caught) == []
    assert mdf.converged
    assert mdf.llf >= -2217.0475
    text = capsys.readouterr().out
    _check_summary(text, ("Group Var", "Group x Time Cov", "Time Var"))

    assert round(0.294 / (19.493 * 0.416) ** 0.5, 4) == 0.1032

    md = smf.mixedlm("Weight ~ Time", data, groups=data["Pig"], re_formula="~Time")
    free = sm.regression.mixed_linear_model.MixedLMParams.from_components(np.ones(2), np.eye(2))
    mdf = md.fit(free=free)
    print(mdf.summary())
    want = load_case("dietox_rs_indep_reml")["logLik"]
    assert _relative(mdf.llf, want) < 1e-6
    assert round(mdf.llf, 3) == -2217.348
    assert mdf.cov_re.iloc[0, 1] == 0.0
    _check_summary(capsys.readouterr().out, ("Group x Time Cov",))


def _sitka_cells(capsys: pytest.CaptureFixture, plt: object) -> None:
    """The Sitka cells of notebooks 000 and 002."""
    data = sm.datasets.get_rdataset("Sitka", "MASS").data
    endog = data["size"]
    data["Intercept"] = 1
    exog = data[["Intercept", "Time"]]

    md = sm.MixedLM(endog, exog, groups=data["tree"], exog_re=exog["Intercept"])
    mdf = md.fit()
    print(mdf.summary())
    _check_summary(capsys.readouterr().out, ("Intercept Var",))
    assert _relative(mdf.llf, load_case("sitka_ri_reml")["logLik"]) < 1e-6

    exog_re = exog.copy()
    md = sm.MixedLM(endog, exog, data["tree"], exog_re)
    mdf = md.fit()
    print(mdf.summary())
    _check_summary(capsys.readouterr().out, ("Intercept x Time Cov", "Time Var"))
    want = load_case("sitka_rs_reml")["logLik"]
    assert mdf.llf >= want - 1e-6 * abs(want)
    assert round(mdf.llf, 5) == -62.48344

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore")
        likev = mdf.profile_re(0, "re", dist_low=0.1, dist_high=0.1)
    _check_profile(likev, mdf.llf)

    plt.figure(figsize=(10, 8))
    plt.plot(likev[:, 0], 2 * likev[:, 1])
    plt.xlabel("Variance of random slope", size=17)
    plt.ylabel("-2 times profile log likelihood", size=17)

    re = mdf.cov_re.iloc[1, 1]
    likev = mdf.profile_re(1, "re", dist_low=0.5 * re, dist_high=0.8 * re)
    plt.figure(figsize=(10, 8))
    plt.plot(likev[:, 0], 2 * likev[:, 1])
    plt.xlabel("Variance of random slope", size=17)
    plt.ylabel("-2 times profile log likelihood", size=17)
    _check_profile(likev, mdf.llf)


def _check_profile(likev: np.ndarray, llf: float) -> None:
    assert isinstance(likev, np.ndarray)
    assert likev.shape == (11, 2)
    assert np.all(np.isfinite(likev))
    assert np.all(likev[:, 0] > 0)
    assert int(np.argmax(likev[:, 1])) == 5
    assert abs(likev[5, 1] - llf) < 1e-6 * abs(llf)


def test_seed_000_and_002(capsys: pytest.CaptureFixture, plt: object) -> None:
    """Notebooks 000 and 002: statsmodels' "Comparing R lmer to statsmodels MixedLM".

    000 is the old and 002 the current version of the notebook; their code
    cells are the same (002 also imports pandas), so they are run once.
    """
    _dietox_cells(capsys)
    _sitka_cells(capsys, plt)


def test_seed_001(capsys: pytest.CaptureFixture) -> None:
    """Notebook 001 (statsmodels' MixedLM documentation page, its dietox example)."""
    data = sm.datasets.get_rdataset("dietox", "geepack").data
    md = smf.mixedlm("Weight ~ Time", data, groups=data["Pig"])
    mdf = md.fit()
    print(mdf.summary())
    text = capsys.readouterr().out
    _check_summary(text, ("Group Var", "11.3669", "-2404.7753", "15.724", "6.943", "0.788"))
    assert _relative(mdf.llf, load_case("dietox_ri_reml")["logLik"]) < 1e-6
    assert mdf.converged


def test_seed_003(capsys: pytest.CaptureFixture) -> None:
    """Notebook 003 (a short dietox random-intercept walkthrough of ``smf.mixedlm``)."""
    data = sm.datasets.get_rdataset("dietox", "geepack").data
    head = data.head(2)
    assert len(head) == 2
    assert {"Weight", "Time", "Pig"} <= set(head.columns)
    md = smf.mixedlm("Weight ~ Time", data, groups=data["Pig"])
    mdf = md.fit()
    print(mdf.summary())
    _check_summary(capsys.readouterr().out, ("Group Var",))
    assert _relative(mdf.llf, load_case("dietox_ri_reml")["logLik"]) < 1e-6
    assert mdf.converged
