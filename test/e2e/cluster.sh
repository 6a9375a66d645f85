#!/usr/bin/env bash
# A real Kubernetes control plane (etcd + kube-apiserver) and real Flux
# controllers as local processes on loopback, for fluxguard's end-to-end tests.
#
#   bash test/e2e/cluster.sh build [--check]       build missing binaries into the cache (idempotent;
#                                                  --check: only say whether anything is missing)
#   bash test/e2e/cluster.sh up [--lockdown]       start everything, wait until healthy
#   bash test/e2e/cluster.sh restart-controllers [--lockdown|--no-lockdown]
#   bash test/e2e/cluster.sh restart-apiserver     stop and start kube-apiserver (same port, same etcd data)
#   bash test/e2e/cluster.sh env                   print `export ...` lines (eval "$(cluster.sh env)")
#   bash test/e2e/cluster.sh status                what runs, where, and whether it is healthy
#   bash test/e2e/cluster.sh repo NAME             create an empty bare repo, print its URL
#   bash test/e2e/cluster.sh down                  stop everything `up` started
#   bash test/e2e/cluster.sh bin COMPONENT         print the path of a built binary (e.g. helm)
#
# Environment:
#   FLUXGUARD_E2E_CACHE       binary cache (default ~/.cache/fluxguard-e2e)
#   FLUXGUARD_E2E_STATE       run state: pids, logs, pki, etcd data (default $CACHE/run)
#   FLUXGUARD_E2E_COMPONENTS  what to build/start (default: etcd kube-apiserver
#                             source-controller kustomize-controller; add
#                             notification-controller if wanted; `helm` and
#                             `kube-state-metrics` are only built, `up` runs neither)
#   FLUXGUARD_E2E_LOCKDOWN=1  same as `up --lockdown`
#   FLUXGUARD_E2E_BUILD_JOBS  concurrent `go build`s (default 2)
#   FLUXGUARD_E2E_TIMEOUT     seconds to wait for each health check (default 120)
#
# See test/e2e/README.md.
set -euo pipefail

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD_DIR=$E2E_DIR/build
CACHE=${FLUXGUARD_E2E_CACHE:-$HOME/.cache/fluxguard-e2e}
STATE=${FLUXGUARD_E2E_STATE:-$CACHE/run}
COMPONENTS=${FLUXGUARD_E2E_COMPONENTS:-etcd kube-apiserver source-controller kustomize-controller}
TIMEOUT=${FLUXGUARD_E2E_TIMEOUT:-120}
HOST=127.0.0.1
FLUX_CONTROLLERS="source-controller kustomize-controller notification-controller helm-controller"
# Stop order: event senders before notification-controller, so none blocks retrying an event.
STOP_CONTROLLERS="kustomize-controller helm-controller source-controller notification-controller"

export GOTOOLCHAIN=${GOTOOLCHAIN:-local}
export CGO_ENABLED=0
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then PATH=/usr/local/go/bin:$PATH; fi

log() { printf '[cluster] %s\n' "$*" >&2; }
die() { printf '[cluster] error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------
# Components: wrapper module dir, Go module, package to build, ldflags.
# ---------------------------------------------------------------------------
comp_module() {
  case $1 in
    etcd) echo go.etcd.io/etcd/server/v3 ;;
    kube-apiserver) echo k8s.io/kubernetes ;;
    helm) echo helm.sh/helm/v4 ;;
    kube-state-metrics) echo k8s.io/kube-state-metrics/v2 ;;
    *-controller) echo "github.com/fluxcd/$1" ;;
    *) die "unknown component $1" ;;
  esac
}
comp_package() {
  case $1 in
    kube-apiserver) echo k8s.io/kubernetes/cmd/kube-apiserver ;;
    helm) echo helm.sh/helm/v4/cmd/helm ;;
    *) comp_module "$1" ;;
  esac
}
# The version the wrapper go.mod requires (read without running go).
comp_version() {
  local mod; mod=$(comp_module "$1")
  local f=$BUILD_DIR/$1/go.mod
  [ -f "$f" ] || die "no wrapper module $f"
  awk -v m="$mod" '$1=="require" && $2==m {print $3; exit} $1==m && $2 ~ /^v/ {print $2; exit}' "$f"
}
comp_ldflags() {
  local ldf="-s -w" v
  if [ "$1" = kube-apiserver ]; then
    v=$(comp_version kube-apiserver)
    local minor; minor=$(echo "$v" | cut -d. -f2)
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ldf="$ldf -X $p.gitVersion=$v -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
    done
  fi
  echo "$ldf"
}
comp_dir() { echo "$CACHE/$1-$(comp_version "$1")"; }
comp_bin() { echo "$(comp_dir "$1")/$1"; }
# A stamp of everything that decides the binary: wrapper go.mod/go.sum, flags, Go version.
comp_stamp() {
  { cat "$BUILD_DIR/$1/go.mod" "$BUILD_DIR/$1/go.sum"; comp_ldflags "$1"; go env GOVERSION; } | sha256sum | cut -c1-16
}
comp_is_built() {
  local d; d=$(comp_dir "$1")
  [ -x "$d/$1" ] && [ -f "$d/.stamp" ] && [ "$(cat "$d/.stamp")" = "$(comp_stamp "$1")" ] &&
    { case $1 in *-controller) [ -d "$d/crds" ] ;; *) true ;; esac; }
}

# CRDs of Flux controllers the tests do not run, so the API server validates their objects
# (e.g. what `fluxguard generate` writes): module@version pinned like the built ones (Flux 2.9;
# FLUX-FACTS.md), downloaded with `go mod download` (source only, nothing compiled).
CRD_MODULES=${FLUXGUARD_E2E_CRD_MODULES:-github.com/fluxcd/notification-controller@v1.9.3 github.com/fluxcd/image-reflector-controller@v1.2.4 github.com/fluxcd/image-automation-controller@v1.2.4 github.com/controlplaneio-fluxcd/flux-operator@v0.59.0}
crd_dir() { local m=${1%@*}; echo "$CACHE/crds-${m##*/}-${1#*@}"; }
fetch_crds() {
  local m d src
  for m in $CRD_MODULES; do
    d=$(crd_dir "$m")
    [ -d "$d" ] && continue
    [ "${1:-}" = --check ] && die "not fetched: CRDs of $m"
    mkdir -p "$d.tmp.$$"
    src=$(go mod download -json "$m" 2>"$CACHE/logs/crds.log" | awk -F'"' '/"Dir":/ {print $4; exit}') || src=""
    if [ -n "$src" ] && [ -d "$src/config/crd/bases" ]; then
      cp "$src"/config/crd/bases/*.yaml "$d.tmp.$$/"
    else
      # `go mod download` refuses a module whose go.mod wants a newer Go (the Flux Operator):
      # take the CRDs from the proxy's zip of the module source.
      local proxy; proxy=$(go env GOPROXY | tr ',|' '\n\n' | grep -m1 '^http') || proxy=https://proxy.golang.org
      curl -fsSL -o "$d.tmp.$$/module.zip" "$proxy/${m%@*}/@v/${m#*@}.zip" 2>>"$CACHE/logs/crds.log" ||
        { cat "$CACHE/logs/crds.log" >&2; rm -rf "$d.tmp.$$"; die "no CRDs from $m"; }
      python3 - "$d.tmp.$$/module.zip" "$d.tmp.$$" <<'PY' || { rm -rf "$d.tmp.$$"; die "no config/crd/bases in the zip of $m"; }
import os, sys, zipfile
z = zipfile.ZipFile(sys.argv[1]); n = 0
for name in z.namelist():
    if "/config/crd/bases/" in name and name.endswith(".yaml"):
        open(os.path.join(sys.argv[2], os.path.basename(name)), "wb").write(z.read(name)); n += 1
sys.exit(0 if n else 1)
PY
      rm -f "$d.tmp.$$/module.zip"
    fi
    chmod -R u+w "$d.tmp.$$"; mv "$d.tmp.$$" "$d"
    log "fetched the CRDs of $m"
  done
}

build_one() {
  local c=$1 d tmp ldf mod ver logf timef t0
  d=$(comp_dir "$c"); tmp="$d.tmp.$$"; ldf=$(comp_ldflags "$c"); mod=$(comp_module "$c"); ver=$(comp_version "$c")
  logf=$CACHE/logs/build-$c.log; timef=$CACHE/logs/build-$c.time
  rm -rf "$tmp"; mkdir -p "$tmp" "$CACHE/logs"
  log "building $c $ver (log: $logf)"
  t0=$(date +%s)
  local timecmd=()
  [ -x /usr/bin/time ] && timecmd=(/usr/bin/time -v -o "$timef")
  if ! (cd "$BUILD_DIR/$c" && "${timecmd[@]}" go build -mod=readonly -trimpath -ldflags "$ldf" -o "$tmp/$c" "$(comp_package "$c")") >"$logf" 2>&1; then
    tail -n 30 "$logf" >&2
    rm -rf "$tmp"; die "build of $c failed"
  fi
  case $c in
    *-controller)
      local src
      src=$(cd "$BUILD_DIR/$c" && go list -mod=readonly -m -f '{{.Dir}}' "$mod")
      [ -d "$src/config/crd/bases" ] || die "$mod has no config/crd/bases in $src"
      mkdir -p "$tmp/crds"; cp "$src"/config/crd/bases/*.yaml "$tmp/crds/"; chmod -R u+w "$tmp/crds" ;;
  esac
  comp_stamp "$c" >"$tmp/.stamp"
  rm -rf "$d"; mv "$tmp" "$d"
  local rss=""
  [ -f "$timef" ] && rss=$(awk -F': ' '/Maximum resident/ {printf "%.0f MiB", $2/1024}' "$timef")
  log "built $c $ver in $(( $(date +%s) - t0 ))s${rss:+, peak RSS $rss}"
}

cmd_build() {
  local check=0
  [ "${1:-}" = --check ] && check=1
  command -v go >/dev/null || die "go is not installed"
  mkdir -p "$CACHE/logs"
  local todo=() c
  # Longest first, so the 2 lanes finish together.
  for c in kube-apiserver source-controller kustomize-controller helm-controller notification-controller helm kube-state-metrics etcd; do
    case " $COMPONENTS " in *" $c "*) ;; *) continue ;; esac
    if comp_is_built "$c"; then log "cached: $c $(comp_version "$c") ($(comp_dir "$c"))"; else todo+=("$c"); fi
  done
  if [ $check -eq 1 ]; then fetch_crds --check; else fetch_crds; fi
  [ ${#todo[@]} -eq 0 ] && return 0
  [ $check -eq 1 ] && die "not built: ${todo[*]}"
  # Fetch the modules each binary needs first (network-bound, sequential, clear
  # errors), then compile in parallel lanes. `go list -deps` downloads only the
  # modules of the packages built, not the whole module graph.
  for c in "${todo[@]}"; do
    (cd "$BUILD_DIR/$c" && go list -mod=readonly -deps "$(comp_package "$c")" >/dev/null 2>"$CACHE/logs/download-$c.log") ||
      { tail -n 20 "$CACHE/logs/download-$c.log" >&2; die "fetching modules failed for $c"; }
  done
  local jobs=${FLUXGUARD_E2E_BUILD_JOBS:-2} pids=() failed=0 t0
  t0=$(date +%s)
  for c in "${todo[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || failed=1; done
    build_one "$c" & pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || failed=1; done
  [ $failed -eq 0 ] || die "some builds failed (logs in $CACHE/logs)"
  log "build done in $(( $(date +%s) - t0 ))s"
}

# ---------------------------------------------------------------------------
# Processes: each is started in its own session (setsid), its pid recorded in
# $STATE/pids/<name>.pid; `down` signals exactly those process groups.
# ---------------------------------------------------------------------------
start_proc() { # name cmd... ; env via `env K=V` prefix
  local name=$1; shift
  mkdir -p "$STATE/pids" "$STATE/logs"
  setsid "$@" >"$STATE/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$STATE/pids/$name.pid"
}
# Running = exists and is not a zombie (processes outlive cluster.sh and are
# reaped by init, which may take a moment).
pid_running() {
  kill -0 "$1" 2>/dev/null || return 1
  local st; st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || echo X)
  [ "$st" != Z ] && [ "$st" != X ]
}
proc_alive() { local f=$STATE/pids/$1.pid; [ -f "$f" ] && pid_running "$(cat "$f")"; }
stop_proc() {
  local name=$1 f=$STATE/pids/$1.pid pid i
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if pid_running "$pid"; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do pid_running "$pid" || break; sleep 0.1; done
    if pid_running "$pid"; then
      log "$name ($pid) did not stop on TERM, killing"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  # Anything left in its process group (e.g. a git http-backend child).
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$f"
}

free_ports() { # n -> n free loopback ports, one a line
  python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
for s in socks: print(s.getsockname()[1])
for s in socks: s.close()
EOF
}

wait_for() { # description command...
  local what=$1; shift
  local deadline=$(( $(date +%s) + TIMEOUT ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || { log "timed out waiting for $what"; return 1; }
    sleep 0.5
  done
}

# Reads $STATE/ports into PORT_<NAME> variables.
load_ports() {
  [ -f "$STATE/ports" ] || die "not running (no $STATE/ports); run: $0 up"
  # shellcheck disable=SC1091
  . "$STATE/ports"
}

kc() { kubectl --kubeconfig "$STATE/kubeconfig" "$@"; }

write_kubeconfig() { # file user token
  local ca; ca=$(base64 -w0 <"$STATE/pki/ca.crt")
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: fluxguard-e2e
  cluster:
    server: https://$HOST:$PORT_APISERVER
    certificate-authority-data: $ca
users:
- name: $2
  user:
    token: $3
contexts:
- name: fluxguard-e2e
  context:
    cluster: fluxguard-e2e
    user: $2
current-context: fluxguard-e2e
EOF
  chmod 600 "$1"
}

gen_pki() {
  local p=$STATE/pki
  mkdir -p "$p"; chmod 700 "$p"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$p/ca.key" -out "$p/ca.crt" -days 3650 \
    -subj /CN=fluxguard-e2e-ca 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout "$p/apiserver.key" -out "$p/apiserver.csr" \
    -subj /CN=kube-apiserver 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' >"$p/apiserver.ext"
  openssl x509 -req -in "$p/apiserver.csr" -CA "$p/ca.crt" -CAkey "$p/ca.key" -CAcreateserial \
    -out "$p/apiserver.crt" -days 3650 -extfile "$p/apiserver.ext" 2>/dev/null
  # Service-account token signing key pair.
  openssl genrsa -out "$p/sa.key" 2048 2>/dev/null
  openssl rsa -in "$p/sa.key" -pubout -out "$p/sa.pub" 2>/dev/null
  # Static token for the admin user (group system:masters).
  local token; token=$(openssl rand -hex 24)
  echo "$token,admin,admin,system:masters" >"$p/tokens.csv"
  echo "$token" >"$p/admin.token"
  chmod 600 "$p"/*
}

want() { case " $COMPONENTS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

start_controllers() { # lockdown(0|1)
  local lockdown=$1 c bin extra
  load_ports
  for c in $FLUX_CONTROLLERS; do
    want "$c" || continue
    bin=$(comp_bin "$c")
    local up=PORT_$(echo "${c%-controller}" | tr a-z A-Z)
    local metrics=${up}_METRICS health=${up}_HEALTH
    extra=()
    local events=""
    want notification-controller && [ "$c" != notification-controller ] && events="--events-addr=http://$HOST:$PORT_NOTIFICATION_EVENTS/"
    case $c in
      source-controller)
        mkdir -p "$STATE/artifacts"
        extra=(--storage-path="$STATE/artifacts" --storage-addr="$HOST:$PORT_SOURCE_STORAGE"
               --storage-adv-addr="$HOST:$PORT_SOURCE_STORAGE") ;;
      kustomize-controller)
        [ "$lockdown" = 1 ] && extra=(--no-cross-namespace-refs=true --default-service-account=default --no-remote-bases=true) ;;
      helm-controller)
        [ "$lockdown" = 1 ] && extra=(--no-cross-namespace-refs=true --default-service-account=default) ;;
      notification-controller)
        extra=(--events-addr="$HOST:$PORT_NOTIFICATION_EVENTS" --receiverAddr="$HOST:$PORT_NOTIFICATION_RECEIVER")
        [ "$lockdown" = 1 ] && extra+=(--no-cross-namespace-refs=true) ;;
    esac
    [ -n "$events" ] && extra+=("$events")
    start_proc "$c" env -u KUBERNETES_SERVICE_HOST -u KUBERNETES_SERVICE_PORT \
      KUBECONFIG="$STATE/kubeconfig-$c" RUNTIME_NAMESPACE=flux-system \
      "$bin" --metrics-addr="$HOST:${!metrics}" --health-addr="$HOST:${!health}" \
      --log-level=info --log-encoding=json "${extra[@]}"
  done
  echo "$lockdown" >"$STATE/lockdown"
  for c in $FLUX_CONTROLLERS; do
    want "$c" || continue
    local up=PORT_$(echo "${c%-controller}" | tr a-z A-Z); local health=${up}_HEALTH
    wait_for "$c /readyz" curl -fsS "http://$HOST:${!health}/readyz" ||
      { tail -n 30 "$STATE/logs/$c.log" >&2; die "$c did not become ready"; }
    proc_alive "$c" || { tail -n 30 "$STATE/logs/$c.log" >&2; die "$c exited"; }
  done
  log "controllers ready (lockdown=$lockdown)"
}

start_apiserver() {
  local p=$STATE/pki
  start_proc kube-apiserver "$(comp_bin kube-apiserver)" \
    --etcd-servers="http://$HOST:$PORT_ETCD" \
    --bind-address=$HOST --advertise-address=$HOST --secure-port="$PORT_APISERVER" \
    --endpoint-reconciler-type=none \
    --cert-dir="$p" --tls-cert-file="$p/apiserver.crt" --tls-private-key-file="$p/apiserver.key" \
    --client-ca-file="$p/ca.crt" \
    --token-auth-file="$p/tokens.csv" \
    --authorization-mode=RBAC \
    --enable-admission-plugins=NamespaceLifecycle,ResourceQuota,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ValidatingAdmissionPolicy \
    --disable-admission-plugins=ServiceAccount \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$p/sa.pub" --service-account-signing-key-file="$p/sa.key" \
    --service-cluster-ip-range=10.0.0.0/24 \
    --allow-privileged=true --profiling=false
  wait_for "kube-apiserver /readyz" curl -fsS --cacert "$p/ca.crt" "https://$HOST:$PORT_APISERVER/readyz" ||
    { tail -n 40 "$STATE/logs/kube-apiserver.log" >&2; die "kube-apiserver did not become ready"; }
  write_kubeconfig "$STATE/kubeconfig" admin "$(cat "$p/admin.token")"
}

cmd_up() {
  local lockdown=${FLUXGUARD_E2E_LOCKDOWN:-0}
  while [ $# -gt 0 ]; do
    case $1 in --lockdown) lockdown=1 ;; --no-lockdown) lockdown=0 ;; *) die "unknown option $1" ;; esac; shift
  done
  command -v kubectl >/dev/null || die "kubectl is not on PATH"
  command -v openssl >/dev/null || die "openssl is not installed"
  command -v git >/dev/null || die "git is not installed"
  command -v curl >/dev/null || die "curl is not installed (health checks)"
  command -v python3 >/dev/null || die "python3 is not installed (the loopback git server)"
  if [ -f "$STATE/ports" ] && proc_alive kube-apiserver; then die "already up (state $STATE); run: $0 down"; fi
  local c
  for c in $COMPONENTS; do comp_is_built "$c" || die "$c is not built; run: $0 build"; done
  local t0; t0=$(date +%s)
  rm -rf "$STATE"; mkdir -p "$STATE/logs" "$STATE/pids" "$STATE/git"
  echo "$COMPONENTS" >"$STATE/components"

  # Ports.
  local ports
  mapfile -t ports < <(free_ports 14)
  cat >"$STATE/ports" <<EOF
PORT_ETCD=${ports[0]}
PORT_ETCD_PEER=${ports[1]}
PORT_APISERVER=${ports[2]}
PORT_GIT=${ports[3]}
PORT_SOURCE_STORAGE=${ports[4]}
PORT_SOURCE_METRICS=${ports[5]}
PORT_SOURCE_HEALTH=${ports[6]}
PORT_KUSTOMIZE_METRICS=${ports[7]}
PORT_KUSTOMIZE_HEALTH=${ports[8]}
PORT_NOTIFICATION_METRICS=${ports[9]}
PORT_NOTIFICATION_HEALTH=${ports[10]}
PORT_NOTIFICATION_EVENTS=${ports[11]}
PORT_NOTIFICATION_RECEIVER=${ports[12]}
PORT_HELM_METRICS=${ports[13]}
PORT_HELM_HEALTH=$(free_ports 1)
EOF
  load_ports
  gen_pki

  # etcd.
  start_proc etcd "$(comp_bin etcd)" --name=e2e --data-dir="$STATE/etcd" \
    --listen-client-urls="http://$HOST:$PORT_ETCD" --advertise-client-urls="http://$HOST:$PORT_ETCD" \
    --listen-peer-urls="http://$HOST:$PORT_ETCD_PEER" --initial-advertise-peer-urls="http://$HOST:$PORT_ETCD_PEER" \
    --initial-cluster="e2e=http://$HOST:$PORT_ETCD_PEER" --unsafe-no-fsync --log-level=warn
  wait_for "etcd /health" curl -fsS "http://$HOST:$PORT_ETCD/health" ||
    { tail -n 30 "$STATE/logs/etcd.log" >&2; die "etcd did not become healthy"; }

  # kube-apiserver.
  start_apiserver
  local p=$STATE/pki
  log "kube-apiserver ready at https://$HOST:$PORT_APISERVER ($(( $(date +%s) - t0 ))s)"

  # Git server.
  start_proc gitserver python3 "$E2E_DIR/gitserver.py" --root "$STATE/git" --port "$PORT_GIT"
  wait_for "git server" curl -sS -o /dev/null "http://$HOST:$PORT_GIT/" ||
    { tail -n 20 "$STATE/logs/gitserver.log" >&2; die "git server did not start"; }

  # Flux CRDs, namespace, service accounts, RBAC; controller kubeconfigs.
  for c in $FLUX_CONTROLLERS; do
    want "$c" || continue
    kc apply --server-side --force-conflicts -f "$(comp_dir "$c")/crds/" >/dev/null
  done
  local m
  for m in $CRD_MODULES; do
    [ -d "$(crd_dir "$m")" ] && kc apply --server-side --force-conflicts -f "$(crd_dir "$m")/" >/dev/null
  done
  kc apply --server-side -f "$E2E_DIR/manifests/flux-system.yaml" >/dev/null
  kc wait --for=condition=Established crd --all --timeout="${TIMEOUT}s" >/dev/null
  for c in $FLUX_CONTROLLERS; do
    want "$c" || continue
    write_kubeconfig "$STATE/kubeconfig-$c" "system:serviceaccount:flux-system:$c" \
      "$(kc -n flux-system create token "$c" --duration=720h)"
  done

  start_controllers "$lockdown"
  write_env
  log "up in $(( $(date +%s) - t0 ))s; state in $STATE"
  log "use: eval \"\$(bash $0 env)\""
}

write_env() {
  load_ports
  {
    echo "export FLUXGUARD_E2E_STATE='$STATE'"
    echo "export KUBECONFIG='$STATE/kubeconfig'"
    echo "export FLUXGUARD_E2E_APISERVER='https://$HOST:$PORT_APISERVER'"
    echo "export FLUXGUARD_E2E_GIT_URL='http://$HOST:$PORT_GIT'"
    echo "export FLUXGUARD_E2E_GIT_ROOT='$STATE/git'"
    echo "export FLUXGUARD_E2E_LOCKDOWN='$(cat "$STATE/lockdown" 2>/dev/null || echo 0)'"
    echo "export FLUXGUARD_E2E_SOURCE_STORAGE='http://$HOST:$PORT_SOURCE_STORAGE'"
    want notification-controller && echo "export FLUXGUARD_E2E_NOTIFICATION_EVENTS='http://$HOST:$PORT_NOTIFICATION_EVENTS'"
    true
  } >"$STATE/env"
}

cmd_env() {
  [ -f "$STATE/env" ] || die "not running (no $STATE/env); run: $0 up"
  cat "$STATE/env"
}

cmd_restart_controllers() {
  local lockdown; lockdown=$(cat "$STATE/lockdown" 2>/dev/null || echo 0)
  while [ $# -gt 0 ]; do
    case $1 in --lockdown) lockdown=1 ;; --no-lockdown) lockdown=0 ;; *) die "unknown option $1" ;; esac; shift
  done
  load_ports
  [ -f "$STATE/components" ] && COMPONENTS=$(cat "$STATE/components")
  local c
  for c in $STOP_CONTROLLERS; do stop_proc "$c"; done
  start_controllers "$lockdown"
  write_env
}

cmd_repo() {
  [ $# -eq 1 ] || die "usage: $0 repo NAME"
  load_ports
  local name=${1%.git}
  [ -d "$STATE/git/$name.git" ] || git init -q --bare -b main "$STATE/git/$name.git"
  echo "http://$HOST:$PORT_GIT/$name.git"
}

cmd_status() {
  [ -d "$STATE/pids" ] || { echo "down"; return 3; }
  load_ports
  local f name pid rc=0
  for f in "$STATE"/pids/*.pid; do
    [ -e "$f" ] || continue
    name=$(basename "$f" .pid); pid=$(cat "$f")
    if pid_running "$pid"; then echo "$name: running (pid $pid)"; else echo "$name: NOT running (pid $pid)"; rc=1; fi
  done
  if curl -fsS --cacert "$STATE/pki/ca.crt" "https://$HOST:$PORT_APISERVER/readyz" >/dev/null 2>&1; then
    echo "kube-apiserver: https://$HOST:$PORT_APISERVER ready"
  else echo "kube-apiserver: https://$HOST:$PORT_APISERVER NOT ready"; rc=1; fi
  echo "git: http://$HOST:$PORT_GIT/<name>.git"
  echo "lockdown: $(cat "$STATE/lockdown" 2>/dev/null || echo ?)"
  echo "kubeconfig: $STATE/kubeconfig"
  return $rc
}

cmd_down() {
  if [ ! -d "$STATE/pids" ]; then log "nothing to stop"; return 0; fi
  local c
  # Reverse start order: controllers, git server, apiserver, etcd.
  for c in $STOP_CONTROLLERS gitserver kube-apiserver etcd; do
    stop_proc "$c"
  done
  local f
  for f in "$STATE"/pids/*.pid; do [ -e "$f" ] && stop_proc "$(basename "$f" .pid)"; done
  # Keep the last run's logs for debugging; drop the rest (etcd data, keys, repos).
  rm -rf "$CACHE/last-run-logs"; mkdir -p "$CACHE"
  [ -d "$STATE/logs" ] && mv "$STATE/logs" "$CACHE/last-run-logs"
  rm -rf "$STATE"
  log "down (logs of the last run in $CACHE/last-run-logs)"
}

# Stops kube-apiserver and starts it again on the same port and data (etcd keeps running): what
# an API server restart or upgrade looks like to watchers.
cmd_restart_apiserver() {
  load_ports
  local t0; t0=$(date +%s)
  stop_proc kube-apiserver
  start_apiserver
  log "kube-apiserver restarted ($(( $(date +%s) - t0 ))s)"
}

case ${1:-} in
  build) shift; cmd_build "$@" ;;
  up) shift; cmd_up "$@" ;;
  down) shift; cmd_down "$@" ;;
  env) shift; cmd_env "$@" ;;
  status) shift; cmd_status "$@" ;;
  restart-controllers) shift; cmd_restart_controllers "$@" ;;
  restart-apiserver) shift; cmd_restart_apiserver "$@" ;;
  repo) shift; cmd_repo "$@" ;;
  versions) for c in $COMPONENTS; do echo "$c $(comp_version "$c")"; done ;;
  bin) shift; comp_is_built "${1:?usage: bin COMPONENT}" || die "$1 is not built; run: FLUXGUARD_E2E_COMPONENTS=$1 $0 build"; comp_bin "$1" ;;
  *) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
