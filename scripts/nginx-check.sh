#!/usr/bin/env bash
# Runs the documented nginx configuration (docs/nginx/xinsheng.conf) on loopback in front of a real
# `xinsheng serve` (production settings, WeCom configured, SQLite in a temporary folder) and checks
# what docs/deploy.md promises:
#   1. a signed WeCom callback passes through TLS and nginx, is answered 200 and stored;
#   2. the bot logs the client's address (X-Forwarded-For set by nginx), not one the client chose;
#   3. a body over 256 KB is stopped by nginx (413) and never reaches the bot;
#   4. the console and health probes are not reachable through nginx (404).
# Needs nginx from the Debian packages: `apt-get install -y nginx` (or run as root with --install).
# Usage: scripts/nginx-check.sh [--install]      exit 0 = passed, 1 = a check failed, 2 = nginx missing
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

if ! command -v nginx >/dev/null 2>&1; then
  if [ "${1:-}" = "--install" ] && [ "$(id -u)" = 0 ]; then
    apt-get install -y nginx
  else
    echo "nginx-check: nginx is not installed. Install the Debian package (apt-get install -y nginx), or run as root: scripts/nginx-check.sh --install" >&2
    exit 2
  fi
fi

WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
  [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "nginx-check: FAILED: $*" >&2; echo "--- server log" >&2; tail -20 "$WORK/server.log" >&2 || true; echo "--- nginx error log" >&2; tail -20 "$WORK/error.log" >&2 || true; exit 1; }
free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }

APP_PORT=$(free_port); TLS_PORT=$(free_port); HTTP_PORT=$(free_port)
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost" \
  -keyout "$WORK/tls.key" -out "$WORK/tls.crt" 2>/dev/null

# The documented file, with loopback ports and the test certificate in place of the real ones.
sed -e "s#server 127.0.0.1:3000;#server 127.0.0.1:$APP_PORT;#" \
    -e "s#listen 443 ssl;#listen 127.0.0.1:$TLS_PORT ssl;#" \
    -e "s#listen 80;#listen 127.0.0.1:$HTTP_PORT;#" \
    -e "s#/etc/nginx/tls/bot.example.gov.cn.crt#$WORK/tls.crt#" \
    -e "s#/etc/nginx/tls/bot.example.gov.cn.key#$WORK/tls.key#" \
    docs/nginx/xinsheng.conf > "$WORK/xinsheng.conf"
grep -q "127.0.0.1:$APP_PORT" "$WORK/xinsheng.conf" || fail "docs/nginx/xinsheng.conf no longer has 'server 127.0.0.1:3000;'"
mkdir -p "$WORK/tmp"
cat > "$WORK/nginx.conf" <<CONF
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/error.log;
events {}
http {
  access_log $WORK/access.log;
  client_body_temp_path $WORK/tmp/body;
  proxy_temp_path $WORK/tmp/proxy;
  fastcgi_temp_path $WORK/tmp/fastcgi;
  uwsgi_temp_path $WORK/tmp/uwsgi;
  scgi_temp_path $WORK/tmp/scgi;
  include $WORK/xinsheng.conf;
}
CONF
nginx -t -q -p "$WORK" -c "$WORK/nginx.conf" || fail "nginx -t refused the configuration"
nginx -p "$WORK" -c "$WORK/nginx.conf"

export NODE_ENV=production HOST=127.0.0.1 PORT=$APP_PORT TRUST_PROXY=on LOG_LEVEL=info
export DATABASE_URL="sqlite:$WORK/xinsheng.db" DATA_DIR="$WORK" DATA_KEY=$(openssl rand -base64 32)
export WECOM_CORP_ID=ww1436e0e65a779aee WECOM_AGENT_ID=1000002 WECOM_SECRET=nginx-check-secret WECOM_TOKEN=nginxcheck
export WECOM_ENCODING_AES_KEY=6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt WECOM_API_BASE=http://127.0.0.1:9
node --import tsx -e "require('./src/main').runFromCommandLine(['serve'])" > "$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$APP_PORT/healthz" >/dev/null 2>&1 && break
  kill -0 "$SERVER_PID" 2>/dev/null || fail "the server did not start"
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$APP_PORT/healthz" >/dev/null || fail "the server does not answer /healthz"

https() { curl -sS -o "$WORK/answer" -w '%{http_code}' --cacert "$WORK/tls.crt" --resolve "localhost:$TLS_PORT:127.0.0.1" --interface 127.0.0.2 "$@"; }

# 1. A signed callback through TLS and nginx.
CALLBACK=$(node --import tsx scripts/wecom-signed-callback.ts)
CB_PATH=$(node -e "console.log(JSON.parse(process.argv[1]).path)" "$CALLBACK")
CB_BODY=$(node -e "console.log(JSON.parse(process.argv[1]).body)" "$CALLBACK")
MSG_ID=$(node -e "console.log(JSON.parse(process.argv[1]).msgId)" "$CALLBACK")
CODE=$(https -H 'Content-Type: text/xml' --data-binary "$CB_BODY" "https://localhost:$TLS_PORT$CB_PATH")
[ "$CODE" = 200 ] || fail "the signed callback got HTTP $CODE through nginx (expected 200)"
STORED=$(node -e "
  const D = require('better-sqlite3'); const db = new D(process.argv[1], { readonly: true });
  console.log(db.prepare('SELECT COUNT(*) AS n FROM inbound_events WHERE id = ?').get('wecom:msg:' + process.argv[2]).n);" "$WORK/xinsheng.db" "$MSG_ID")
[ "$STORED" = 1 ] || fail "the callback was answered but not stored (inbound_events wecom:msg:$MSG_ID)"
echo "nginx-check: signed WeCom callback through nginx: 200, stored as wecom:msg:$MSG_ID"

# 2. A refused callback is logged with the client's address (127.0.0.2), not the one it claims.
CODE=$(https -H 'Content-Type: text/xml' -H 'X-Forwarded-For: 203.0.113.66' --data-binary "$CB_BODY" "https://localhost:$TLS_PORT/wecom/callback?msg_signature=0000&timestamp=1&nonce=1")
[ "$CODE" = 401 ] || fail "a badly signed callback got HTTP $CODE (expected 401)"
sleep 0.3
grep '"request refused"' "$WORK/server.log" | grep -q '"ip":"127.0.0.2"' || fail "the refusal was not logged with the client address 127.0.0.2"
grep -q '203.0.113.66' "$WORK/server.log" && fail "the bot logged the address the client chose (203.0.113.66)"
echo "nginx-check: refused callback logged with the real client address 127.0.0.2"

# 3. A body over 256 KB is stopped by nginx.
head -c 300000 /dev/zero | tr '\0' 'a' > "$WORK/big.xml"
BEFORE=$(grep -c '"request refused"' "$WORK/server.log" || true)
CODE=$(https -H 'Content-Type: text/xml' --data-binary "@$WORK/big.xml" "https://localhost:$TLS_PORT$CB_PATH")
[ "$CODE" = 413 ] || fail "a 300 KB body got HTTP $CODE (expected 413 from nginx)"
AFTER=$(grep -c '"request refused"' "$WORK/server.log" || true)
[ "$BEFORE" = "$AFTER" ] || fail "the oversized body reached the bot"
echo "nginx-check: 300 KB body stopped by nginx (413)"

# 4. Nothing else is exposed.
for path in /console/inbox/zhangsan /readyz /healthz; do
  CODE=$(https "https://localhost:$TLS_PORT$path")
  [ "$CODE" = 404 ] || fail "$path is reachable through nginx (HTTP $CODE, expected 404)"
done
CODE=$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HTTP_PORT/wecom/callback")
[ "$CODE" = 301 ] || fail "plain HTTP was not redirected to HTTPS (HTTP $CODE)"
echo "nginx-check: console and probes not exposed; HTTP redirects to HTTPS"
echo "nginx-check: passed (nginx $(nginx -v 2>&1 | sed 's#.*/##'))"
