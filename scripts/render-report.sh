#!/usr/bin/env bash
# Renders a generated report (.docx) to PDF and PNG pages with LibreOffice, to look at the layout.
# Usage: scripts/render-report.sh FILE.docx [OUTDIR]
#   INSTALL=1 scripts/render-report.sh …   installs LibreOffice Writer, Noto CJK fonts and poppler first
#   (Debian/Ubuntu, as root; several minutes).
set -euo pipefail
if [[ "${INSTALL:-0}" == 1 ]]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends libreoffice-writer-nogui fonts-noto-cjk poppler-utils
fi
[[ $# -ge 1 ]] || { echo "usage: $0 FILE.docx [OUTDIR]" >&2; exit 64; }
docx="$1"
out="${2:-$(dirname "$docx")}"
mkdir -p "$out"
base="$(basename "${docx%.docx}")"
soffice --headless --convert-to pdf --outdir "$out" "$docx" >/dev/null
pdftoppm -png -r 80 "$out/$base.pdf" "$out/$base-page"
ls "$out/$base".pdf "$out/$base"-page*.png
