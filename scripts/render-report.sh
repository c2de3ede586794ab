#!/usr/bin/env bash
# Renders a generated report (.docx) to PDF and PNG pages with LibreOffice, to look at the layout.
# Usage: scripts/render-report.sh FILE.docx [OUTDIR]
#   INSTALL=1 scripts/render-report.sh …   installs LibreOffice Writer, Noto CJK fonts and poppler first
#   (Debian/Ubuntu, as root; several minutes).
#
# LibreOffice gives every 16 pt character two cells of the 28-a-line character grid (15.8 pt a cell;
# Word and WPS squeeze the glyph into one), which doubles the spacing of the whole text. So the
# preview is rendered from a copy whose grid keeps its 22 lines but drops the character pitch
# (KEEP_CHAR_GRID=1 renders the file as it is). The .docx itself is not changed.
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
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
if [[ "${KEEP_CHAR_GRID:-0}" == 1 ]]; then
  cp "$docx" "$work/$base.docx"
else
  python3 - "$docx" "$work/$base.docx" <<'PY'
import sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, 'w', zipfile.ZIP_DEFLATED) as zout:
    for item in zin.infolist():
        data = zin.read(item.filename)
        if item.filename == 'word/document.xml':
            data = data.replace(b'w:type="linesAndChars"', b'w:type="lines"')
        zout.writestr(item, data)
PY
fi
soffice --headless --convert-to pdf --outdir "$out" "$work/$base.docx" >/dev/null
pdftoppm -png -r 80 "$out/$base.pdf" "$out/$base-page"
ls "$out/$base".pdf "$out/$base"-page*.png
