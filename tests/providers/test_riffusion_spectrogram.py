"""Riffusion's spectrogram images back to sound: the image convention (dark = loud, low
frequencies at the bottom, 512 HTK mel bands to 10 kHz, 10 ms columns) and Griffin-Lim."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from tiny_models import one_torch_thread

from songforge.providers.riffusion import (
    RIFFUSION,
    audio_from_image,
    spectrogram_from_image,
)

pytest.importorskip("torch")


@pytest.fixture(scope="module", autouse=True)
def _one_thread() -> Iterator[None]:
    with one_torch_thread():
        yield


COLUMNS = 50  # half a second


def mel_band_centres_hz(n_mels: int = 512, top_hz: float = 10000.0) -> np.ndarray:
    """HTK mel scale, written out here rather than taken from librosa."""
    top_mel = 2595.0 * np.log10(1.0 + top_hz / 700.0)
    mels = np.linspace(0.0, top_mel, n_mels + 2)[1:-1]
    return 700.0 * (10.0 ** (mels / 2595.0) - 1.0)


def tone_image(frequency_hz: float) -> tuple[np.ndarray, float]:
    """A white image with one black row: the band nearest ``frequency_hz``, counted from the
    bottom; returns the image and that band's centre."""
    centres = mel_band_centres_hz()
    band = int(np.argmin(np.abs(centres - frequency_hz)))
    image = np.full((RIFFUSION.n_mels, COLUMNS, 3), 255, dtype=np.uint8)
    image[RIFFUSION.n_mels - 1 - band, :, :] = 0
    return image, float(centres[band])


def dominant_hz(audio: np.ndarray, sample_rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(audio.size)))
    return float(np.fft.rfftfreq(audio.size, 1 / sample_rate)[np.argmax(spectrum)])


@pytest.mark.parametrize("frequency_hz", [220.0, 440.0, 2500.0])
def test_a_black_row_comes_back_as_a_tone_at_its_band(frequency_hz: float) -> None:
    image, centre_hz = tone_image(frequency_hz)
    audio = audio_from_image(image, iterations=8, seed=0)

    assert audio.dtype == np.float32 and audio.shape == (1, COLUMNS * 441)
    assert np.all(np.isfinite(audio)) and np.max(np.abs(audio)) == pytest.approx(0.891, abs=1e-3)
    assert dominant_hz(audio[0], 44100) == pytest.approx(centre_hz, rel=0.01)


def test_darkness_is_magnitude_to_the_power_a_quarter_with_low_bands_at_the_bottom() -> None:
    image = np.full((RIFFUSION.n_mels, 2), 255.0)
    image[-1, 0] = 0.0  # bottom row: the lowest band, full scale
    image[0, 1] = 255.0 - 255.0 * 0.5  # top row: half dark

    mel = spectrogram_from_image(image)

    assert mel.shape == (RIFFUSION.n_mels, 2)
    assert mel[0, 0] == 1.0 and mel[-1, 1] == pytest.approx(0.5**4)
    assert np.count_nonzero(mel) == 2


def test_a_blank_image_is_silence_and_a_wrong_height_is_refused() -> None:
    silent = audio_from_image(np.full((RIFFUSION.n_mels, 8), 255, dtype=np.uint8), iterations=2)
    assert not np.any(silent)
    with pytest.raises(ValueError, match="512 pixels tall"):
        spectrogram_from_image(np.zeros((256, 8)))
