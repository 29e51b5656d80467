"""The benchmark harness runs and writes its JSON, with or without the peer libraries.

No timing is asserted: only that every workload row is produced, that fdl's rows always
run, and that a peer that is not installed is reported as such instead of failing.
"""

import io
import json
import os
import sys

import pytest

import fdl.cli
from fdl.bench import cli, peers, report

ROW_KEYS = {"implementation", "fdl", "status", "vs_fastest_peer"}
TIMED_KEYS = {"ms", "ms_each_round", "examples_per_s", "gflops"}


def _check_w1(results):
    assert set(results) >= {"machine", "peers", "matmul_gflops", "quick", "workloads"}
    assert results["machine"]["slug"]
    w1 = results["workloads"]["W1"]
    assert set(w1) >= {"key", "title", "unit", "examples_per_unit", "flops_per_unit", "rows"}
    assert w1["examples_per_unit"] == 64 and w1["flops_per_unit"] > 0
    names = [row["implementation"] for row in w1["rows"]]
    assert names[0].startswith("fdl") and len(names) == 5
    for row in w1["rows"]:
        assert set(row) >= ROW_KEYS
    fdl_row = w1["rows"][0]
    assert fdl_row["status"] == "ok" and set(fdl_row) >= TIMED_KEYS
    assert fdl_row["ms"] > 0 and len(fdl_row["ms_each_round"]) == 3
    return w1


def test_fdl_bench_quick_w1_writes_json(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # any directory: the harness is part of the package
    out = tmp_path / "results" / "bench.json"
    assert fdl.cli.main(["bench", "--quick", "--only", "W1", "--no-matmul", "--out", str(out)]) == 0
    results = json.loads(out.read_text())
    assert results["quick"] is True and results["matmul_gflops"] is None
    w1 = _check_w1(results)
    printed = capsys.readouterr().out
    assert "| W1 | fdl (fit: scanned epoch) |" in printed and str(out) in printed
    for row in w1["rows"][1:]:
        installed = row["status"] == "ok"
        assert installed or row["status"].startswith(("not installed", "error"))
        if installed:
            assert set(row) >= TIMED_KEYS and row["vs_fastest_peer"] is not None


def test_peers_not_installed_are_reported_and_fdl_still_runs(tmp_path, monkeypatch):
    # As in an environment with only the dev extra: no peer module can be imported.
    monkeypatch.setattr(peers, "missing", lambda modules: list(modules))
    out = tmp_path / "r.json"
    results = cli.run(["W1"], quick=True, matmul=False, out=str(out), log=io.StringIO())
    w1 = _check_w1(json.loads(out.read_text()))
    for row in w1["rows"][1:]:
        assert row["status"].startswith("not installed (") and "ms" not in row
        assert row["vs_fastest_peer"] is None
    assert w1["rows"][0]["vs_fastest_peer"] is None  # no peer to compare with
    table = report.table(results)
    assert "| W1 | PyTorch eager | not installed (torch) |" in table


def test_select_workloads():
    assert cli.select("C1", quick=False) == ["C1.1", "C1.2"]
    assert cli.select("W3, W1", quick=False) == ["W1", "W3"]
    assert "K2" not in cli.select(None, quick=True)
    assert cli.select(None, quick=False)[-1] == "K2"
    with pytest.raises(ValueError, match="unknown workload 'W9'"):
        cli.select("W9", quick=False)


def test_write_json_is_atomic_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "sub" / "x.json"
    report.write_json({"a": 1}, str(path))
    report.write_json({"a": 2}, str(path))
    assert json.loads(path.read_text()) == {"a": 2}
    assert os.listdir(path.parent) == ["x.json"]


def test_fdl_bench_outside_a_checkout_rejects_unknown_keys_in_one_line(tmp_path, monkeypatch,
                                                                      capsys):
    # The harness is installed with fdl: no repository folder or sys.path entry needed.
    monkeypatch.chdir(tmp_path)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    monkeypatch.setattr(sys, "path", [p for p in sys.path if os.path.abspath(p or ".") != root])
    assert fdl.cli.main(["bench", "--only", "W9"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "unknown workload 'W9'" in err
    assert cli.default_out() == os.path.join("benchmarks", "results", cli.machine.slug() + ".json")
