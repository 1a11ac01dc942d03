#!/bin/sh
# Install the Debian / Raspberry Pi OS packages PromptLoop needs, only when some are missing.
# Usage: scripts/system-packages.sh run|test     (run as root, or with sudo available)
set -eu

RUN_PACKAGES="libportaudio2 libasound2 libjack-jackd2-0 libfluidsynth3 timgm6mb-soundfont"
TEST_PACKAGES="jackd2 iproute2 chromium"     # iproute2: network namespaces for the Link test; chromium: the page tests

packages="$RUN_PACKAGES"
[ "${1:-run}" = "test" ] && packages="$packages $TEST_PACKAGES"
python3 -c "import ensurepip, venv" 2>/dev/null || packages="$packages python3-venv"

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "system-packages: not a Debian system; install these yourself: $packages" >&2
    exit 0
fi

missing=""
for package in $packages; do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing="$missing $package"
done
[ -z "$missing" ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "system-packages: installing$missing"
$sudo apt-get update -qq
# jackd2 asks about real-time priority; the default answer is fine for a dummy test server.
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
