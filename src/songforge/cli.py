"""The `songforge` command line: generate, explain, styles, remix, analyze (+ service commands).

Exit codes: 0 success · 2 bad input or usage · 3 output not writable · 4 SoundFont missing or
broken · 5 generation failed · 6 provider unavailable · 7 content refused by a provider ·
8 budget exceeded · 130 interrupted."""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from songforge.errors import (
    AudioReadError,
    BudgetExceeded,
    ContentRefused,
    InvalidRequest,
    OutputError,
    ProviderUnavailable,
    SongforgeError,
    SoundFontError,
    StyleFileError,
)

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_OUTPUT = 3
EXIT_SOUNDFONT = 4
EXIT_FAILED = 5
EXIT_PROVIDER_UNAVAILABLE = 6
EXIT_REFUSED = 7
EXIT_BUDGET = 8
EXIT_INTERRUPTED = 130

app = typer.Typer(
    name="songforge",
    help="Turn a text prompt into a finished, mastered song — offline, on any laptop.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


def exit_code_for(exc: BaseException) -> int:
    """The one place errors become exit codes."""
    if isinstance(exc, InvalidRequest | ValidationError | StyleFileError | AudioReadError):
        return EXIT_BAD_INPUT
    if isinstance(exc, OutputError):
        return EXIT_OUTPUT
    if isinstance(exc, SoundFontError):
        return EXIT_SOUNDFONT
    if isinstance(exc, ContentRefused):
        return EXIT_REFUSED
    if isinstance(exc, ProviderUnavailable):
        return EXIT_PROVIDER_UNAVAILABLE
    if isinstance(exc, BudgetExceeded):
        return EXIT_BUDGET
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    return EXIT_FAILED


def describe_validation_error(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        field = ".".join(str(p) for p in error["loc"]) or "request"
        message = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"{field}: {message}")
    return "; ".join(lines)


def fail(exc: BaseException) -> NoReturn:
    if isinstance(exc, ValidationError):
        message = describe_validation_error(exc)
    elif isinstance(exc, SongforgeError):
        message = exc.message
    elif isinstance(exc, KeyboardInterrupt):
        message = "interrupted"
    else:
        message = f"internal error: {type(exc).__name__}: {exc}"
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(exit_code_for(exc))


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn every error into a message and an exit code; tracebacks only with SONGFORGE_DEBUG."""
    try:
        yield
    except typer.Exit:
        raise
    except (SongforgeError, ValidationError, KeyboardInterrupt, Exception) as exc:
        if os.environ.get("SONGFORGE_DEBUG"):
            raise
        fail(exc)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "song"


@contextmanager
def _progress_bar(enabled: bool) -> Iterator[Callable[[Any], None]]:
    if not enabled:
        yield lambda _p: None
        return
    bar = Progress(
        TextColumn("[bold]{task.description:<18}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )
    task = bar.add_task("starting", total=1)
    with bar:

        def update(p: Any) -> None:
            bar.update(task, description=p.stage, completed=p.done, total=p.total)

        yield update
        bar.update(task, description="done", completed=1, total=1)


def _summary(song: Any, written: list[Path]) -> dict[str, Any]:
    meta = song.metadata
    return {
        "files": [str(p) for p in written],
        "style": meta.get("style", {}).get("id"),
        "tempo_bpm": meta.get("tempo_bpm"),
        "key": meta.get("key"),
        "time_signature": meta.get("time_signature"),
        "duration_s": meta.get("duration_s"),
        "seed": meta.get("seed"),
        "loudness": meta.get("loudness"),
        "provider": meta.get("provider"),
        "cost_usd": (meta.get("cost") or {}).get("actual_usd"),
        "sections": [
            {"name": s["name"], "start_s": s["start_s"], "end_s": s["end_s"]}
            for s in meta.get("sections", [])
        ],
    }


def _print_summary(summary: dict[str, Any]) -> None:
    table = Table(title=None, show_header=True, header_style="bold")
    table.add_column("section")
    table.add_column("start", justify="right")
    table.add_column("end", justify="right")
    for s in summary["sections"]:
        table.add_row(s["name"], _mmss(s["start_s"]), _mmss(s["end_s"]))
    out.print(table)
    loud = summary.get("loudness") or {}
    out.print(
        f"[bold]{summary['style']}[/] · {summary['tempo_bpm']:g} bpm · {summary['key']} · "
        f"{summary['time_signature']} · {_mmss(summary['duration_s'])} · seed {summary['seed']} · "
        f"{loud.get('integrated_lufs')} LUFS · {loud.get('true_peak_dbtp')} dBTP",
        highlight=False,
    )
    for path in summary["files"]:
        out.print(f"  wrote {path}", highlight=False)


def _mmss(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def _settings(soundfont: Path | None, no_soundfont: bool) -> Any:
    from songforge.settings import Settings

    overrides: dict[str, Any] = {}
    if soundfont is not None:
        overrides["soundfont"] = soundfont
    if no_soundfont:
        overrides["use_soundfont"] = False
    settings = Settings(**overrides)
    if soundfont is not None:  # fail early and clearly on a bad explicit SoundFont
        from songforge.render.soundfont import find_soundfont

        find_soundfont(soundfont)
    return settings


@app.command()
def generate(
    prompt: Annotated[str, typer.Argument(help="What the song should be, in words")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Output file")] = None,
    genre: Annotated[str | None, typer.Option(help="Style id or alias (see `styles`)")] = None,
    mood: Annotated[str | None, typer.Option()] = None,
    bpm: Annotated[float | None, typer.Option(help="Tempo 40–240")] = None,
    key: Annotated[str | None, typer.Option(help="e.g. 'E minor', 'F#m', 'Bb'")] = None,
    mode: Annotated[str | None, typer.Option(help="major, minor, dorian, …")] = None,
    time_signature: Annotated[str | None, typer.Option(help="4/4, 3/4 or 6/8")] = None,
    duration: Annotated[str | None, typer.Option(help="Seconds or m:ss (0:30–10:00)")] = None,
    structure: Annotated[
        str | None, typer.Option(help="Section order, e.g. 'intro,verse,chorus,outro'")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Same seed, same song")] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="wav, flac, mp3 or ogg (default: from -o)")
    ] = None,
    sample_rate: Annotated[int, typer.Option(help="44100 or 48000")] = 44100,
    instrument: Annotated[
        list[str] | None, typer.Option("--instrument", help="Instrument hint (repeatable)")
    ] = None,
    stems: Annotated[bool, typer.Option("--stems", help="Also write one file per part")] = False,
    midi: Annotated[bool, typer.Option("--midi", help="Also write a MIDI file")] = False,
    provider: Annotated[
        str | None,
        typer.Option(help="Provider or fallback order, e.g. 'stable-audio,songforge'"),
    ] = None,
    lyrics: Annotated[str | None, typer.Option(help="Lyrics, for providers that sing")] = None,
    soundfont: Annotated[Path | None, typer.Option(help="General MIDI .sf2 to use")] = None,
    no_soundfont: Annotated[bool, typer.Option("--no-soundfont", help="Synth only")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary")] = False,
) -> None:
    """Write a whole mastered song (plus its metadata JSON, and optionally stems and MIDI)."""
    with user_errors():
        from songforge.providers import ProviderGenerator
        from songforge.render.codec import format_from_path
        from songforge.render.meter import single_threaded_blas_from_now
        from songforge.request import AudioFormat, SongRequest

        fields: dict[str, Any] = {
            "prompt": prompt,
            "genre": genre,
            "mood": mood,
            "bpm": bpm,
            "key": key,
            "mode": mode,
            "time_signature": time_signature,
            "duration": duration,
            "structure": structure,
            "seed": seed,
            "sample_rate": sample_rate,
            "instruments": instrument or [],
            "provider": provider,
            "lyrics": lyrics,
        }
        chosen = None
        if fmt is not None:
            try:
                chosen = AudioFormat(fmt.lower())
            except ValueError:
                raise InvalidRequest("format", "must be one of wav, flac, mp3, ogg") from None
        elif output is not None:
            chosen = format_from_path(output)
            if chosen is None and output.suffix:
                raise InvalidRequest(
                    "output", f"unknown extension {output.suffix!r}; use .wav .flac .mp3 .ogg"
                )
        if chosen is not None:
            fields["format"] = chosen
        request = SongRequest.model_validate({k: v for k, v in fields.items() if v is not None})
        settings = _settings(soundfont, no_soundfont).model_copy(update={"keep_stems": stems})
        if output is None:
            output = Path("out") / f"{_slug(prompt)}.{request.format.value}"
        elif output.suffix == "":
            output = output.with_suffix(f".{request.format.value}")
        _check_writable(output)
        single_threaded_blas_from_now()  # this process only makes this song
        with _progress_bar(not quiet and not as_json) as update:
            song = ProviderGenerator(settings).generate(request, update)
            written = song.write(output, fmt=request.format, stems=stems, midi=midi)
        summary = _summary(song, written)
        if as_json:
            out.print_json(json.dumps(summary))
        elif not quiet:
            _print_summary(summary)
        _finished_song()


def _check_writable(path: Path) -> None:
    """Refuse an unwritable destination before spending time on the song."""
    parent = path.parent if str(path.parent) else Path(".")
    probe = parent
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK):
        raise OutputError(f"cannot write {path}: {probe} is not a writable directory")
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a directory")


@app.command()
def explain(
    prompt: Annotated[str, typer.Argument(help="A prompt to interpret")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show how a prompt is understood: genre, mood, tempo, key, energy, and from which words."""
    with user_errors():
        from songforge.engine import explain as run
        from songforge.prompt.understand import explain_text

        if not prompt.strip():
            raise InvalidRequest("prompt", "must not be empty")
        interpretation = run(prompt)
        if as_json:
            import dataclasses

            data = dataclasses.asdict(interpretation)
            out.print_json(json.dumps(data, default=str))
        else:
            out.print(explain_text(interpretation), highlight=False, markup=False)


@app.command()
def styles(
    name: Annotated[str | None, typer.Argument(help="Show one style in full")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List the genres and what defines each."""
    with user_errors():
        from songforge.styles.catalog import default_catalog

        catalog = default_catalog()
        chosen = [catalog.resolve(name)] if name else list(catalog)
        if as_json:
            out.print_json(json.dumps([s.model_dump(mode="json") for s in chosen]))
            return
        table = Table(show_header=True, header_style="bold", show_lines=name is not None)
        for column in ("style", "bpm", "feel", "parts", "what defines it"):
            table.add_column(column)
        for s in chosen:
            parts = ", ".join(p.name for p in s.parts)
            table.add_row(
                s.id,
                f"{s.tempo_bpm[0]:g}–{s.tempo_bpm[1]:g}",
                s.feel.value,
                ("drums, " if s.drums else "") + parts,
                s.description,
            )
        out.print(table)


@app.command()
def remix(
    sheet: Annotated[Path, typer.Argument(help="A song's metadata JSON (written beside it)")],
    genre: Annotated[str, typer.Option(help="The style to re-arrange it in")],
    output: Annotated[Path | None, typer.Option("-o", "--output")] = None,
    seed: Annotated[int | None, typer.Option()] = None,
    stems: Annotated[bool, typer.Option("--stems")] = False,
    midi: Annotated[bool, typer.Option("--midi")] = False,
    soundfont: Annotated[Path | None, typer.Option()] = None,
    no_soundfont: Annotated[bool, typer.Option("--no-soundfont")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Re-arrange a song's composition (form, harmony, melody) in another genre."""
    with user_errors():
        from songforge.engine import remix as run
        from songforge.render.codec import format_from_path
        from songforge.render.meter import single_threaded_blas_from_now

        try:
            data = json.loads(sheet.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InvalidRequest("sheet", f"{sheet} does not exist") from None
        except (OSError, json.JSONDecodeError) as exc:
            raise InvalidRequest("sheet", f"{sheet} is not a readable JSON file: {exc}") from None
        if not isinstance(data, dict) or "composition" not in data or "request" not in data:
            raise InvalidRequest("sheet", f"{sheet} is not a songforge metadata sheet")
        settings = _settings(soundfont, no_soundfont).model_copy(update={"keep_stems": stems})
        if output is None:
            output = sheet.with_name(f"{sheet.stem}-{genre}.wav")
        fmt = format_from_path(output)
        if fmt is None:
            raise InvalidRequest("output", "use a .wav, .flac, .mp3 or .ogg file name")
        _check_writable(output)
        single_threaded_blas_from_now()  # this process only makes this song
        with _progress_bar(not quiet and not as_json) as update:
            try:
                song = run(data, genre=genre, seed=seed, settings=settings, progress=update)
            except (KeyError, ValueError, TypeError) as exc:
                if isinstance(exc, SongforgeError):
                    raise
                raise InvalidRequest("sheet", f"malformed composition in {sheet}: {exc}") from None
            written = song.write(output, fmt=fmt, stems=stems, midi=midi)
        summary = _summary(song, written)
        if as_json:
            out.print_json(json.dumps(summary))
        elif not quiet:
            _print_summary(summary)
        _finished_song()


@app.command()
def analyze(
    file: Annotated[Path, typer.Argument(help="Any WAV, FLAC, MP3 or OGG file")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Measure tempo, key, loudness, true peak, duration and silences of an audio file."""
    with user_errors():
        from songforge.analysis import analyze_file

        if not file.exists():
            raise InvalidRequest("file", f"{file} does not exist")
        result = analyze_file(file)
        data = result.to_dict()
        if as_json:
            out.print_json(json.dumps(data, default=str))
            return
        table = Table(show_header=False)
        for name, value in data.items():
            table.add_row(name, str(value))
        out.print(table)


def _register_commands() -> None:
    from songforge.cli_providers import register as register_providers
    from songforge.cli_service import register as register_service

    register_service(app)
    register_providers(app)


def _redact_logs() -> None:
    """Secrets never reach a log line, whatever logs them."""
    import logging

    from songforge.providers.redact import redacting_filter
    from songforge.settings import Settings

    try:
        log_filter = redacting_filter(Settings())
    except Exception:  # a broken config is reported by the command itself
        return
    logging.getLogger().addFilter(log_filter)
    for handler in logging.getLogger().handlers:
        handler.addFilter(log_filter)


_song_written = False  # set once a command has written its song and said so


def _finished_song() -> None:
    global _song_written
    _song_written = True


def _exit_now(code: object) -> NoReturn:
    """End the process without the interpreter's teardown, which took ~0.2 s after a song
    (freeing every module's objects, measured): the song and its files are written and
    closed, so only the output streams and log handlers are left to flush."""
    import logging

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    logging.shutdown()
    os._exit(code if isinstance(code, int) else (0 if code is None else 1))


def main() -> None:
    _register_commands()
    _redact_logs()
    try:
        app()
    except KeyboardInterrupt:
        err.print("[bold red]error:[/] interrupted")
        sys.exit(EXIT_INTERRUPTED)
    except SystemExit as done:
        if _song_written:
            _exit_now(done.code)
        raise
