#!/bin/sh
# Install PromptLoop as an appliance on Raspberry Pi OS (Bookworm, 64-bit): after a reboot the Pi boots
# straight into a playable groovebox (OLED, encoders, pads) and the phone page on port 8080.
# Usage (from a checkout, as root):  sudo scripts/install-pi.sh [--no-reboot]
# Safe to run again: it updates the code, the venv and the unit, and keeps /etc/groovebox/groovebox.toml.
set -eu

PREFIX=/opt/groovebox
SERVICE_USER=groovebox
SOURCE=$(cd "$(dirname "$0")/.." && pwd)

[ "$(id -u)" -eq 0 ] || { echo "install-pi: run as root (sudo $0)" >&2; exit 1; }

echo "install-pi: enabling I2C (OLED) and SPI"
if command -v raspi-config >/dev/null 2>&1; then
    raspi-config nonint do_i2c 0
    raspi-config nonint do_spi 0
else
    echo "install-pi: raspi-config not found: enable I2C yourself (dtparam=i2c_arm=on)" >&2
fi

echo "install-pi: system packages"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    python3-venv python3-dev i2c-tools python3-lgpio liblgpio1 \
    libportaudio2 libasound2 libjack-jackd2-0 libfluidsynth3 timgm6mb-soundfont

echo "install-pi: user $SERVICE_USER (groups audio gpio i2c spi)"
id "$SERVICE_USER" >/dev/null 2>&1 || useradd --system --home-dir /var/lib/groovebox --shell /usr/sbin/nologin "$SERVICE_USER"
for group in audio gpio i2c spi; do
    getent group "$group" >/dev/null 2>&1 && usermod -aG "$group" "$SERVICE_USER"
done

echo "install-pi: code and venv in $PREFIX"
mkdir -p "$PREFIX"
if [ "$SOURCE" != "$PREFIX" ]; then
    cp -a "$SOURCE/." "$PREFIX/"
    rm -rf "$PREFIX/.venv"
fi
# --system-site-packages: gpiozero's lgpio pin factory comes from Debian (python3-lgpio)
[ -x "$PREFIX/.venv/bin/python" ] || python3 -m venv --system-site-packages "$PREFIX/.venv"
"$PREFIX/.venv/bin/pip" install --quiet --upgrade pip
"$PREFIX/.venv/bin/pip" install --quiet "$PREFIX"
chown -R root:root "$PREFIX"

echo "install-pi: settings in /etc/groovebox"
mkdir -p /etc/groovebox
if [ ! -f /etc/groovebox/groovebox.toml ]; then
    cat > /etc/groovebox/groovebox.toml <<'TOML'
# PromptLoop on a Raspberry Pi: see /opt/groovebox/config/groovebox.toml for every setting.
[display]
driver = "ssd1306"          # or "sh1106"
[panel]
enabled = true
[web]
host = "0.0.0.0"            # the phone reaches the page at http://<the OLED's IP>:8080
TOML
fi
if [ -f /etc/groovebox/gemini-api-key ]; then
    chown "$SERVICE_USER:$SERVICE_USER" /etc/groovebox/gemini-api-key
    chmod 600 /etc/groovebox/gemini-api-key
fi

echo "install-pi: systemd unit"
install -m 0644 "$PREFIX/systemd/groovebox.service" /etc/systemd/system/groovebox.service
systemctl daemon-reload
systemctl enable groovebox.service

if [ "${1:-}" = "--no-reboot" ]; then
    systemctl restart groovebox.service
    echo "install-pi: done; groovebox is running (groovebox status, journalctl -u groovebox)"
else
    echo "install-pi: done; rebooting so I2C and the groups take effect"
    reboot
fi
