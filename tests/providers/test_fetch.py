"""Downloading provider output: https from the adapter's hosts only (plus a test allow-list for
127.0.0.1 emulators), a size cap, a timeout, and bytes that must decode as audio."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import numpy as np
import pytest
import soundfile

from songforge.errors import ProviderError
from songforge.providers import Clip, ClipRequest, FetchPolicy, fetch_audio, validate_clip
from songforge.settings import Settings


def wav_bytes(seconds: float = 0.5, rate: int = 32000) -> bytes:
    tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(round(seconds * rate)) / rate)
    buffer = io.BytesIO()
    soundfile.write(buffer, np.stack([tone, tone]).T, rate, format="WAV")
    return buffer.getvalue()


WAV = wav_bytes()


class Emulator(BaseHTTPRequestHandler):
    """A provider's file host on 127.0.0.1: a few paths with known behaviour."""

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path == "/song.wav":
            self._send(200, WAV, "audio/wav")
        elif path == "/moved":
            self._redirect("/song.wav")
        elif path == "/elsewhere":
            self._redirect("http://files.evil.example/song.wav")
        elif path == "/huge":
            self.send_response(200)
            self.send_header("Content-Length", str(10_000_000))
            self.end_headers()
        elif path == "/endless":  # no Content-Length: the cap must count bytes
            self.send_response(200)
            self.end_headers()
            for _ in range(64):
                self.wfile.write(b"\0" * 4096)
        elif path == "/page":
            self._send(200, b"<html>not audio</html>", "text/html")
        elif path == "/slow":
            time.sleep(1.0)
            self._send(200, WAV, "audio/wav")
        else:
            status = int(path.strip("/")) if path.strip("/").isdigit() else 404
            self._send(status, b'{"error": "nope"}', "application/json")

    def _send(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture(scope="module")
def host() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Emulator)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def emulator_policy(**overrides: object) -> FetchPolicy:
    fields: dict[str, object] = {
        "allowed_hosts": ("cdn.provider.example",),
        "allow_http_hosts": ("127.0.0.1",),
        "max_bytes": 100_000,
        "timeout_s": 5.0,
    }
    return FetchPolicy(**{**fields, **overrides})  # type: ignore[arg-type]


def test_audio_from_the_emulator_on_the_test_allow_list_is_fetched_and_decoded(host: str) -> None:
    fetched = fetch_audio(f"{host}/song.wav", emulator_policy(), provider="emu")
    assert fetched.sample_rate_hz == 32000 and fetched.audio.shape == (2, 16000)
    assert fetched.content_type == "audio/wav" and fetched.data == WAV


def test_plain_http_is_refused_without_the_test_allow_list(host: str) -> None:
    policy = FetchPolicy(allowed_hosts=("127.0.0.1",))
    with pytest.raises(ProviderError, match="only https") as caught:
        fetch_audio(f"{host}/song.wav", policy)
    assert not caught.value.retryable


def test_hosts_the_adapter_did_not_declare_are_refused_before_connecting() -> None:
    with pytest.raises(ProviderError, match=r"not one of the provider's hosts"):
        fetch_audio("https://attacker.example/x.wav", emulator_policy())


def test_wildcards_cover_subdomains_only() -> None:
    policy = FetchPolicy(allowed_hosts=("*.replicate.delivery",))
    assert policy.host_allowed("pbxt.replicate.delivery")
    assert not policy.host_allowed("replicate.delivery.evil.example")
    assert not policy.host_allowed("evilreplicate.delivery")


def test_a_redirect_is_followed_only_to_allowed_hosts(host: str) -> None:
    assert fetch_audio(f"{host}/moved", emulator_policy()).data == WAV
    with pytest.raises(ProviderError, match=r"files\.evil\.example is not one of"):
        fetch_audio(f"{host}/elsewhere", emulator_policy())


def test_a_file_over_the_size_cap_is_refused(host: str) -> None:
    with pytest.raises(ProviderError, match="over the 100,000 byte cap"):
        fetch_audio(f"{host}/huge", emulator_policy())
    with pytest.raises(ProviderError, match="over the 100,000 byte cap"):
        fetch_audio(f"{host}/endless", emulator_policy())


def test_bytes_that_are_not_audio_are_refused(host: str) -> None:
    with pytest.raises(ProviderError, match="not audio") as caught:
        fetch_audio(f"{host}/page", emulator_policy())
    assert not caught.value.retryable


@pytest.mark.parametrize(
    ("status", "retryable"), [(404, False), (410, False), (503, True), (429, True)]
)
def test_http_errors_say_whether_to_retry(host: str, status: int, retryable: bool) -> None:
    with pytest.raises(ProviderError) as caught:
        fetch_audio(f"{host}/{status}", emulator_policy())
    assert caught.value.status == status and caught.value.retryable is retryable


def test_a_slow_download_times_out_as_retryable(host: str) -> None:
    with pytest.raises(ProviderError, match="timed out") as caught:
        fetch_audio(f"{host}/slow", emulator_policy(timeout_s=0.2))
    assert caught.value.retryable


def test_signed_query_strings_never_appear_in_errors(host: str) -> None:
    url = f"{host}/404?X-Amz-Signature=deadbeefcafe1234&X-Amz-Credential=AKIAXXXX"
    with pytest.raises(ProviderError) as caught:
        fetch_audio(url, emulator_policy())
    assert "deadbeef" not in str(caught.value) and "AKIA" not in str(caught.value)


def test_credentials_in_the_url_are_refused() -> None:
    with pytest.raises(ProviderError, match="credentials"):
        fetch_audio("https://user:pw@cdn.provider.example/a.wav", emulator_policy())


def test_https_downloads_go_through_the_adapters_client() -> None:
    def cdn(request: httpx.Request) -> httpx.Response:
        assert request.url.host == "cdn.provider.example"
        return httpx.Response(200, content=WAV, headers={"content-type": "audio/wav"})

    with httpx.Client(transport=httpx.MockTransport(cdn)) as client:
        fetched = fetch_audio(
            "https://cdn.provider.example/out/1.wav", emulator_policy(), client=client
        )
    assert fetched.duration_s == pytest.approx(0.5)


def test_the_policy_reads_the_test_allow_list_from_settings() -> None:
    settings = Settings(provider_fetch_allow_http="127.0.0.1", provider_fetch_max_bytes=5000)
    policy = FetchPolicy.from_settings(settings, ["cdn.provider.example"])
    assert policy.allow_http_hosts == ("127.0.0.1",) and policy.max_bytes == 5000


# --- clips ---------------------------------------------------------------------------------

ASKED = ClipRequest(prompt="x", duration_s=2.0)


def clip(audio: np.ndarray, rate: int = 8000) -> Clip:
    return Clip(audio=audio, sample_rate_hz=rate, provider="p")


def test_a_clip_is_made_float32_channels_first_with_peaks_at_most_one() -> None:
    frames_first = np.full((16000, 2), 2.0, dtype=np.float64)  # (n, channels), too loud
    checked = validate_clip(clip(frames_first), ASKED, "p")
    assert checked.audio.shape == (2, 16000) and checked.audio.dtype == np.float32
    assert float(np.max(np.abs(checked.audio))) == pytest.approx(1.0)


def test_a_clip_with_nan_samples_is_refused() -> None:
    bad = np.zeros((2, 16000), np.float32)
    bad[0, 5] = np.nan
    with pytest.raises(ProviderError, match="NaN"):
        validate_clip(clip(bad), ASKED, "p")


def test_a_clip_much_shorter_than_asked_is_a_retryable_failure() -> None:
    with pytest.raises(ProviderError, match=r"returned 0\.5 s") as caught:
        validate_clip(clip(np.zeros((2, 4000), np.float32)), ASKED, "p")
    assert caught.value.retryable
