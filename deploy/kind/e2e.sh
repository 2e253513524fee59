#!/usr/bin/env bash
# End-to-end test on a real cluster (kind in Docker): builds the image, loads it into a kind
# cluster (deploy/kind/cluster.yaml: 1 control plane + 3 workers), applies deploy/kind (the base
# with that image), waits for the rollout, then asserts:
#   1. /api/v1/agents/ holds 2 x nodes agents and connectivity_check answers 200; the agents
#      report with their projected tokens (--auth kubernetes), a report without a token gets 401;
#   2. a cordoned worker keeps its agents `ok` and the check 200;
#   3. a deleted agent pod is replaced: the new pod is `starting` (the check fails meanwhile: no
#      evidence yet), then `ok` and the check 200 again;
#   4. the cordoned worker frozen (docker pause: kubelet and agents stop, as in a drain and
#      reboot): its silent agents are churn (`node_cordoned`, then `node_not_ready`), never
#      network evidence; unpaused (the node keeps its address), they report `ok`;
#   5. an uncordoned worker frozen: its agents go silent before the node controller marks it
#      NotReady, so they stay `outdated` (a node that stops without warning is cut off); `ok`
#      again once unpaused;
#   6. the monitoring overlays: with the prometheus-operator CRDs installed, both pass the API
#      server's strict validation (a dry run), deploy/kind/monitoring (kube-prometheus-stack with
#      the e2e image) is applied, its ServiceMonitor and PrometheusRule exist, and the exporter,
#      restarted with the stack settings, answers 200 again.
# Needs: docker, kind, kubectl, curl, jq, and network access to the CRDs (PROMETHEUS_OPERATOR_CRDS
# names another URL or file). Usage: deploy/kind/e2e.sh   (KEEP_CLUSTER=1 keeps it)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cluster=${CLUSTER:-netchecker-e2e}
image=netchecker:e2e
port=${LOCAL_PORT:-18081}
ns=netchecker
pf_pid=
crds=${PROMETHEUS_OPERATOR_CRDS:-https://github.com/prometheus-operator/prometheus-operator/releases/download/v0.79.2/stripped-down-crds.yaml}

log() { printf '%s e2e: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
fail() {
  log "FAIL: $*"
  kubectl -n "$ns" get pods -o wide >&2 || true
  kubectl -n "$ns" logs deployment/netchecker-server --tail=50 >&2 || true
  exit 1
}

cleanup() {
  if [ -n "$pf_pid" ]; then kill "$pf_pid" 2>/dev/null || true; fi
  if [ "${KEEP_CLUSTER:-0}" != 1 ]; then kind delete cluster --name "$cluster" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

for tool in docker kind kubectl curl jq; do
  command -v "$tool" >/dev/null || fail "$tool is required"
done

# until SECONDS DESCRIPTION COMMAND...: retries COMMAND every 2 s until it succeeds.
until_ok() {
  local limit=$1 what=$2
  shift 2
  local end=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$end" ] || fail "timed out after ${limit}s waiting for $what"
    sleep 2
  done
  log "ok: $what"
}

api() { curl -fsS "http://127.0.0.1:$port$1"; }
check_status() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/api/v1/connectivity_check"; }
check_is() { [ "$(check_status)" = "$1" ]; }
state_of() { curl -s "http://127.0.0.1:$port/api/v1/connectivity_check" | jq -r --arg n "$1" '.agents[] | select(.name == $n) | .state'; }
state_in() {
  local name=$1 s
  shift
  s=$(state_of "$name")
  for want in "$@"; do [ "$s" = "$want" ] && return 0; done
  return 1
}
agent_count_is() { [ "$(api /api/v1/agents/ | jq 'keys | length')" = "$1" ]; }
agent_on() { kubectl -n "$ns" get pods -l "app=$1" --field-selector "spec.nodeName=$2" -o jsonpath='{.items[0].metadata.name}'; }
# The pod-network agent on node $1 that is not pod $2 (the DaemonSet's replacement), or nothing.
replacement() { kubectl -n "$ns" get pods -l app=netchecker-agent --field-selector "spec.nodeName=$1" -o name | sed 's|^pod/||' | grep -vx "$2" | head -n 1; }
has_replacement() { [ -n "$(replacement "$1" "$2")" ]; }

if ! kind get clusters | grep -qx "$cluster"; then
  log "creating kind cluster $cluster"
  kind create cluster --name "$cluster" --config "$here/cluster.yaml" --wait 120s
fi
kubectl config use-context "kind-$cluster" >/dev/null

log "building $image"
docker build -t "$image" "$root"
kind load docker-image "$image" --name "$cluster"

log "applying deploy/kind"
kubectl apply -k "$here"
kubectl -n "$ns" rollout status deployment/netchecker-server --timeout=180s
kubectl -n "$ns" rollout status daemonset/netchecker-agent --timeout=180s
kubectl -n "$ns" rollout status daemonset/netchecker-agent-hostnet --timeout=180s

port_forward() {
  if [ -n "$pf_pid" ]; then kill "$pf_pid" 2>/dev/null || true; fi
  kubectl -n "$ns" port-forward service/netchecker-service "$port:8081" >/dev/null 2>&1 &
  pf_pid=$!
  until_ok 30 "port-forward to netchecker-service" api /healthz
}
port_forward

nodes=$(kubectl get nodes --no-headers | wc -l)
until_ok 120 "2 x $nodes agents in /api/v1/agents/" agent_count_is $((2 * nodes))
until_ok 60 "connectivity_check 200" check_is 200

# --auth kubernetes: every agent got in with its projected token; a report without one is 401.
post_status() { curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d "$2" "http://127.0.0.1:$port/api/v1/agents/$1"; }
anonymous=$(post_status netchecker-agent-anonymous '{"report_interval":15,"podname":"netchecker-agent-anonymous","hostdate":"2026-01-01T00:00:00Z"}')
[ "$anonymous" = 401 ] || fail "a report without a token got $anonymous, want 401"
log "ok: a report without a token is refused (401)"

worker=$(kubectl get nodes --no-headers -o custom-columns=NAME:.metadata.name | grep -- -worker | head -n 1)
log "cordoning $worker"
kubectl cordon "$worker"
pod=$(agent_on netchecker-agent "$worker")
hostpod=$(agent_on netchecker-agent-hostnet "$worker")
sleep 20
state_in "$pod" ok || fail "$pod on cordoned $worker is $(state_of "$pod"), want ok"
check_is 200 || fail "connectivity_check is $(check_status) with $worker cordoned, want 200"
log "ok: agents on a cordoned node stay ok"

log "deleting agent pod $pod"
kubectl -n "$ns" delete pod "$pod" --wait=false
until_ok 60 "a replacement agent pod on $worker" has_replacement "$worker" "$pod"
newpod=$(replacement "$worker" "$pod")
until_ok 60 "$newpod starting or ok" state_in "$newpod" starting ok
until_ok 60 "$newpod ok" state_in "$newpod" ok
until_ok 60 "connectivity_check 200 after the replacement" check_is 200

log "freezing cordoned node $worker (docker pause): a drain and reboot"
docker pause "$worker" >/dev/null
until_ok 180 "$hostpod node_not_ready" state_in "$hostpod" node_not_ready
log "unfreezing node $worker"
docker unpause "$worker" >/dev/null
until_ok 180 "$hostpod ok again" state_in "$hostpod" ok
kubectl uncordon "$worker"
until_ok 120 "connectivity_check 200" check_is 200

log "freezing node $worker (docker pause) without a cordon: stopped without warning"
docker pause "$worker" >/dev/null
until_ok 120 "$hostpod outdated" state_in "$hostpod" outdated
sleep 60 # past the node controller's grace: NotReady came after the silence
state_in "$hostpod" outdated || fail "$hostpod is $(state_of "$hostpod") with $worker frozen uncordoned, want outdated"
docker unpause "$worker" >/dev/null
until_ok 180 "$hostpod ok again" state_in "$hostpod" ok
until_ok 120 "connectivity_check 200 after the freezes" check_is 200

log "installing the prometheus-operator CRDs ($crds)"
kubectl apply --server-side -f "$crds" >/dev/null
kubectl wait --for=condition=Established --timeout=60s crd/servicemonitors.monitoring.coreos.com crd/prometheusrules.monitoring.coreos.com >/dev/null
for overlay in kube-prometheus kube-prometheus-stack; do
  kubectl apply --dry-run=server --validate=strict -k "$root/deploy/overlays/$overlay" >/dev/null || fail "deploy/overlays/$overlay does not pass the API server's validation"
  log "ok: deploy/overlays/$overlay passes the API server's strict validation"
done
log "applying deploy/kind/monitoring"
kubectl apply -k "$here/monitoring"
kubectl -n "$ns" get servicemonitor/netchecker prometheusrule/netchecker >/dev/null || fail "the ServiceMonitor or PrometheusRule is missing"
kubectl -n "$ns" rollout status deployment/netchecker-server --timeout=180s
port_forward
until_ok 120 "connectivity_check 200 with the monitoring overlay" check_is 200

log "PASS"
