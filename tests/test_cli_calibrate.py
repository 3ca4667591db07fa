"""`cxsim calibrate retention|voc|lag`: files a scenario can include, overwrite refusal, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from cxsim.cli import main
from cxsim.cli.calibrate import main_calibrate
from cxsim.scenario import load_scenario
from cxsim.uncertainty.samples import Empirical
from tests.conftest import FLAGSHIP, ROOT

DATA = ROOT / "cxsim" / "datasets" / "data"
COHORTS = DATA / "cohort_retention.csv"
SERIES = DATA / "indicator_series.csv"
SURVEY = DATA / "voc_survey.csv"


def _including(tmp_path: Path, *files: Path) -> Path:
    """A scenario file in tmp_path: the flagship's content plus `include:` of ``files``."""
    body = yaml.safe_load(FLAGSHIP.read_text())
    body["include"] = [str(f.relative_to(tmp_path)) for f in files]
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main_calibrate([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# ----------------------------------------------------------------------------- success
def test_retention_writes_an_includable_sbg_block(tmp_path, capsys):
    out = tmp_path / "cal" / "retention.yaml"
    code, stdout, _ = _run(capsys, "retention", COHORTS, "--segment", "mass_affluent", "--out", out)
    assert code == 0
    assert "Shifted-beta-geometric retention fit" in stdout and f"Wrote {out}" in stdout
    scenario = load_scenario(_including(tmp_path, out))
    sbg = scenario.segments["mass_affluent"].sbg
    assert sbg.period == "year"
    assert 0.7 < sbg.alpha.mean() < 0.9 and 4.3 < sbg.beta.mean() < 5.5  # truth 0.8, 5.0
    record = scenario.provenance["sbg_mass_affluent"]
    assert record["data_file"] == str(COHORTS) and record["rows_used"] == 35


def _snapshot_csv(tmp_path: Path, name: str = "snapshot.csv", *, seed: int = 1) -> Path:
    """A snapshot of ~4,000 customers from an sBG (alpha 0.6, beta 3 per month), tenure
    counting the month observed (as IBM's telco table does) and churn as Yes/No."""
    rng = np.random.default_rng(seed)
    age = np.repeat(np.arange(36), 300)
    life = rng.geometric(rng.beta(0.6, 3.0, age.size))
    there = life > age
    frame = pd.DataFrame(
        {
            "customer": np.arange(there.sum()),
            "tenure_months": age[there] + 1,
            "Churn": np.where(life[there] == age[there] + 1, "Yes", "No"),
        }
    )
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def test_retention_fits_a_snapshot(tmp_path, capsys):
    data = _snapshot_csv(tmp_path)
    out = tmp_path / "snapshot.yaml"
    code, stdout, err = _run(
        capsys, "retention", data, "--tenure", "tenure_months", "--churned", "Churn",
        "--tenure-counts-current", "--period", "month", "--segment", "mass_affluent",
        "--out", out,
    )  # fmt: skip
    assert code == 0, err
    assert "snapshot, tenure 0–35" in stdout and "χ² goodness of fit" in stdout
    scenario = load_scenario(_including(tmp_path, out))
    sbg = scenario.segments["mass_affluent"].sbg
    assert sbg.period == "month"
    assert 0.45 < sbg.alpha.mean() < 0.8 and 2.2 < sbg.beta.mean() < 4.0  # truth 0.6, 3.0
    record = scenario.provenance["sbg_mass_affluent"]
    assert record["layout"] == "snapshot" and record["tenure_counts_current"] is True
    assert record["goodness_of_fit"]["df"] >= 1


@pytest.mark.parametrize(
    ("period", "written"), [("quarter", "quarter"), ("3", "quarter"), ("6", 6)]
)
def test_retention_periods(tmp_path, capsys, period, written):
    out = tmp_path / "p.yaml"
    code, _, err = _run(
        capsys, "retention", _snapshot_csv(tmp_path), "--tenure", "tenure_months",
        "--churned", "Churn", "--period", period, "--segment", "core", "--out", out,
    )  # fmt: skip
    assert code == 0, err
    assert yaml.safe_load(out.read_text())["segments"]["core"]["sbg"]["period"] == written
    code, _, err = _run(
        capsys, "retention", COHORTS, "--period", period, "--segment", "core",
        "--out", out, "--force",
    )  # fmt: skip
    assert code == 0, err
    assert yaml.safe_load(out.read_text())["segments"]["core"]["sbg"]["period"] == written


def test_retention_snapshot_warns_when_the_chi_square_test_fails(tmp_path, capsys):
    rng = np.random.default_rng(5)
    t = np.repeat(np.arange(36), 150)
    churn = 0.4 / (1 + t / 2) + 0.003 * t  # falls, then rises with tenure: not an sBG
    data = tmp_path / "bathtub.csv"
    pd.DataFrame({"t": t, "left": (rng.random(t.size) < churn).astype(int)}).to_csv(
        data, index=False
    )
    out = tmp_path / "b.yaml"
    code, stdout, _ = _run(
        capsys, "retention", data, "--tenure", "t", "--churned", "left", "--period", "month",
        "--segment", "core", "--out", out,
    )  # fmt: skip
    assert code == 0
    assert "FAILS at 0.05" in stdout and "Warning: the χ² test rejects the sBG" in stdout
    notes = yaml.safe_load(out.read_text())["provenance"]["sbg_core"]["notes"]
    assert notes and notes[-1].startswith("Warning")


def test_retention_snapshot_problems_are_located(tmp_path, capsys):
    data = _bad(tmp_path, "bad.csv", "id,tenure,churn\n1,3,No\n2,x,Yes\n3,4,perhaps\n4,5,No\n")
    code, stdout, err = _run(
        capsys, "retention", data, "--tenure", "tenure", "--churned", "churn", "--period",
        "month", "--segment", "core", "--out", tmp_path / "out.yaml",
    )  # fmt: skip
    assert code == 1 and stdout == ""
    assert err.splitlines() == [
        f"{data}:3: tenure: not a number (got 'x'; allowed whole periods ≥ 0 completed)",
        f"{data}:4: churn: not a churn flag (got 'perhaps'; allowed 0/1, yes/no, true/false)",
    ]
    assert not (tmp_path / "out.yaml").exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--tenure", "tenure_months", "--churned", "Churn"], "a snapshot needs --period"),
        (["--tenure", "tenure_months", "--period", "month"], "both --tenure COL and --churned"),
        (["--weights", "n"], "--weights and --tenure-counts-current need --tenure"),
    ],
)
def test_retention_snapshot_option_errors(tmp_path, capsys, options, message):
    data = _snapshot_csv(tmp_path)
    code, _, err = _run(
        capsys, "retention", data, *options, "--segment", "core", "--out", tmp_path / "o.yaml"
    )
    assert code == 1 and message in err


def test_voc_writes_responses_and_pain_shares(tmp_path, capsys):
    out = tmp_path / "voc.yaml"
    code, stdout, _ = _run(
        capsys,
        "voc",
        SURVEY,
        "--share-of-wallet-from",
        FLAGSHIP,
        "--bootstrap",
        "20",
        "--out",
        out,
    )
    assert code == 0 and "VoC calibration" in stdout
    assert f"and {tmp_path / 'voc_samples.csv'} (20 bootstrap replicates" in stdout
    scenario = load_scenario(_including(tmp_path, out))
    for name in scenario.segments:
        responses = scenario.segments[name].responses
        for key in ("churn_reduction", "promoter_gain", "detractor_reduction", "wallet_gain"):
            fed = getattr(responses, key)
            assert isinstance(fed, Empirical) and fed.rows == 20, (name, key)
        shares = [g.pain_share[name] for g in scenario.work_groups.values()]
        assert all(isinstance(share, Empirical) for share in shares)
        # no gap_other column: the plain numbers (used without the table) and every
        # replicate share all of the segment's pain among the work groups
        assert sum(share.point for share in shares) == pytest.approx(1.0, abs=1e-6)
        per_replicate = np.sum([share.values for share in shares], axis=0)  # (replicate,)
        assert np.all(per_replicate <= 1) and np.allclose(per_replicate, 1.0, atol=1e-6)
    assert scenario.provenance["voc"]["bootstrap"] == 20
    assert "segment 'small_business': pain share(s) poorly identified (SD above 0.2" in stdout


def test_voc_maps_columns_skips_pools_and_penalises(tmp_path, capsys):
    survey = pd.read_csv(SURVEY).rename(columns={"gap_billing": "Billing complaint"})
    data = tmp_path / "survey.csv"
    survey.to_csv(data, index=False)
    out = tmp_path / "voc.yaml"
    common = ["voc", data, "--bootstrap", "20", "--no-spend", "--out", out, "--force"]
    code, _, err = _run(capsys, *common, "--gaps", "gap_it,Billing complaint")
    assert code == 1 and "--gap billing_complaint='Billing complaint'" in err
    code, stdout, err = _run(
        capsys, *common, "--gap", "billing=Billing complaint", "--skip-segment", "small_business",
        "--firth",
    )  # fmt: skip
    assert code == 0, err
    written = yaml.safe_load(out.read_text())
    assert set(written["work_groups"]) == {
        "it", "digital", "support", "billing", "onboarding", "lending", "branch"
    }  # fmt: skip
    assert "small_business" not in written["segments"]
    assert "small_business skipped as asked" in stdout and "Firth's penalised" in stdout
    assert written["provenance"]["voc"]["firth"] is True
    code, stdout, err = _run(
        capsys, *common, "--gap", "billing=Billing complaint", "--min-rows", "2100",
        "--merge-small",
    )  # fmt: skip
    assert code == 0, err
    assert "pooled into one fit 'branch_dependent+small_business'" in stdout
    segments = yaml.safe_load(out.read_text())["segments"]
    pooled = [segments[s]["responses"] for s in ("branch_dependent", "small_business")]
    assert pooled[0] == pooled[1]  # both get the pooled fit's estimates


def test_voc_reports_every_bad_cell_at_once(tmp_path, capsys):
    survey = _with_score(300, {4: 11}).astype({"gap_it": object})
    survey.loc[7, "churned_12m"] = 2
    survey.loc[9, "gap_it"] = "yes"
    data = tmp_path / "survey.csv"
    survey.to_csv(data, index=False)
    code, stdout, err = _run(capsys, "voc", data, "--out", tmp_path / "voc.yaml")
    assert code == 1 and stdout == ""
    for line in (
        f"{data}:6: ltr: out of range (got 11; allowed whole numbers 0-10)",
        f"{data}:9: churned_12m: out of range (got 2; allowed 0 or 1)",
        f"{data}:11: gap_it: not a number (got 'yes'; allowed 0 or 1)",
    ):
        assert line in err, (line, err)


def test_voc_options_select_columns_and_segment(tmp_path, capsys):
    survey = pd.read_csv(SURVEY).rename(columns={"ltr": "score", "segment": "seg"})
    data = tmp_path / "renamed.csv"
    survey.to_csv(data, index=False)
    out = tmp_path / "voc.yaml"
    code, _, err = _run(
        capsys,
        "voc",
        data,
        "--segment-col",
        "seg",
        "--score",
        "score",
        "--gaps",
        "gap_support,gap_billing,gap_digital",
        "--segment",
        "mass_market",
        "--share-of-wallet",
        "mass_market=0.5",
        "--bootstrap",
        "0",
        "--out",
        out,
    )
    assert code == 0, err
    written = yaml.safe_load(out.read_text())
    assert list(written["segments"]) == ["mass_market"]
    assert set(written["work_groups"]) == {"support", "billing", "digital"}
    wallet = written["segments"]["mass_market"]["responses"]["wallet_gain"]
    assert wallet["max"] == pytest.approx(0.5)  # 1 − share of wallet


def test_lag_writes_a_delay_the_scenario_accepts(tmp_path, capsys):
    out = tmp_path / "lag.yaml"
    code, stdout, _ = _run(capsys, "lag", SERIES, "--bootstrap", "50", "--out", out)
    assert code == 0 and "Perception lag fit" in stdout
    scenario = load_scenario(_including(tmp_path, out))
    delay = scenario.responses.perception_delay_months
    assert delay.support() == (0.0, 12.0)  # truncated at the searched --max-delay
    code, _, _ = _run(
        capsys, "lag", SERIES, "--lagging", "monthly_churn", "--segment", "mass_market",
        "--bootstrap", "50", "--max-delay", "6", "--out", tmp_path / "churn.yaml",
    )  # fmt: skip
    assert code == 0
    written = yaml.safe_load((tmp_path / "churn.yaml").read_text())
    responses = written["segments"]["mass_market"]["responses"]
    assert responses["perception_delay_months"]["max"] == 6.0


def test_registered_as_cxsim_calibrate(tmp_path, capsys):
    out = tmp_path / "retention.yaml"
    argv = ["calibrate", "retention", str(COHORTS), "--segment", "core", "--out", str(out)]
    assert main(argv) == 0
    assert "segments" in yaml.safe_load(out.read_text())


# ----------------------------------------------------------------------------- refusals
def test_refuses_to_overwrite_without_force(tmp_path, capsys):
    out = tmp_path / "retention.yaml"
    args = ["retention", COHORTS, "--segment", "mass_affluent", "--out", out]
    assert _run(capsys, *args)[0] == 0
    out.write_text("# hand edits\n")
    code, stdout, err = _run(capsys, *args)
    assert code == 1 and stdout == ""
    assert "file exists; pass --force to replace it" in err
    assert out.read_text() == "# hand edits\n"
    assert _run(capsys, *args, "--force")[0] == 0
    assert "sbg" in out.read_text()


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\xff\xfe\x80\x81\n"


def _bad(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def _with_score(rows: int, scores: dict[int, int]) -> pd.DataFrame:
    """The survey's first ``rows`` respondents with the given scores at the given rows."""
    survey = pd.read_csv(SURVEY, nrows=rows)
    for row, score in scores.items():
        survey.loc[row, "ltr"] = score
    return survey


@pytest.mark.parametrize(
    ("kind", "make", "message"),
    [
        (
            "retention",
            lambda d: _bad(d, "grow.csv", "cohort,year,active\n1,0,100\n1,1,120\n1,2,90\n"),
            "active count increases from 100 at period 0 to 120 at period 1",
        ),
        (
            "retention",
            lambda d: _bad(d, "cols.csv", "cohort,period,n\n1,0,100\n1,1,80\n"),
            "missing column(s) ['year', 'active']",
        ),
        (
            "voc",
            lambda d: _bad(d, "score.csv", _with_score(400, {4: 11}).to_csv(index=False)),
            "score.csv:6: ltr: out of range (got 11; allowed whole numbers 0-10)",  # row 4
        ),
        (
            "lag",
            lambda d: _bad(d, "short.csv", "month,leading,nps\n" + "1,0.1,10\n2,0.2,12\n"),
            "only 2 months of data; the perception lag needs at least 24",
        ),
        ("lag", lambda d: _bad(d, "empty.csv", ""), "cannot read it as CSV"),
        ("voc", lambda d: _bad(d, "image.csv", PNG), "cannot read it as CSV"),
        ("lag", lambda d: d / "nowhere.csv", "data file not found"),
    ],
)
def test_bad_data_exits_1_with_the_message(tmp_path, capsys, kind, make, message):
    data = make(tmp_path)
    extra = ["--segment", "core"] if kind == "retention" else []
    code, stdout, err = _run(capsys, kind, data, *extra, "--out", tmp_path / "out.yaml")
    assert code == 1
    assert message in err
    assert "Traceback" not in err and stdout == ""
    assert not (tmp_path / "out.yaml").exists()


def test_voc_segment_not_in_data(tmp_path, capsys):
    code, _, err = _run(capsys, "voc", SURVEY, "--segment", "premium", "--out", tmp_path / "v.yaml")
    assert code == 1 and "no respondent of segment 'premium'" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["retention", str(COHORTS), "--out", "x.yaml"],  # --segment is required
        ["retention", str(COHORTS), "--segment", "c", "--out", "x.yaml", "--period", "week"],
        ["voc", str(SURVEY)],  # --out is required
        ["lag", str(SERIES), "--out", "x.yaml", "--max-delay", "-1"],
        ["voc", str(SURVEY), "--out", "x.yaml", "--share-of-wallet", "a=b"],
        ["fit", str(SURVEY)],
        [],
    ],
)
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main_calibrate(argv)
    assert exc.value.code == 2
    assert "usage:" in capsys.readouterr().err
