#!/usr/bin/env bash
# The end-to-end tests and the renderer benchmark drive Debian's chromium
# through playwright-core (`npx playwright install` downloads its own browser,
# which cannot work offline). Installs it when root, otherwise names it.
. "$(dirname "$0")/lib.sh"
need_pkgs chromium || {
  echo "setup: the end-to-end tests need chromium at /usr/bin/chromium (or set STRESSLAB_CHROMIUM to another Chromium)" >&2
  exit 1
}
/usr/bin/chromium --version >&2 || { echo "setup: /usr/bin/chromium is installed but does not run" >&2; exit 1; }
