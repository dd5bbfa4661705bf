"""The command line: clear messages and documented exit codes, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from songforge.cli import EXIT_BAD_INPUT, EXIT_OUTPUT, EXIT_SOUNDFONT


def songforge(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a subprocess, as a user would."""
    return subprocess.run(
        [sys.executable, "-c", "from songforge.cli import main; main()", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        check=False,
    )


def no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--bpm", "300"], "bpm"),
        (["--duration", "12:00"], "duration"),
        (["--key", "H minor"], "key"),
        (["--genre", "polka-step"], "genre"),
        (["--time-signature", "7/8"], "time_signature"),
        (["--format", "aiff"], "format"),
        (["--sample-rate", "22050"], "sample_rate"),
        (["--structure", "intro,kazoo"], "structure"),
    ],
)
def test_bad_input_names_the_field_and_exits_2(tmp_path: Path, args: list[str], field: str) -> None:
    result = songforge("generate", "a song", *args, "-o", str(tmp_path / "x.wav"))
    assert result.returncode == EXIT_BAD_INPUT
    assert field in result.stderr
    no_traceback(result)
    assert list(tmp_path.iterdir()) == []  # nothing is written


def test_an_unknown_extension_is_refused(tmp_path: Path) -> None:
    result = songforge("generate", "a song", "-o", str(tmp_path / "x.aiff"))
    assert result.returncode == EXIT_BAD_INPUT
    assert "extension" in result.stderr
    no_traceback(result)


def test_an_unwritable_path_exits_3_before_generating(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = songforge("generate", "a song", "-o", str(blocker / "song.wav"))
    assert result.returncode == EXIT_OUTPUT
    assert "cannot write" in result.stderr
    no_traceback(result)


def test_a_broken_soundfont_exits_4(tmp_path: Path) -> None:
    fake = tmp_path / "broken.sf2"
    fake.write_text("this is not a SoundFont")
    result = songforge(
        "generate", "a song", "--soundfont", str(fake), "-o", str(tmp_path / "x.wav")
    )
    assert result.returncode == EXIT_SOUNDFONT
    assert "broken.sf2" in result.stderr
    no_traceback(result)


def test_generate_writes_song_metadata_midi_and_stems(tmp_path: Path) -> None:
    out = tmp_path / "anthem.flac"
    result = songforge(
        "generate",
        "driving alternative rock anthem, 140 bpm, E minor",
        "--duration",
        "0:30",
        "--seed",
        "3",
        "--stems",
        "--midi",
        "--json",
        "-o",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["style"] == "rock" and summary["tempo_bpm"] == 140
    assert summary["key"] == "E minor"
    sheet = json.loads(out.with_suffix(".json").read_text())
    assert sheet["audio"]["format"] == "flac"
    assert sheet["request"]["seed"] == 3 and sheet["seed"] == 3
    assert out.read_bytes()[:4] == b"fLaC"
    assert out.with_suffix(".mid").read_bytes()[:4] == b"MThd"
    stems = sorted(p.name for p in (tmp_path / "anthem.stems").iterdir())
    assert "drums.flac" in stems and "bass.flac" in stems and "returns.flac" in stems
    assert {s["name"] for s in summary["sections"]}


def test_quiet_prints_nothing_and_the_same_seed_gives_the_same_file(tmp_path: Path) -> None:
    first, second = tmp_path / "a.wav", tmp_path / "b.wav"
    for path in (first, second):
        result = songforge(
            "generate", "chill lofi beat", "--duration", "30", "--seed", "9", "-q", "-o", str(path)
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout == ""
    assert first.read_bytes() == second.read_bytes()


def test_explain_shows_what_was_inferred_from_which_words() -> None:
    result = songforge("explain", "songs like early Metallica")
    assert result.returncode == 0
    assert "metal" in result.stdout.lower()
    assert "metallica" in result.stdout.lower()


def test_styles_lists_every_genre() -> None:
    result = songforge("styles", "--json")
    assert result.returncode == 0
    ids = {s["id"] for s in json.loads(result.stdout)}
    assert len(ids) >= 18 and {"rock", "house", "jazz", "cinematic"} <= ids


def test_remix_rearranges_a_song_in_another_genre(tmp_path: Path) -> None:
    song = tmp_path / "house.wav"
    made = songforge(
        "generate",
        "deep house",
        "--genre",
        "house",
        "--duration",
        "30",
        "--seed",
        "7",
        "-q",
        "-o",
        str(song),
    )
    assert made.returncode == 0, made.stderr
    remixed = tmp_path / "house-synthwave.wav"
    result = songforge(
        "remix",
        str(song.with_suffix(".json")),
        "--genre",
        "synthwave",
        "--json",
        "-o",
        str(remixed),
    )
    assert result.returncode == 0, result.stderr
    original = json.loads(song.with_suffix(".json").read_text())
    sheet = json.loads(remixed.with_suffix(".json").read_text())
    assert sheet["style"]["id"] == "synthwave"
    assert sheet["chords_by_bar"] == original["chords_by_bar"]  # same composition
    assert sheet["composition"]["melody"] == original["composition"]["melody"]


def test_remix_of_a_file_that_is_not_a_sheet_exits_2(tmp_path: Path) -> None:
    bogus = tmp_path / "x.json"
    bogus.write_text("[1, 2, 3]")
    result = songforge("remix", str(bogus), "--genre", "rock")
    assert result.returncode == EXIT_BAD_INPUT
    no_traceback(result)


def test_analyze_measures_a_file_and_refuses_a_missing_one(tmp_path: Path) -> None:
    song = tmp_path / "s.wav"
    assert (
        songforge(
            "generate",
            "techno",
            "--genre",
            "techno",
            "--bpm",
            "130",
            "--duration",
            "30",
            "--seed",
            "2",
            "-q",
            "-o",
            str(song),
        ).returncode
        == 0
    )
    result = songforge("analyze", str(song), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert abs(report["integrated_lufs"] + 14) <= 1
    assert abs(report["duration_s"] - 30) <= 1
    missing = songforge("analyze", str(tmp_path / "nope.wav"))
    assert missing.returncode == EXIT_BAD_INPUT
    no_traceback(missing)
