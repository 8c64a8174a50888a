#!/usr/bin/env bash
# Make sure Icarus Verilog >= 11 is on PATH. Installs it with the system package
# manager when this user can (root, or passwordless sudo); otherwise stops with a
# message naming what to install.
set -euo pipefail

need_major=11
have_ok() {
  command -v iverilog >/dev/null 2>&1 || return 1
  local v
  v=$(iverilog -V 2>/dev/null | head -n 1 | sed -n 's/^Icarus Verilog version \([0-9]*\).*/\1/p')
  [ -n "$v" ] && [ "$v" -ge "$need_major" ]
}

if have_ok; then exit 0; fi

echo "fhesim: Icarus Verilog >= $need_major not found; trying to install it with the system package manager" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; fi
fi
if [ "$(id -u)" -eq 0 ] || [ -n "$SUDO" ]; then
  if command -v apt-get >/dev/null 2>&1; then
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq iverilog
  elif command -v dnf >/dev/null 2>&1; then
    $SUDO dnf install -y iverilog
  elif command -v brew >/dev/null 2>&1; then
    brew install icarus-verilog
  fi
fi
if have_ok; then exit 0; fi

cat >&2 <<MSG
fhesim: Icarus Verilog >= $need_major is required for the RTL simulations and could not be installed.
Install it yourself, then run make again:
  Debian/Ubuntu: sudo apt-get install iverilog
  Fedora:        sudo dnf install iverilog
  macOS:         brew install icarus-verilog
MSG
exit 1
