#!/usr/bin/env bash
# Installs the system packages songforge uses where apt is available (Debian/Ubuntu, as root or
# with sudo): the reference General MIDI SoundFont and, for the web-page tests, Chromium.
# Everything here is optional at run time: without a SoundFont the built-in synth plays every part.
set -u
want=(fluid-soundfont-gm)
[ "${1:-}" = "--test" ] && want+=(chromium chromium-driver)
missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "songforge: apt-get not found; skipping ${missing[*]} (set SONGFORGE_SOUNDFONT to an .sf2 to use one)" >&2
  exit 0
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "songforge: not root and no sudo; skipping ${missing[*]}" >&2; exit 0; fi
fi
echo "songforge: installing ${missing[*]} with apt-get" >&2
$sudo apt-get update -qq >/dev/null 2>&1 || true
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
  || echo "songforge: apt-get could not install ${missing[*]}; continuing without" >&2
exit 0
