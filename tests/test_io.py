"""Writes and their guards: outputs readable by the group, seals that catch a damaged file, a
failing job's log that keeps its traceback, metrics that must reach their run's final step."""

import os
import stat
from types import SimpleNamespace

import pandas as pd
import pytest

from dropout_sme import io
from dropout_sme.report import tables


class Files(dict):
    """What snakemake.input / snakemake.output offer a script: named files, iterable."""

    def __iter__(self):
        return iter(self.values())


def job(log, inputs=(), **outputs):
    return SimpleNamespace(log=[str(log)], input=Files({f"i{k}": v for k, v in enumerate(inputs)}),
                           output=Files(outputs))


def test_outputs_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        io.save_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o644


def test_a_sealed_file_that_changes_stops_its_reader_by_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = {"metrics": "results/runs/e/s/metrics.csv", "seal": "results/seals/train/e/s.json"}
    with io.rule_job(job("results/logs/train.log", **out)):
        io.save_text(out["metrics"], "step,seed\n0,0\n1,0\n")
    io.verify([out["metrics"]])                                   # intact: passes
    with io.rule_job(job("results/logs/reader.log", [out["metrics"]])):
        pass
    with open(out["metrics"], "r+") as fh:                        # truncated after the job
        fh.truncate(10)
    with pytest.raises(io.DamagedFile, match="results/runs/e/s/metrics.csv: 10 bytes"):
        io.verify([out["metrics"]])
    with pytest.raises(io.DamagedFile):
        with io.rule_job(job("results/logs/reader.log", [out["metrics"]])):
            pass
    assert "DamagedFile: results/runs/e/s/metrics.csv" in open("results/logs/reader.log").read()
    io.save_text("results/other.csv", "a\n")                      # written by no sealed job
    with pytest.raises(io.DamagedFile, match="results/other.csv: no seal"):
        io.verify(["results/other.csv"])
    io.verify(["figures/table1.csv", "/elsewhere/notebook.py"])   # not under results/: not checked


def test_a_failing_job_keeps_its_traceback_and_the_plans_estimate(tmp_path):
    log = tmp_path / "job.log"

    def compute():
        raise ValueError("the failure")

    with pytest.raises(ValueError):
        with io.rule_log(log, planned_mb=1234):
            print("started")
            compute()
    text = log.read_text()
    assert text.startswith("job: the cost plan's memory estimate 1234 MiB\nstarted\n")
    assert "Traceback" in text and "in compute" in text and "ValueError: the failure" in text
    assert "peak memory" in text.splitlines()[-1]


def test_laps_charge_each_interval_to_its_part_in_first_run_order():
    ticks = iter([10.0, 11.5, 14.0, 14.25, 20.0])         # Laps() reads the first
    laps = io.Laps(clock=lambda: next(ticks))
    for name in ("setup", "the run", "setup", "the slopes"):
        laps.lap(name)
    assert laps.seconds == {"setup": 1.75, "the run": 2.5, "the slopes": 5.75}
    assert laps.text() == "setup 1.8 s; the run 2.5 s; the slopes 5.8 s"


def test_metrics_must_reach_the_final_step(tmp_path):
    rows = [{"step": t, "seed": s, "test_acc": 0.1 * t, "final_step": 4}
            for t in (0, 2, 4) for s in (0, 1)]
    good = tmp_path / "good.csv"
    pd.DataFrame(rows).to_csv(good, index=False)
    final = tables.final_rows(tables.read_metrics([str(good)]))
    assert final.step.tolist() == [4, 4] and final.test_acc.tolist() == pytest.approx([0.4, 0.4])
    short = tmp_path / "short.csv"
    pd.DataFrame(rows[:4]).to_csv(short, index=False)            # ends at step 2
    with pytest.raises(io.DamagedFile, match="short.csv: seed 0 ends at step 2, before the "
                                            "run's final step 4"):
        tables.read_metrics([str(good), str(short)])
    old = tmp_path / "old.csv"
    pd.DataFrame(rows).drop(columns="final_step").to_csv(old, index=False)
    with pytest.raises(io.DamagedFile, match="old.csv: no rows or no final_step"):
        tables.read_metrics([str(old)])
