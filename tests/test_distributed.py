"""A real Dask cluster (LocalCluster, two worker processes) gives the serial numbers, bit for
bit, survives the loss of a worker, and fails clearly when it cannot go on."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

import cxsim  # noqa: E402
from cxsim.analysis.attribution import waterfall_by_group  # noqa: E402
from cxsim.analysis.comparison import compare  # noqa: E402
from cxsim.analysis.global_sensitivity import sobol  # noqa: E402
from cxsim.analysis.planning import optimize  # noqa: E402
from cxsim.analysis.sensitivity import breakeven, tornado  # noqa: E402
from cxsim.cli import main  # noqa: E402
from cxsim.errors import CxsimError  # noqa: E402
from cxsim.montecarlo.executors import dask_executor, ordered  # noqa: E402
from tests.conftest import FLAGSHIP, SCENARIOS  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        silence_logs=50,
    )
    with distributed.Client(cluster) as client:
        yield client
    cluster.close()


@pytest.fixture(scope="module")
def flagship():
    return cxsim.load_scenario(FLAGSHIP)


def test_simulate_on_the_cluster_is_the_serial_run(client, flagship):
    serial = cxsim.simulate(flagship, draws=3000, seed=7, keep="summary", chunk_size=700)
    remote = cxsim.simulate(
        flagship, draws=3000, seed=7, executor=client.get_executor(), chunk_size=700
    )
    assert remote.keep == "summary"  # workers send summaries back, never monthly arrays
    assert remote.outcomes.equals(serial.outcomes)
    for key in [("metric", "nps", "all"), ("cash", "cumulative"), ("leading", "it")]:
        a, b = serial.band(key), remote.band(key)
        for part in ("mean", "sd", "p5", "p50", "p95"):
            np.testing.assert_array_equal(getattr(a, part), getattr(b, part))
    assert remote.summary().frame.equals(serial.summary().frame)


def test_a_target_error_stops_at_the_same_draw_on_the_cluster(client, flagship):
    serial = cxsim.simulate(flagship, draws=1024, seed=3, target_error=0.03, keep="summary")
    remote = cxsim.simulate(
        flagship, draws=1024, seed=3, target_error=0.03, executor=client.get_executor()
    )
    assert remote.draws == serial.draws
    assert remote.outcomes.equals(serial.outcomes)


def test_every_analysis_on_the_cluster_is_the_serial_one(client, flagship):
    executor = client.get_executor()
    assert tornado(flagship, executor=executor).equals(tornado(flagship))
    param = "responses.churn_reduction"
    a = breakeven(flagship, param, draws=200, seed=1, grid=5)
    b = breakeven(flagship, param, draws=200, seed=1, grid=5, executor=executor)
    assert a.value == b.value and a.curve.equals(b.curve)
    assert sobol(flagship, n=32, seed=2, executor=executor).equals(sobol(flagship, n=32, seed=2))
    assert waterfall_by_group(flagship, draws=100, executor=executor).equals(
        waterfall_by_group(flagship, draws=100)
    )
    plans = [
        cxsim.load_scenario(SCENARIOS / f"sequence_{n}.yaml")
        for n in ("voice_first", "all_at_once")
    ]
    one, two = compare(plans, draws=400), compare(plans, draws=400, executor=executor)
    assert one.table.equals(two.table) and one.beats.equals(two.beats)


def test_optimize_on_the_cluster_is_the_serial_search(client, flagship):
    serial = optimize(flagship, 18e6, draws=200, seed=1)
    remote = optimize(flagship, 18e6, draws=200, seed=1, executor=client.get_executor())
    assert remote.plan_.equals(serial.plan_)
    assert remote.npv_mean_ == serial.npv_mean_
    assert remote.history_.equals(serial.history_)


class _KillsAWorker:
    """An executor that kills one worker process (SIGKILL) right after its fourth task is
    submitted, so the loss falls in the middle of the run, whatever the machine's speed."""

    def __init__(self, client):
        self._client = client  # read by cxsim to count the workers
        self.inner = client.get_executor(retries=2, pure=False)
        self.victim = next(iter(client.run(os.getpid).values()))
        self.submitted = 0

    def submit(self, fn, *args):
        future = self.inner.submit(fn, *args)
        self.submitted += 1
        if self.submitted == 4:
            os.kill(self.victim, signal.SIGKILL)
        return future


def test_losing_a_worker_mid_run_is_recovered(client, flagship):
    """A worker process killed while tasks run: Dask reruns its tasks on the other worker
    (and the nanny restarts it); the numbers are those of the serial run."""
    executor = _KillsAWorker(client)
    remote = cxsim.simulate(flagship, draws=6000, seed=5, executor=executor, chunk_size=250)
    serial = cxsim.simulate(flagship, draws=6000, seed=5, keep="summary", chunk_size=250)
    assert remote.outcomes.equals(serial.outcomes)
    client.wait_for_workers(2, timeout=60)
    assert executor.victim not in client.run(os.getpid).values()  # it did die


def test_a_worker_that_keeps_dying_is_a_clear_error(client):
    def die() -> None:  # every attempt kills its worker: Dask gives up (KilledWorker)
        os._exit(1)

    with pytest.raises(CxsimError, match="the executor failed .*KilledWorker.*nothing was written"):
        list(ordered(client.get_executor(retries=0), die, [()]))
    client.wait_for_workers(2, timeout=60)


def test_the_cli_runs_on_a_local_cluster_and_refuses_bad_clusters(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(
        ["run", str(FLAGSHIP), "--draws", "1500", "--seed", "2", "--workers", "2", "--quiet",
         "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "kept summaries only" in printed and "not written: cash_flow.csv" in printed
    assert (out / "outcomes.csv").exists()
    serial = cxsim.simulate(cxsim.load_scenario(FLAGSHIP), draws=1500, seed=2, keep="summary")
    written = np.loadtxt(out / "outcomes.csv", delimiter=",", skiprows=1, usecols=1)
    np.testing.assert_allclose(written, serial.outcomes.iloc[:, 0], rtol=1e-15)

    import dask

    missing = tmp_path / "missing"
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        code = main(
            ["run", str(FLAGSHIP), "--scheduler", "tcp://127.0.0.1:9", "--out", str(missing)]
        )
    assert code == 1
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in capsys.readouterr().err
    assert not missing.exists()


def test_dask_executor_arguments_are_checked():
    with pytest.raises(CxsimError, match="either a number of workers or a scheduler"):
        with dask_executor():
            pass
    with pytest.raises(CxsimError, match="workers must be at least 1"):
        with dask_executor(workers=0):
            pass
