#!/usr/bin/env bash
# Smoke test of the local control plane: brings the cluster up, proves that
# source-controller + kustomize-controller reconcile from the loopback Git
# server, that commit signature verification works both ways, and that the
# lockdown flags take effect; then tears everything down.
#
#   bash test/e2e/smoke.sh            (runs `cluster.sh build` first; a no-op when cached)
#
# Exit 0 and a final "smoke: N passed, 0 failed" line on success.
set -euo pipefail

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cluster() { bash "$E2E_DIR/cluster.sh" "$@"; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/fluxguard-smoke.XXXXXX")
PASSED=0
FAILED=0

say() { printf '\n== %s\n' "$*"; }
ok() { PASSED=$((PASSED + 1)); printf 'ok   %s\n' "$*"; }
fail() { FAILED=$((FAILED + 1)); printf 'FAIL %s\n' "$*"; }

cleanup() {
  local rc=$?
  trap - EXIT
  if [ $rc -ne 0 ] || [ $FAILED -ne 0 ]; then
    say "diagnostics"
    kubectl get gitrepositories,kustomizations -A -o wide 2>/dev/null || true
    for f in "${FLUXGUARD_E2E_STATE:-/nonexistent}"/logs/*.log; do
      [ -f "$f" ] || continue; echo "--- $f (tail)"; tail -n 15 "$f"
    done
  fi
  cluster down || true
  rm -rf "$WORK"
  exit $rc
}

cluster build
cluster down >/dev/null 2>&1 || true
trap cleanup EXIT
cluster up
eval "$(cluster env)"

gitc() { git -c user.name="E2E Author" -c user.email=e2e@example.invalid -c commit.gpgsign=false "$@"; }
reconcile() { # kind name
  kubectl -n flux-system annotate --overwrite "$1/$2" "reconcile.fluxcd.io/requestedAt=$(date +%s%N)" >/dev/null
}
cond() { # kind name type -> "status reason"
  kubectl -n flux-system get "$1/$2" -o jsonpath="{.status.conditions[?(@.type==\"$3\")].status} {.status.conditions[?(@.type==\"$3\")].reason}"
}
wait_cond() { # kind name type status [timeout]
  local deadline=$(( $(date +%s) + ${5:-90} )) got
  while :; do
    got=$(cond "$1" "$2" "$3" 2>/dev/null || true)
    [ "${got%% *}" = "$4" ] && return 0
    [ "$(date +%s)" -lt "$deadline" ] || { echo "  $1/$2 $3: wanted $4, have '$got'"; return 1; }
    sleep 1
  done
}

write_app() { # dir value
  mkdir -p "$1/deploy"
  cat >"$1/deploy/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [namespace.yaml, configmap.yaml]
EOF
  cat >"$1/deploy/namespace.yaml" <<EOF
apiVersion: v1
kind: Namespace
metadata: {name: smoke-$(basename "$1")}
EOF
  cat >"$1/deploy/configmap.yaml" <<EOF
apiVersion: v1
kind: ConfigMap
metadata: {name: app, namespace: smoke-$(basename "$1")}
data: {value: "$2"}
EOF
}

apply_source() { # name url [verify-secret]
  local verify=""
  [ -n "${3:-}" ] && verify="  verify: {mode: HEAD, secretRef: {name: $3}}"
  kubectl apply -f - >/dev/null <<EOF
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: $1, namespace: flux-system}
spec:
  interval: 10m
  url: $2
  ref: {branch: main}
$verify
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: $1, namespace: flux-system}
spec:
  interval: 10m
  path: ./deploy
  prune: true
  sourceRef: {kind: GitRepository, name: $1}
EOF
}

# ---------------------------------------------------------------------------
say "1. GitRepository + Kustomization from the loopback Git server"
mkdir -p "$WORK/plain"
write_app "$WORK/plain" one
( cd "$WORK/plain" && git init -q -b main && gitc add -A && gitc commit -qm "plain app" &&
  git push -q "$FLUXGUARD_E2E_GIT_URL/plain.git" main )
apply_source plain "$FLUXGUARD_E2E_GIT_URL/plain.git"
if wait_cond gitrepository plain Ready True; then ok "GitRepository plain Ready"; else fail "GitRepository plain Ready"; fi
if wait_cond kustomization plain Ready True; then ok "Kustomization plain Ready"; else fail "Kustomization plain Ready"; fi
v=$(kubectl -n smoke-plain get configmap app -o jsonpath='{.data.value}' 2>/dev/null || true)
[ "$v" = one ] && ok "ConfigMap applied by kustomize-controller (value=$v)" || fail "ConfigMap applied (value='$v')"

# ---------------------------------------------------------------------------
say "2. Commit signature verification (spec.verify, mode HEAD, OpenPGP)"
export GNUPGHOME=$WORK/gnupg
mkdir -p "$GNUPGHOME"; chmod 700 "$GNUPGHOME"
gpg --batch --quiet --passphrase '' --quick-gen-key "E2E Signer <signer@example.invalid>" ed25519 sign never 2>/dev/null
FPR=$(gpg --batch --quiet --with-colons --list-secret-keys 2>/dev/null | awk -F: '/^fpr/ {print $10; exit}')
gpg --batch --quiet --armor --export "$FPR" >"$WORK/signer.asc" 2>/dev/null
kubectl -n flux-system create secret generic signers --from-file=signer.asc="$WORK/signer.asc" >/dev/null
mkdir -p "$WORK/signed"
write_app "$WORK/signed" good
( cd "$WORK/signed" && git init -q -b main && gitc add -A &&
  gitc -c gpg.program=gpg -c user.signingkey="$FPR" commit -q -S -m "signed good commit" &&
  git push -q "$FLUXGUARD_E2E_GIT_URL/signed.git" main )
GOOD=$(git -C "$WORK/signed" rev-parse HEAD)
apply_source signed "$FLUXGUARD_E2E_GIT_URL/signed.git" signers
if wait_cond gitrepository signed SourceVerified True; then
  ok "signed commit: SourceVerified=True ($(kubectl -n flux-system get gitrepository/signed -o jsonpath='{.status.conditions[?(@.type=="SourceVerified")].message}'))"
else fail "signed commit: SourceVerified=True"; fi
if wait_cond kustomization signed Ready True; then ok "Kustomization signed Ready at the signed revision"; else fail "Kustomization signed Ready"; fi
rev=$(kubectl -n flux-system get kustomization/signed -o jsonpath='{.status.lastAppliedRevision}')
case $rev in *"$GOOD"*) ok "lastAppliedRevision is the signed commit ($rev)" ;; *) fail "lastAppliedRevision '$rev' is not $GOOD" ;; esac

say "   push an unsigned commit on top"
write_app "$WORK/signed" evil
( cd "$WORK/signed" && gitc add -A && gitc commit -q -m "unsigned commit" &&
  git push -q "$FLUXGUARD_E2E_GIT_URL/signed.git" main )
BAD=$(git -C "$WORK/signed" rev-parse HEAD)
reconcile gitrepository signed
if wait_cond gitrepository signed SourceVerified False; then
  c=$(cond gitrepository signed SourceVerified)
  msg=$(kubectl -n flux-system get gitrepository/signed -o jsonpath='{.status.conditions[?(@.type=="SourceVerified")].message}')
  ok "unsigned commit: SourceVerified=False reason=${c#* } ($msg)"
  case "${c#* }" in InvalidCommitSignature) ok "reason is Flux's InvalidCommitSignature" ;; *) fail "unexpected reason '${c#* }'" ;; esac
  case $msg in *"$BAD"*) ok "message names the unsigned commit" ;; *) fail "message does not name $BAD" ;; esac
else fail "unsigned commit: SourceVerified=False"; fi
r=$(cond gitrepository signed Ready); [ "${r%% *}" = False ] && ok "GitRepository Ready=False (${r#* })" || fail "GitRepository Ready is '$r'"
art=$(kubectl -n flux-system get gitrepository/signed -o jsonpath='{.status.artifact.revision}')
case $art in *"$GOOD"*) ok "artifact stays at the signed revision" ;; *) fail "artifact revision '$art'" ;; esac
reconcile kustomization signed; sleep 3
rev=$(kubectl -n flux-system get kustomization/signed -o jsonpath='{.status.lastAppliedRevision}')
v=$(kubectl -n smoke-signed get configmap app -o jsonpath='{.data.value}')
case $rev in *"$GOOD"*) ok "Kustomization keeps the last good revision" ;; *) fail "Kustomization revision '$rev'" ;; esac
[ "$v" = good ] && ok "cluster still has the signed content (value=$v)" || fail "cluster content is '$v'"
if kubectl get events -n flux-system --field-selector involvedObject.name=signed,reason=InvalidCommitSignature -o name | grep -q .; then
  ok "Warning event InvalidCommitSignature recorded"
else fail "no InvalidCommitSignature event"; fi

# ---------------------------------------------------------------------------
say "3. Lockdown flags (--default-service-account=default, --no-cross-namespace-refs, --no-remote-bases)"
cluster restart-controllers --lockdown
write_app "$WORK/plain" two
( cd "$WORK/plain" && gitc add -A && gitc commit -qm "plain two" && git push -q "$FLUXGUARD_E2E_GIT_URL/plain.git" main )
reconcile gitrepository plain
reconcile kustomization plain
if wait_cond kustomization plain Ready False; then
  msg=$(kubectl -n flux-system get kustomization/plain -o jsonpath='{.status.conditions[?(@.type=="Ready")].message}')
  case $msg in
    *"system:serviceaccount:flux-system:default"*forbidden*|*forbidden*"system:serviceaccount:flux-system:default"*)
      ok "lockdown: Kustomization without serviceAccountName runs as flux-system:default and is forbidden" ;;
    *) fail "lockdown: unexpected message: $msg" ;;
  esac
else fail "lockdown: Kustomization still Ready"; fi
kubectl apply -f - >/dev/null <<EOF
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: cross, namespace: default}
spec:
  interval: 10m
  path: ./deploy
  prune: true
  serviceAccountName: default
  sourceRef: {kind: GitRepository, name: plain, namespace: flux-system}
EOF
if deadline=$(( $(date +%s) + 60 )); then
  while :; do
    r=$(kubectl -n default get kustomization/cross -o jsonpath='{.status.conditions[?(@.type=="Ready")].reason}' 2>/dev/null || true)
    [ -n "$r" ] && break; [ "$(date +%s)" -lt "$deadline" ] || break; sleep 1
  done
fi
[ "$r" = AccessDenied ] && ok "lockdown: cross-namespace sourceRef denied (reason AccessDenied)" || fail "lockdown: cross-namespace reason '$r'"

say "4. RBAC answers and ValidatingAdmissionPolicy"
[ "$(kubectl auth can-i create clusterrolebindings --as=system:serviceaccount:flux-system:kustomize-controller 2>/dev/null)" = yes ] &&
  ok "kustomize-controller SA may create ClusterRoleBindings (cluster-reconciler binding)" || fail "kustomize-controller SA can-i"
[ "$(kubectl auth can-i create clusterrolebindings --as=system:serviceaccount:flux-system:source-controller 2>/dev/null)" = no ] &&
  ok "source-controller SA may not create ClusterRoleBindings" || fail "source-controller SA can-i"
kubectl apply -f - >/dev/null <<EOF
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: smoke-deny-crb}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - {apiGroups: [rbac.authorization.k8s.io], apiVersions: ["*"], operations: [CREATE, UPDATE], resources: [clusterrolebindings]}
  validations:
    - expression: "!object.metadata.name.startsWith('smoke-')"
      message: "smoke: ClusterRoleBindings named smoke-* are denied"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: smoke-deny-crb}
spec: {policyName: smoke-deny-crb, validationActions: [Deny]}
EOF
vap=""
for _ in $(seq 1 30); do
  if out=$(kubectl create clusterrolebinding smoke-x --clusterrole=view --user=nobody 2>&1); then
    kubectl delete clusterrolebinding smoke-x >/dev/null; sleep 1   # policy not active yet
  else vap=$out; break; fi
done
case $vap in *"smoke: ClusterRoleBindings named smoke-* are denied"*) ok "ValidatingAdmissionPolicy denies with its message" ;;
  *) fail "ValidatingAdmissionPolicy did not deny: $vap" ;; esac

say "5. Loopback only"
mine=$(for f in "$FLUXGUARD_E2E_STATE"/pids/*.pid; do cat "$f"; done | tr '\n' ' ')
bad=$(ss -H -ltnp 2>/dev/null | awk '$4 !~ /^(127\.|\[::1\]|\[::ffff:127\.)/' | while read -r line; do
  for p in $mine; do case $line in *"pid=$p,"*) echo "$line" ;; esac; done; done)
[ -z "$bad" ] && ok "every listening socket of the cluster is on loopback" || fail "non-loopback listeners: $bad"

printf '\nsmoke: %d passed, %d failed\n' "$PASSED" "$FAILED"
[ "$FAILED" -eq 0 ]
