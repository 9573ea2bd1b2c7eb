# Shared helpers for setup steps. Sourced, not run.
# need_pkgs PKG...  installs missing Debian packages when root, otherwise names them.
set -u
APT_UPDATED=${APT_UPDATED:-}
need_pkgs() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages: ${missing[*]}" >&2
    echo "setup: install them with: sudo apt-get install -y ${missing[*]}" >&2
    return 1
  fi
  echo "setup: installing ${missing[*]} (apt-get)" >&2
  if [ -z "$APT_UPDATED" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null >&2 || { echo "setup: apt-get update failed" >&2; return 1; }
    APT_UPDATED=1; export APT_UPDATED
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >&2 \
    || { echo "setup: apt-get install ${missing[*]} failed" >&2; return 1; }
}
