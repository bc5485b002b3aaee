"""The HTML report: built from a small real run, then opened in a real headless Chromium.

The browser is driven over the Chrome DevTools protocol (a websocket), so the test
needs the ``chromium`` executable and the ``websocket-client`` package; it is
skipped, saying why, when either is missing.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from escalation import Scenario, run_scenario
from escalation.cli import main
from escalation.report import doctrine_table
from escalation.store import write_results

VIEWPORT = (1366, 768)
"""A laptop screen."""


@pytest.fixture(scope="module")
def results_folder(tiny_crisis: Scenario, tmp_path_factory: pytest.TempPathFactory) -> Path:
    results = run_scenario(tiny_crisis, runs=300, seed=11, path_sample=100)
    out = tmp_path_factory.mktemp("report") / "tiny"
    write_results(results, out, command=["escalation", "run", "tiny_crisis.yaml"])
    return out


@pytest.fixture(scope="module")
def report_command(results_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """``escalation report`` over an older file: refused, then forced (one report built)."""
    folder = tmp_path_factory.mktemp("written")
    out = folder / "report.html"
    out.write_text("an older report", encoding="utf-8")
    refused = main(["report", str(results_folder), "-o", str(out)])
    kept = out.read_text(encoding="utf-8")
    forced = main(["report", str(results_folder), "-o", str(out), "--force"])
    return {"refused": refused, "kept": kept, "forced": forced, "out": out, "folder": folder}


@pytest.fixture(scope="module")
def report_html(report_command: dict) -> str:
    html: str = report_command["out"].read_text(encoding="utf-8")
    return html


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    collector = _Collector()
    collector.feed(html)
    return collector.tags


def test_report_is_self_contained(report_html: str) -> None:
    tags = _tags(report_html)
    images = [attrs for tag, attrs in tags if tag == "img"]
    # outcomes, deaths, rung, cycles, truces (the 'talks' flag), the example run
    assert len(images) == 6
    assert all(str(attrs["src"]).startswith("data:image/png;base64,") for attrs in images)
    assert all(attrs.get("alt") for attrs in images)
    for tag, attrs in tags:
        for key in ("src", "href"):
            value = attrs.get(key)
            if value and not value.startswith(("data:", "#")):
                pytest.fail(f"<{tag} {key}={value!r}> would need a file or the network")
    assert "<script" not in report_html
    assert "@import" not in report_html
    assert "url(" not in report_html


def test_report_holds_summary_doctrine_and_provenance(
    report_html: str, tiny_crisis: Scenario
) -> None:
    for heading in (
        "Outcomes",
        "Deaths",
        "Escalation over time",
        "Retaliation cycles",
        "Truces",
        "An example run",
        "Doctrine",
        "Parameters",
        "Provenance",
    ):
        assert f"<h2>{heading}</h2>" in report_html
    for outcome in tiny_crisis.outcomes:
        assert f"<td>{outcome.id}</td>" in report_html
    for actor in tiny_crisis.actors.values():
        for rule in actor.policy:
            assert f"<code>{rule.id}</code>" in report_html
    assert "<code>militants.<wbr>revenge_<wbr>chance</code>" in report_html
    assert "raids per day" in report_html
    assert "seed: <b>11</b>" in report_html
    assert "version: numpy" in report_html


def _cells(html: str, section: str) -> list[list[str]]:
    """The rows of the first table of a section, as text."""
    body = html.split(f'<section id="{section}">', 1)[1].split("</section>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)
    return [
        [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", r)]
        for r in rows
    ]


def test_medians_of_first_days_say_they_are_of_the_runs_where_it_happened(
    report_html: str, results_folder: Path
) -> None:
    import pandas as pd

    runs = pd.read_parquet(results_folder / "runs.parquet")
    header, *rows = _cells(report_html, "truces")
    column = header.index("first day if ever (median)")
    (talks,) = [row for row in rows if row[0] == "talks"]
    held = runs.loc[runs["talks_days"] > 0, "talks_first_day"]
    assert 0 < len(held) < len(runs)
    assert float(talks[column]) == held.median()
    cycles = dict(_cells(report_html, "cycles")[1:])
    with_one = runs.loc[runs["cycles"] > 0, "first_cycle_day"]
    assert float(cycles["day of the first cycle: median, of the runs with one"]) == (
        with_one.median()
    )


def test_the_example_run_is_replayed_once(
    results_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import escalation.replay
    from escalation.report import build_report

    calls: list[int] = []
    replay_run = escalation.replay.replay_run

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[2])
        return replay_run(*args, **kwargs)

    monkeypatch.setattr(escalation.replay, "replay_run", counted)
    html = build_report(results_folder)
    assert len(calls) == 1
    assert f"Timeline of run {calls[0]}" in html


def test_scenario_text_is_escaped(tiny_crisis: Scenario) -> None:
    actor = tiny_crisis.actors["govt"]
    rule = actor.policy[0].model_copy(update={"source": '<script>alert("x")</script> & co'})
    changed = tiny_crisis.model_copy(
        update={
            "actors": {
                **tiny_crisis.actors,
                "govt": actor.model_copy(update={"policy": (rule, *actor.policy[1:])}),
            }
        }
    )
    table = doctrine_table(changed)
    assert "<script>" not in table
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co" in table


def test_report_command_never_overwrites_silently(
    report_command: dict, results_folder: Path, tmp_path: Path
) -> None:
    assert report_command["refused"] == 2
    assert report_command["kept"] == "an older report"
    assert report_command["forced"] == 0
    assert report_command["out"].read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in report_command["folder"].iterdir()] == ["report.html"]
    assert main(["report", str(results_folder), "-o", str(tmp_path / "r.txt")]) == 2
    assert main(["report", str(tmp_path / "nowhere")]) == 2


# --- a real browser ----------------------------------------------------------------


class _DevTools:
    """The least of the Chrome DevTools protocol: commands, and the events that came."""

    def __init__(self, url: str) -> None:
        import websocket

        self.socket = websocket.create_connection(url, timeout=30, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        ident = self.next_id
        self.socket.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            self.events.append(message)

    def wait_for(self, method: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not any(event.get("method") == method for event in self.events):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {method} within {timeout} s")
            self.events.append(json.loads(self.socket.recv()))

    def close(self) -> None:
        self.socket.close()


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no chromium executable on PATH (CI installs Debian's chromium package)")


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[_DevTools]:
    pytest.importorskip("websocket", reason="the browser test needs websocket-client")
    profile = tmp_path / "profile"
    process = subprocess.Popen(
        [
            _chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            f"--user-data-dir={profile}",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            f"--window-size={VIEWPORT[0]},{VIEWPORT[1]}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.is_file() and port_file.read_text().strip()):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("chromium did not start its DevTools endpoint")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
            targets = json.load(answer)
        page = next(t for t in targets if t.get("type") == "page")
        tools = _DevTools(page["webSocketDebuggerUrl"])
        try:
            yield tools
        finally:
            tools.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _problems(events: list[dict[str, Any]]) -> list[str]:
    """Console errors, uncaught exceptions and failed loads among the page's events."""
    problems = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            problems.append(f"console.{params['type']}: {params.get('args')}")
        elif method == "Runtime.exceptionThrown":
            problems.append(f"exception: {params.get('exceptionDetails', {}).get('text')}")
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            problems.append(f"log: {params['entry'].get('text')} {params['entry'].get('url', '')}")
        elif method == "Network.loadingFailed":
            problems.append(f"failed load: {params.get('errorText')}")
    return problems


def test_report_opens_in_chromium(
    browser: _DevTools, results_folder: Path, report_html: str, tmp_path: Path
) -> None:
    page = tmp_path / "report.html"
    page.write_text(report_html, encoding="utf-8")
    for domain in ("Page", "Runtime", "Log", "Network"):
        browser.send(f"{domain}.enable")
    browser.send(
        "Emulation.setDeviceMetricsOverride",
        width=VIEWPORT[0],
        height=VIEWPORT[1],
        deviceScaleFactor=1,
        mobile=False,
    )
    browser.send("Page.navigate", url=page.as_uri())
    browser.wait_for("Page.loadEventFired")
    answer = browser.send(
        "Runtime.evaluate",
        expression=(
            "JSON.stringify({images: Array.from(document.images).map(i => "
            "[i.complete, i.naturalWidth, i.naturalHeight, i.getBoundingClientRect().width]), "
            "width: document.documentElement.scrollWidth, view: window.innerWidth, "
            "clipped: Array.from(document.querySelectorAll('div.table'))"
            ".filter(d => d.scrollWidth > d.clientWidth + 1).map(d => d.textContent.slice(0, 60)), "
            "title: document.title, headings: document.querySelectorAll('h2').length})"
        ),
        returnByValue=True,
    )
    state = json.loads(answer["result"]["value"])
    images = state["images"]
    assert len(images) == 6
    for complete, natural_width, natural_height, shown_width in images:
        assert complete, "an image did not finish loading"
        assert natural_width > 0, "an image did not decode"
        assert natural_height > 0, "an image did not decode"
        assert 0 < shown_width <= VIEWPORT[0]
    # Nothing wider than the laptop screen: no sideways scrolling of the page.
    assert state["width"] <= state["view"]
    # ... and no table that must be scrolled sideways to be read.
    assert state["clipped"] == []
    assert state["headings"] >= 9
    assert re.search(r"\w", state["title"])
    requests = [
        event["params"]["request"]["url"]
        for event in browser.events
        if event.get("method") == "Network.requestWillBeSent"
    ]
    assert all(url.startswith(("file:", "data:")) for url in requests), requests
    assert _problems(browser.events) == []
    shot = browser.send("Page.captureScreenshot", format="png")
    (tmp_path / "report-laptop.png").write_bytes(base64.b64decode(shot["data"]))
    size = browser.send("Page.getLayoutMetrics")["cssContentSize"]
    full = browser.send(
        "Page.captureScreenshot",
        format="png",
        captureBeyondViewport=True,
        clip={"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
    )
    (tmp_path / "report-full.png").write_bytes(base64.b64decode(full["data"]))
    assert (tmp_path / "report-laptop.png").stat().st_size > 10_000
