"""The benchmark at its smallest sizes: it runs, and its JSON has every figure, with sane values.

Speed is not asserted (that is what the benchmark reports); this keeps the benchmark code working.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SUMMARY_KEYS = {"n", "p50", "p99", "max"}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("bench") / "latest.json"
    run = subprocess.run(  # noqa: S603 - our own interpreter running our own module
        [sys.executable, "-m", "bench", "--smoke", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Targets" in run.stdout  # the table was printed
    return json.loads(out.read_text())


def sane(summary: dict[str, float], *, at_most_ms: float = 60_000) -> bool:
    return (
        set(summary) == SUMMARY_KEYS
        and summary["n"] > 0
        and 0 <= summary["p50"] <= summary["p99"] <= at_most_ms
    )


def test_every_scenario_is_reported(results: dict[str, Any]) -> None:
    assert {
        "latency",
        "throughput",
        "streaming",
        "tokens",
        "token_cost",
        "history",
        "memory",
        "machine",
    } <= set(results)
    assert results["mode"] == "smoke" and results["machine"]["cores"] >= 1


def test_latency_and_throughput_figures(results: dict[str, Any]) -> None:
    for run in results["latency"]:
        assert run["answers"] > 0
        assert all(sane(run[key]) for key in ("added_ms", "before_model_ms", "after_model_ms", "loop_lag_ms"))
    throughput = results["throughput"]
    assert throughput["answers"] > 0 and throughput["answers_per_second"] > 0
    assert throughput["discord_requests_per_answer"] >= 1


def test_streaming_figures(results: dict[str, Any]) -> None:
    streaming = results["streaming"]
    assert sane(streaming["first_chunk_to_visible_ms"]) and sane(streaming["last_chunk_to_final_text_ms"])
    assert streaming["edits_per_answer_max"] >= streaming["edits_per_answer"] >= 0


def test_token_figures_compare_the_windows(results: dict[str, Any]) -> None:
    windows = results["tokens"]["windows"]
    assert windows[0]["window"] == "sliding" and len(windows) >= 2
    for window in windows:
        assert window["turns"] == results["tokens"]["turns"] == len(window["prompt_tokens"])
        assert 0 <= window["cached_share"] <= 1 and window["prompt_tokens_per_turn"] > 0
        assert all(
            0 <= hit <= prompt
            for hit, prompt in zip(window["cached_tokens"], window["prompt_tokens"], strict=True)
        )


def test_token_cost_figures_set_the_tokenizer_beside_the_old_estimate(results: dict[str, Any]) -> None:
    kinds = {kind["kind"]: kind for kind in results["token_cost"]["kinds"]}
    assert results["token_cost"]["load_seconds"] > 0
    for kind in kinds.values():
        assert kind["tokens"] > 0 and kind["old_estimate"] > 0
        for key in ("tokenizer_us", "old_estimate_us"):
            assert set(kind[key]) == SUMMARY_KEYS and 0 <= kind[key]["p50"] <= kind[key]["p99"]
    # The estimate's blind spot, which the tokenizer closes: JSON costs far more than chars / 4.
    json_answer = kinds["JSON (ids, URLs, hashes)"]
    assert json_answer["tokens"] > 1.3 * json_answer["old_estimate"]


def test_history_and_memory_figures(results: dict[str, Any]) -> None:
    for step in results["history"]["steps"]:
        assert step["messages"] > 0 and step["db_mb"] > 0 and step["hot_turns_sent"] > 0
        assert all(sane(step[key]) for key in ("hot_build_ms", "random_build_ms", "append_ms"))
    memory = results["memory"]
    assert 0 < memory["ready_rss_mb"] <= memory["peak_rss_mb"] and memory["conversations"] > 0


def test_metrics_cost_figures(results: dict[str, Any]) -> None:
    cost = results["metrics"]
    assert cost["answers_each"] > 0 and cost["off_ms"]["n"] == cost["on_ms"]["n"] == cost["answers_each"]
    assert sane(cost["off_ms"]) and sane(cost["on_ms"])


def test_settings_cost_figures(results: dict[str, Any]) -> None:
    cost = results["settings"]
    assert cost["answers_each"] > 0 and cost["off_ms"]["n"] == cost["on_ms"]["n"] == cost["answers_each"]
    assert sane(cost["off_ms"]) and sane(cost["on_ms"])


def test_attachment_figures(results: dict[str, Any]) -> None:
    prepare = results["attachments"]["prepare"]
    assert prepare["images"] == 4 and prepare["skipped"] == [] and prepare["tokens"] >= 4 * 85
    assert 0 < prepare["rss_before_mb"] <= prepare["peak_rss_mb"] and prepare["seconds"] > 0
    build = results["attachments"]["build"]
    assert all(sane(summary) for summary in build["text_only_build_ms"].values())
    assert sane(build["four_images_build_ms"]) and build["four_images_request_kib"] > 0


def test_load_figures_on_discords_real_limit(results: dict[str, Any]) -> None:
    load = results["load"]
    assert load["budget_per_second"] == 45
    for burst in load["bursts"]:
        assert burst["complete"] == burst["answers"] > 0
        assert 0 < burst["peak_requests_per_second"] <= load["budget_per_second"]
        assert burst["global_429s"] == 0
        assert sane(burst["final_after_last_chunk_ms"])
        assert 0 <= burst["partial_first"] <= burst["answers"] <= burst["writes_needed"]


def test_postgres_figures(results: dict[str, Any]) -> None:
    figures = results["postgres"]
    assert figures["latency"]["answers"] > 0 and figures["latency_sqlite"]["answers"] > 0
    assert figures["history"]["steps"][0]["hot_turns_sent"] > 0
    assert figures["reservations"]["two_processes_per_second"] > 0
    assert "| reservations (hold + settle) per second" in results["postgres_table"]
