"""Results on disk: round trip, refusal to overwrite, atomic writes, the manifest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from escalation import Scenario, SimulationResults, __version__, read_results, run_scenario
from escalation.store import (
    ResultsError,
    ResultsExistError,
    atomic_folder,
    atomic_write_text,
    check_writable,
    file_sha256,
    read_manifest,
    write_results,
)


@pytest.fixture(scope="module")
def results(tiny_crisis: Scenario) -> SimulationResults:
    return run_scenario(tiny_crisis, runs=20, seed=3, path_sample=5, parameters={"raid_rate": 0.4})


def siblings(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.parent.iterdir())


def test_round_trip(tmp_path: Path, results: SimulationResults) -> None:
    out = write_results(results, tmp_path / "out")
    assert out == tmp_path / "out"
    assert sorted(path.name for path in out.iterdir()) == [
        "cycles.parquet",
        "manifest.json",
        "runs.parquet",
        "spells.parquet",
        "timeseries.parquet",
    ]
    back = read_results(out)
    pd.testing.assert_frame_equal(back.runs, results.runs)
    pd.testing.assert_frame_equal(back.cycles, results.cycles)
    pd.testing.assert_frame_equal(back.timeseries, results.timeseries)
    assert back.seed == results.seed
    assert back.horizon_days == results.horizon_days
    assert back.scenario == results.scenario
    assert back.settings == results.settings
    assert back.draws == results.draws
    assert list(back.runs["outcome"].cat.categories) == ["war", "talks", "skirmish", "unclassified"]


def test_round_trip_of_a_huge_seed(tmp_path: Path, tiny_crisis: Scenario) -> None:
    seed = 2**127 + 12345  # seeds drawn from the OS have up to 128 bits
    big = run_scenario(tiny_crisis, runs=3, seed=seed, path_sample=0)
    write_results(big, tmp_path / "out")
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["seed"] == str(seed)
    assert read_results(tmp_path / "out").seed == seed


def test_refuses_an_existing_folder_without_force(
    tmp_path: Path, results: SimulationResults
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    with pytest.raises(
        ResultsExistError, match="already exists; choose another --out or pass --force"
    ):
        write_results(results, out)
    assert [path.name for path in out.iterdir()] == ["precious.txt"]
    assert siblings(out) == ["out"]


def test_force_replaces_an_existing_folder(tmp_path: Path, results: SimulationResults) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text("{}")  # an earlier results folder
    (out / "stale.txt").write_text("old")
    write_results(results, out, force=True)
    assert not (out / "stale.txt").exists()
    assert (out / "manifest.json").is_file()
    assert siblings(out) == ["out"]  # no staging or replaced folder left behind


def test_an_existing_file_is_never_replaced(tmp_path: Path, results: SimulationResults) -> None:
    out = tmp_path / "out"
    out.write_text("a file, not a folder")
    with pytest.raises(ResultsExistError, match="exists and is not a folder"):
        write_results(results, out, force=True)
    assert out.read_text() == "a file, not a folder"


def test_check_writable(tmp_path: Path) -> None:
    assert check_writable(tmp_path / "new", force=False) == tmp_path / "new"
    with pytest.raises(ResultsExistError):
        check_writable(tmp_path, force=False)
    assert check_writable(tmp_path, force=True) == tmp_path


def write_then_fail(out: Path, error: BaseException, force: bool = False) -> None:
    """Write part of a folder with :func:`atomic_folder`, then fail."""
    with atomic_folder(out, force) as staging:
        (staging / "half.parquet").write_text("half written")
        raise error


def test_atomic_folder_leaves_nothing_on_error(tmp_path: Path) -> None:
    out = tmp_path / "nested" / "out"
    with pytest.raises(RuntimeError, match="boom"):
        write_then_fail(out, RuntimeError("boom"))
    assert not out.exists()
    assert list(out.parent.iterdir()) == []


def test_atomic_folder_keeps_the_old_folder_on_error(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text("{}")  # an earlier results folder
    (out / "precious.txt").write_text("keep me")
    with pytest.raises(KeyboardInterrupt):
        write_then_fail(out, KeyboardInterrupt(), force=True)
    assert sorted(path.name for path in out.iterdir()) == ["manifest.json", "precious.txt"]
    assert siblings(out) == ["out"]


def test_atomic_folder_appears_whole(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with atomic_folder(out) as staging:
        (staging / "a.txt").write_text("a")
        assert not out.exists()  # nothing at the destination while it is written
    assert (out / "a.txt").read_text() == "a"
    assert siblings(out) == ["out"]


def test_write_failure_leaves_no_partial_folder(
    tmp_path: Path, results: SimulationResults, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", fail)
    with pytest.raises(OSError, match="disk full"):
        write_results(results, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_text(tmp_path: Path) -> None:
    target = tmp_path / "note.txt"
    target.write_text("old")
    atomic_write_text(target, "new")
    assert target.read_text() == "new"
    assert [path.name for path in tmp_path.iterdir()] == ["note.txt"]


def test_manifest_content(tmp_path: Path, results: SimulationResults) -> None:
    scenario_file = tmp_path / "tiny.yaml"
    scenario_file.write_text("name: tiny\n")
    out = write_results(
        results,
        tmp_path / "out",
        command=["escalation", "run", str(scenario_file)],
        input_files=[scenario_file],
    )
    manifest = read_manifest(out)
    assert manifest["kind"] == "run"
    assert manifest["seed"] == "3"
    assert isinstance(manifest["seed"], str)
    assert manifest["command"] == ["escalation", "run", str(scenario_file)]
    assert manifest["inputs"] == {str(scenario_file): file_sha256(scenario_file)}
    assert manifest["scenario"] == results.scenario.model_dump(mode="json")
    assert Scenario.model_validate(manifest["scenario"]) == results.scenario
    versions = manifest["versions"]
    assert versions["escalation"] == __version__
    assert {"python", "numpy", "pandas", "mesa", "numba", "platform"} <= set(versions)
    assert manifest["settings"]["parameters"] == {"raid_rate": 0.4}
    assert manifest["settings"]["runs"] == 20
    assert manifest["random_draws"] == results.draws > 0
    assert "Philox" in manifest["rng"]
    assert manifest["rng"].endswith(
        "negative binomial by inversion below mean 30, gamma-Poisson above"
    )
    assert set(manifest["timings"]) == {"simulate_seconds", "runs_per_second"}


def test_file_sha256(tmp_path: Path) -> None:
    path = tmp_path / "x.txt"
    path.write_bytes(b"abc")
    assert file_sha256(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_read_results_of_a_folder_without_manifest(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not a results folder"):
        read_results(tmp_path)


def test_stored_runs_keep_missing_days_as_missing(
    tmp_path: Path, results: SimulationResults
) -> None:
    back = read_results(write_results(results, tmp_path / "out"))
    never = back.runs["open_talks_first_day"]
    np.testing.assert_array_equal(never.isna(), results.runs["open_talks_first_day"].isna())


def test_a_streamed_run_writes_the_same_tables_as_one_in_memory(
    tmp_path: Path, tiny_crisis: Scenario
) -> None:
    from escalation.experiments.replicates import plan_runs
    from escalation.store import stream_results

    scenario = tiny_crisis
    plan = plan_runs(scenario, runs=37, seed=5, block_size=8)
    streamed = stream_results(scenario, plan, tmp_path / "streamed")
    whole = run_scenario(scenario, runs=37, seed=5)
    back = read_results(tmp_path / "streamed")
    for name in ("runs", "cycles", "spells", "timeseries"):
        pd.testing.assert_frame_equal(
            getattr(back, name).reset_index(drop=True),
            getattr(whole, name).reset_index(drop=True),
            check_dtype=False,
            check_categorical=False,
        )
    pd.testing.assert_frame_equal(streamed.runs, back.runs)
    assert read_manifest(tmp_path / "streamed")["seed"] == "5"


def test_a_large_streamed_run_keeps_only_run_ids_and_summarises_from_disk(
    tmp_path: Path, tiny_crisis: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    import escalation.store as store
    from escalation.experiments.replicates import plan_runs

    monkeypatch.setattr(store, "FULL_READ_LIMIT", 10)
    plan = plan_runs(tiny_crisis, runs=37, seed=5, block_size=8)
    streamed = store.stream_results(tiny_crisis, plan, tmp_path / "streamed")
    assert list(streamed.runs.columns) == ["run"]
    assert list(streamed.cycles.columns) == ["length"]
    back = read_results(tmp_path / "streamed")
    pd.testing.assert_series_equal(streamed.runs["run"], back.runs["run"])
    pd.testing.assert_series_equal(streamed.cycles["length"], back.cycles["length"])
    # The streamed results keep the lengths; the other columns come from disk.
    pd.testing.assert_frame_equal(streamed.cycle_columns("length"), streamed.cycles[["length"]])
    pd.testing.assert_frame_equal(streamed.cycle_columns(), back.cycles)
    assert len(back.cycles) > 0
    pd.testing.assert_series_equal(streamed.column("max_rung"), back.runs["max_rung"])
    back.timings = streamed.timings
    assert streamed.summary() == back.summary()
    pd.testing.assert_frame_equal(streamed.outcome_shares(), back.outcome_shares())


def test_a_lazy_read_holds_the_run_ids_and_reads_the_rest_when_asked(
    tmp_path: Path, mediated_results: SimulationResults
) -> None:
    out = write_results(mediated_results, tmp_path / "out")
    whole = read_results(out)
    lazy = read_results(out, lazy=True)
    assert list(lazy.runs.columns) == ["run"]
    assert lazy.spells.empty
    assert lazy.columns == whole.columns == tuple(mediated_results.runs.columns)
    for name in ("outcome", "max_rung", "truce_first_day"):
        pd.testing.assert_series_equal(lazy.column(name), whole.runs[name])
    with pytest.raises(KeyError):
        lazy.column("no_such_column")
    for run in (0, 137, 599):
        pd.testing.assert_series_equal(lazy.run_row(run), whole.run_row(run))
        assert lazy.run_row(run)["run"] == run
    with pytest.raises(KeyError):
        lazy.run_row(600)
    assert lazy.has_spells
    assert whole.has_spells
    truces = whole.spells_of("truce")
    assert len(truces) > 0
    assert set(truces["variable"].astype(str)) == {"truce"}
    pd.testing.assert_frame_equal(
        lazy.spells_of("truce").reset_index(drop=True), truces.reset_index(drop=True)
    )
    assert lazy.spells_of("no_such_variable").empty
    assert lazy.cycles.empty
    pd.testing.assert_frame_equal(lazy.cycle_columns(), whole.cycles)
    pd.testing.assert_frame_equal(lazy.cycle_columns("length"), whole.cycles[["length"]])
    pd.testing.assert_frame_equal(whole.cycle_columns("start_day"), whole.cycles[["start_day"]])
    assert lazy.timeseries.empty
    rung = whole.timeseries_of("rung")
    assert set(rung["series"].astype(str)) == {"rung"}
    assert set(rung["kind"].astype(str)) == {"band", "path"}
    pd.testing.assert_frame_equal(
        lazy.timeseries_of("rung").reset_index(drop=True), rung.reset_index(drop=True)
    )
    assert lazy.timeseries_of("no_such_series").empty
    pd.testing.assert_frame_equal(lazy.outcome_shares(), whole.outcome_shares())
    lazy.timings = whole.timings
    assert lazy.summary() == whole.summary()


def test_a_folder_without_spells_has_none_to_read_lazily(
    tmp_path: Path, mediated_results: SimulationResults
) -> None:
    out = write_results(mediated_results, tmp_path / "out")
    (out / "spells.parquet").unlink()
    for lazy in (False, True):
        back = read_results(out, lazy=lazy)
        assert not back.has_spells
        assert back.spells_of("truce").empty


def test_results_without_a_spell_still_have_a_spells_table(
    tmp_path: Path, tiny_crisis: Scenario
) -> None:
    # Talks never open in these runs: the spells table is empty, not missing, so
    # the truce figure says there was no spell in any run.
    calm = run_scenario(tiny_crisis, runs=5, seed=1, horizon_days=3, path_sample=0)
    assert calm.runs["talks_spells"].sum() == 0
    assert calm.spells.empty
    out = write_results(calm, tmp_path / "out")
    for results in (calm, read_results(out), read_results(out, lazy=True)):
        assert results.has_spells
        assert results.spells_of("talks").empty


@pytest.mark.parametrize(
    ("columns", "by_groups"),
    [
        (
            {
                "a": np.arange(10, dtype=np.int64),
                "b": np.linspace(0, 1, 10),
                "c": np.arange(10) % 2 == 0,
                "d": np.arange(10, dtype=np.uint32),
            },
            True,
        ),
        ({"a": np.arange(10, dtype=np.int32), "b": [1.0, None, 3, 4, 5, 6, 7, 8, 9, 10]}, False),
        ({"a": np.arange(10), "label": list("abcdefghij")}, False),
        ({"a": pd.Categorical(list("ababababab")), "b": np.arange(10.0)}, False),
    ],
    ids=["numbers", "a-missing-value", "strings", "categories"],
)
@pytest.mark.parametrize("row_groups", [1, 3])
def test_read_table_gives_what_pandas_reads(
    tmp_path: Path, columns: dict[str, Any], by_groups: bool, row_groups: int
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from escalation.store import _numeric_frame, read_table

    path = tmp_path / "table.parquet"
    frame = pd.DataFrame(columns)
    pq.write_table(
        pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=-(-10 // row_groups)
    )
    assert pq.ParquetFile(path).num_row_groups == row_groups
    assert (_numeric_frame(path, None) is not None) == by_groups
    pd.testing.assert_frame_equal(read_table(path), pd.read_parquet(path))
    pd.testing.assert_frame_equal(
        read_table(path, columns=[*columns][:1]), pd.read_parquet(path, columns=[*columns][:1])
    )
    if by_groups:
        pd.testing.assert_frame_equal(read_table(path), frame)


def test_read_table_of_an_empty_table(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from escalation.store import read_table

    path = tmp_path / "empty.parquet"
    pq.write_table(pa.table({"a": pa.array([], pa.int64())}), path)
    pd.testing.assert_frame_equal(read_table(path), pd.read_parquet(path))


def test_another_commands_folder_is_refused_by_name(
    tmp_path: Path, results: SimulationResults
) -> None:
    out = write_results(results, tmp_path / "out")
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["kind"] = "calibration"
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ResultsError, match="holds a 'calibration' result"):
        read_results(out)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda out: (out / "manifest.json").write_text("{bad"), "manifest.json: damaged"),
        (lambda out: (out / "manifest.json").write_text("[1, 2]"), "manifest.json: damaged"),
        (lambda out: (out / "runs.parquet").write_bytes(b"PAR1 cut"), "runs.parquet: damaged"),
        (lambda out: (out / "cycles.parquet").unlink(), "no cycles.parquet"),
        (lambda out: (out / "cycles.parquet").write_bytes(b"PAR1 cut"), "cycles.parquet: damaged"),
        (lambda out: (out / "spells.parquet").write_bytes(b"PAR1 cut"), "spells.parquet: damaged"),
        (
            lambda out: (out / "timeseries.parquet").write_bytes(b"cut"),
            "timeseries.parquet: damaged",
        ),
        (lambda out: (out / "timeseries.parquet").unlink(), "no timeseries.parquet"),
    ],
)
@pytest.mark.parametrize("lazy", [False, True], ids=["whole", "lazy"])
def test_a_damaged_folder_says_what_is_damaged(
    tmp_path: Path, results: SimulationResults, damage: Any, message: str, lazy: bool
) -> None:
    out = write_results(results, tmp_path / "out")
    damage(out)
    with pytest.raises(ResultsError, match=message):
        read_results(out, lazy=lazy)


def test_a_folder_that_appears_while_the_work_runs_is_left_alone(tmp_path: Path) -> None:
    out = tmp_path / "out"
    writing = atomic_folder(out)
    staging = writing.__enter__()
    (staging / "result.txt").write_text("computed")
    out.mkdir()
    (out / "precious.txt").write_text("someone else's")
    with pytest.raises(ResultsExistError, match="appeared while the work ran") as excinfo:
        writing.__exit__(None, None, None)
    assert (out / "precious.txt").read_text() == "someone else's"
    kept = [p for p in tmp_path.iterdir() if p.name.startswith("out.kept-")]
    assert len(kept) == 1
    assert str(kept[0]) in str(excinfo.value)
    assert (kept[0] / "result.txt").read_text() == "computed"
