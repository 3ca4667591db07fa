"""A run's memory is estimated before anything is allocated, and a run that would not fit is
refused with the estimate and the way out."""

import gc
import tracemalloc

import pytest

import cxsim
from cxsim.montecarlo import footprint
from cxsim.montecarlo.footprint import Footprint, check_memory, estimate_peak
from tests.conftest import FLAGSHIP


@pytest.fixture(scope="module")
def flagship():
    return cxsim.load_scenario(FLAGSHIP)


def _measured_peak(scenario, draws: int, keep: str) -> int:
    warm = cxsim.simulate(scenario, draws=2, seed=1, keep=keep, progress=False)
    assert len(warm.outcomes) == 2  # imports and caches are not part of the run's peak
    gc.collect()
    tracemalloc.start()
    try:
        result = cxsim.simulate(scenario, draws=draws, seed=1, keep=keep, progress=False)
        result.outcomes  # noqa: B018 - the outcomes are part of every run's peak
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(("draws", "keep"), [(300, "all"), (1500, "all"), (3000, "summary")])
def test_the_estimate_is_within_a_few_percent_of_the_measured_peak(flagship, draws, keep):
    measured = _measured_peak(flagship, draws, keep)
    estimate = estimate_peak(flagship, draws, keep).peak
    assert 0.9 * measured <= estimate <= 1.25 * measured, (estimate, measured)


def test_a_hundred_million_draws_are_refused_before_running(flagship):
    with pytest.raises(cxsim.CxsimError) as caught:
        cxsim.simulate(flagship, draws=100_000_000, seed=1, max_memory=64 * 2**30)
    message = str(caught.value)
    assert message.startswith("100,000,000 draws keeping 'summary' would need about ")
    assert "GiB of memory (estimated before running)" in message
    assert "at most " in message and "draws" in message


def test_max_memory_refuses_keep_all_and_names_the_way_out(flagship):
    with pytest.raises(cxsim.CxsimError, match=r"allowed by max_memory: use keep='summary'"):
        cxsim.simulate(flagship, draws=5000, seed=1, keep="all", max_memory=64 * 2**20)


def test_auto_keeps_summaries_when_the_arrays_would_not_fit(flagship):
    result = cxsim.simulate(flagship, draws=3000, seed=1, max_memory=150 * 2**20)
    assert result.keep == "summary"
    assert any("would not fit in memory" in note for note in result.notes)
    # The same run without the limit keeps everything (3,000 draws are about 110 MiB).
    assert cxsim.simulate(flagship, draws=3000, seed=1).keep == "all"


@pytest.mark.parametrize("bad", [0, -5, 1.5, True, "2GB"])
def test_max_memory_must_be_a_whole_number_of_bytes(flagship, bad):
    with pytest.raises(cxsim.CxsimError, match="max_memory must be a whole number of bytes"):
        cxsim.simulate(flagship, draws=2, seed=1, max_memory=bad)


def test_available_memory_reads_meminfo_and_the_cgroup_limit(tmp_path, monkeypatch):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal: 8000000 kB\nMemAvailable:    4000000 kB\n")
    cgroup = tmp_path / "cgroup"
    cgroup.mkdir()
    monkeypatch.setattr(footprint, "_MEMINFO", meminfo)
    monkeypatch.setattr(footprint, "_CGROUP", cgroup)
    assert footprint.available_memory() == (4_096_000_000, "MemAvailable in /proc/meminfo")
    (cgroup / "memory.max").write_text("2147483648\n")
    (cgroup / "memory.current").write_text("1073741824\n")
    free, source = footprint.available_memory()
    assert free == 2**30 and "memory.max" in source
    (cgroup / "memory.max").write_text("max\n")
    assert footprint.available_memory()[0] == 4_096_000_000
    meminfo.unlink()
    (cgroup / "memory.max").unlink()
    assert footprint.available_memory() is None


def test_the_tighter_of_the_limits_is_named():
    run = Footprint(peak=3 * 2**30, per_draw=2**20, working=2**20)
    with pytest.raises(cxsim.CxsimError, match=r"2\.0 GiB allowed by the container"):
        check_memory(run, 3000, "all", 4 * 2**30, available=(2 * 2**30, "the container"))
    with pytest.raises(cxsim.CxsimError, match=r"1\.0 GiB allowed by max_memory"):
        check_memory(run, 3000, "all", 2**30, available=(2 * 2**30, "the container"))
    check_memory(run, 3000, "all", 4 * 2**30, available=(8 * 2**30, "the container"))
    assert run.draws_within(2**30 + 2**20) == 1024
