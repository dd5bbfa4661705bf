"""The web page, end to end: a person opens it, types a prompt, watches progress, plays the song
and downloads it — against the real server and engine, in headless Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from web_fixtures import (
    audio_format_of,
    chromium,
    http_json,
    require_browser,
    running_server,
)

pytestmark = pytest.mark.slow

SONG_TIMEOUT_MS = 180_000  # a 30 s song takes seconds; a slow CI machine gets a wide margin
STEP_TIMEOUT_MS = 30_000
PROMPT = "driving 90s alternative rock anthem about leaving town, E minor"
SEED = 7


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_browser()
    root = tmp_path_factory.mktemp("web-e2e")
    with running_server(root / "data", root / "server.log") as base:
        yield base


@pytest.fixture(scope="module")
def browser(server: str) -> Iterator[Any]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    context = browser.new_context(
        base_url=server, viewport={"width": 1360, "height": 900}, accept_downloads=True
    )
    context.set_default_timeout(STEP_TIMEOUT_MS)
    page = context.new_page()
    page.script_errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda exc: page.script_errors.append(str(exc)))
    page.goto("/", timeout=STEP_TIMEOUT_MS)
    page.wait_for_selector("html[data-ready=true]")
    try:
        yield page
    finally:
        context.close()


def canvas_ink_fraction(page: Any) -> float:
    """The share of the waveform canvas covered by opaque pixels (the bars and playhead)."""
    return float(
        page.evaluate(
            """() => {
              const c = document.getElementById('waveform-canvas');
              const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
              let ink = 0;
              for (let i = 3; i < data.length; i += 4) if (data[i] > 200) ink++;
              return ink / (c.width * c.height);
            }"""
        )
    )


def test_a_person_makes_plays_and_downloads_a_song(page: Any, server: str, tmp_path: Path) -> None:
    page.fill("#prompt", PROMPT)
    page.fill("#duration", "30")
    page.fill("#seed", str(SEED))
    page.click("#submit")

    # the new job appears at the top of the list, selected, and progresses to done
    job = page.locator(".job.selected")
    job.wait_for()
    song_id = job.get_attribute("data-id")
    assert song_id, "the selected job row names its song"
    assert PROMPT in job.inner_text()
    page.wait_for_selector(
        f'.job[data-id="{song_id}"][data-status="succeeded"], '
        f'.job[data-id="{song_id}"][data-status="failed"]',
        timeout=SONG_TIMEOUT_MS,
    )
    assert job.get_attribute("data-status") == "succeeded", page.inner_text("#player")

    # the player decodes the audio into a drawn waveform with a marker per section
    page.wait_for_selector("#waveform[data-state=ready]", timeout=60_000)
    assert canvas_ink_fraction(page) > 0.02, "the waveform canvas is drawn"
    sheet = http_json(f"{server}v1/songs/{song_id}/metadata")
    markers = page.locator(".section-marker")
    assert markers.count() == len(sheet["sections"]) >= 2
    assert markers.first.inner_text().strip()
    assert page.locator("#song-facts").inner_text().count(sheet["key"]) == 1

    # playing moves the playhead; clicking a section marker seeks there
    page.click("#play")
    page.wait_for_function(
        "document.getElementById('audio').currentTime > 0.5", timeout=STEP_TIMEOUT_MS
    )
    last = sheet["sections"][-1]
    markers.last.click()
    at = page.evaluate("document.getElementById('audio').currentTime")
    assert at == pytest.approx(last["start_s"], abs=1.0)
    page.click("#play")  # pause

    # the waveform is a keyboard slider: Home goes to the start, an arrow steps 5 s
    page.focus("#waveform-canvas")
    page.keyboard.press("Home")
    page.keyboard.press("ArrowRight")
    at = page.evaluate("document.getElementById('audio').currentTime")
    assert at == pytest.approx(5.0, abs=0.5)

    # the song downloads through the button in the format it was made in
    with page.expect_download(timeout=60_000) as download_info:
        page.click("#download-song")
    song_file = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(song_file)
    assert song_file.suffix == ".wav"
    assert audio_format_of(song_file.read_bytes()[:16]) == "wav"

    # and as MP3, converted on the way out
    page.select_option("#download-format", "mp3")
    with page.expect_download(timeout=60_000) as download_info:
        page.click("#download-song")
    mp3_file = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(mp3_file)
    assert audio_format_of(mp3_file.read_bytes()[:16]) == "mp3"

    assert page.locator("#stem-list a").count() >= 1
    page.screenshot(path=str(tmp_path / "web-page.png"), full_page=True)
    print(f"screenshot: {tmp_path / 'web-page.png'}")
    assert page.script_errors == []  # type: ignore[attr-defined]


def test_an_invalid_field_is_explained_next_to_it(page: Any) -> None:
    jobs_before = page.locator(".job").count()
    page.fill("#prompt", "lofi beat to study to")
    page.fill("#key", "H minor")
    page.click("#submit")
    error = page.locator("#key-error")
    error.wait_for(state="visible")
    assert "H minor" in error.inner_text()
    assert page.get_attribute("#key", "aria-invalid") == "true"
    assert page.locator(".job").count() == jobs_before  # nothing was queued
    page.fill("#key", "F# minor")
    assert error.inner_text() == ""  # editing the field clears its message


def test_an_empty_prompt_is_caught_before_sending(page: Any) -> None:
    page.click("#submit")
    assert page.locator("#prompt-error").inner_text()
    assert page.evaluate("document.activeElement.id") == "prompt"
