#!/usr/bin/env bash
# Debian packages the integration tests drive: chromium (the Swagger UI check, through playwright,
# which downloads no browser) and awscli, the AWS CLI v2 (PyPI's awscli is v1). Installed with
# apt-get when this is a Debian machine and we are root; otherwise the tests that need them skip
# (and fail under CI=true).
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
/usr/bin/aws --version 2>/dev/null | grep -q '^aws-cli/2' || missing+=(awscli)
[ ${#missing[@]} -eq 0 ] && exit 0

is_debian() { grep -qx 'ID=debian' /etc/os-release 2>/dev/null; }

if [ "$(id -u)" -eq 0 ] && is_debian && command -v apt-get >/dev/null; then
  echo "installing Debian packages: ${missing[*]}"
  if apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; then
    exit 0
  fi
  echo "note: apt-get could not install ${missing[*]}" >&2
fi
echo "note: ${missing[*]} not installed (Debian: apt-get install ${missing[*]});" \
  "the tests that drive them will skip (and fail under CI=true)" >&2
