#!/usr/bin/env bash
# The whole test suite, as README says: installs what the tests need (Debian packages via apt
# when root, npm packages from the lock file), builds, type-checks, lints (the full run), runs
# every tap test and ends with one line "N passed, N failed" (each failure named just above it).
# Anything missing that cannot be installed is a failure.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

# command -> Debian package that provides it
PACKAGES=(
  "promtool:prometheus"
  "prometheus-alertmanager:prometheus-alertmanager"
  "amtool:prometheus-alertmanager"
  "openssl:openssl"
  "etcd:etcd-server"
  "etcdctl:etcd-client"
  "dnsmasq:dnsmasq-base"
  "ping:iputils-ping"
  "nft:nftables"
  "ip:iproute2"
  "ethtool:ethtool"
  "shellcheck:shellcheck"
  "wrk:wrk"
  "faketime:faketime"
  "jsonnet:jsonnet"
  "chromium:chromium"
)
# kubectl renders deploy/ (kubectl kustomize): Debian 12 has no usable package (kubernetes-client
# is 1.20, without kustomize components), so it is checked, never installed.
KUBECTL_MIN_MINOR=27

die() {
  echo "test/run.sh: $*" >&2
  echo "0 passed, 1 failed"
  exit 1
}

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
[ "$node_major" -ge 20 ] || die "Node.js >= 20 with npm is required (found: $(node --version 2>/dev/null || echo none)); install it first, e.g. from nodejs.org or NodeSource."
command -v npm >/dev/null || die "npm is required next to Node.js."

kubectl_minor=$(kubectl version --client -o json 2>/dev/null | node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>{try{console.log(parseInt(JSON.parse(s).clientVersion.minor,10)||0)}catch{console.log(0)}})' 2>/dev/null)
[ "${kubectl_minor:-0}" -ge "$KUBECTL_MIN_MINOR" ] || die "kubectl >= 1.$KUBECTL_MIN_MINOR is required (found: $(command -v kubectl >/dev/null && kubectl version --client 2>/dev/null | head -n 1 || echo none)); Debian 12's kubernetes-client (1.20) is too old: install kubectl from https://pkgs.k8s.io/core:/stable:/v1.32/deb/ or https://dl.k8s.io/release/v1.32.4/bin/linux/amd64/kubectl"

missing=()
for entry in "${PACKAGES[@]}"; do
  command -v "${entry%%:*}" >/dev/null || missing+=("${entry#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test/run.sh: installing Debian packages: ${missing[*]}" >&2
    # Installing a server package must not start its service on this machine.
    policy=/usr/sbin/policy-rc.d
    had_policy=0; [ -e "$policy" ] && had_policy=1
    [ $had_policy = 1 ] || { printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; }
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
    rc=$?
    [ $had_policy = 1 ] || rm -f "$policy"
    [ $rc = 0 ] || die "apt-get install ${missing[*]} failed"
  else
    die "missing Debian packages: ${missing[*]} (run as root to install them, or: sudo apt-get install ${missing[*]})"
  fi
fi

# npm ci again only when the lock file's content changed since the last install (a checkout or a
# merge touches its mtime without changing it, and npm ci starts by deleting node_modules).
lock_stamp=node_modules/.netchecker-lock.sha256
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f node_modules/.package-lock.json ] || [ "$(cat "$lock_stamp" 2>/dev/null)" != "$lock_sum" ]; then
  npm ci --no-audit --no-fund >&2 || die "npm ci failed"
  echo "$lock_sum" > "$lock_stamp"
fi
npm run -s build >&2 && npm run -s build:tools >&2 || die "the build (tsc) failed"
npx tsc -p tsconfig.test.json >&2 || die "type errors in the tests"

mkdir -p .tap
# tap's TypeScript loader caches compiled code in one file under /tmp shared by every test
# process, and reads it without the writers' lock: three jobs at once can hand V8 a torn cache,
# which aborts the process ("Fatal error ... unreachable code") instead of failing one test.
export DISABLE_V8_COMPILE_CACHE=1
# Tests that measure timing under faults (the netns lab's loss and detection times, a rollout of
# 500 agents, clock steps) run one at a time after the rest: next to the heavy tests on a 2-core
# machine they would measure the machine's load, not netchecker. So do the tests that make the
# load themselves: the bench's quick run (wrk saturates both cores and opened so many loopback
# connections that other tests found no free port: EADDRINUSE on listen(0)), its soak, and the
# slowloris attack (500 connections and 50 agents on one event loop). tap's timeout per file
# (package.json, 600 s) only catches a hung test: on a busy machine the fuzz tests took 200 s.
SERIAL=(test/lab-faults.test.ts test/lab-families.test.ts test/lab-paths.test.ts test/lab-dns-replicas.test.ts test/status-lab.test.ts test/fault-matrix.test.ts test/etcd-scale.test.ts test/rollout.test.ts test/clock-jumps.test.ts test/bench.test.ts test/soak.test.ts test/slowloris.test.ts)
# Checks over the sources beside the tests, in the full run only (one test file stays quick):
# each is one test point of the summary line, and a failing one's output is printed last.
CHECKS=(lint format:check)
failed_checks=()
run_checks() {
  local n=0
  echo "# Subtest: checks"
  for c in "${CHECKS[@]}"; do
    n=$((n + 1))
    if npm run -s "$c" > ".tap/${c//:/-}.out" 2>&1; then
      echo "    ok $n - npm run $c"
    else
      echo "    not ok $n - npm run $c"
      failed_checks+=("$c")
    fi
  done
  echo "    1..$n"
  if [ ${#failed_checks[@]} = 0 ]; then echo "ok 1 - checks"; else echo "not ok 1 - checks"; fi
}

if [ $# -gt 0 ]; then
  npx tap --reporter=tap --jobs=3 "$@" > .tap/last-run.tap 2>.tap/last-run.err
  rc=$?
else
  run_checks > .tap/checks.tap
  mapfile -t parallel < <(find test -name '*.test.ts' | sort | grep -vxF -f <(printf '%s\n' "${SERIAL[@]}"))
  npx tap --reporter=tap --jobs=3 "${parallel[@]}" > .tap/parallel.tap 2>.tap/last-run.err
  rc_parallel=$?
  npx tap --reporter=tap --jobs=1 "${SERIAL[@]}" > .tap/serial.tap 2>>.tap/last-run.err
  rc_serial=$?
  cat .tap/parallel.tap .tap/serial.tap .tap/checks.tap > .tap/last-run.tap
  rc=$((rc_parallel > rc_serial ? rc_parallel : rc_serial))
  [ ${#failed_checks[@]} = 0 ] || rc=$((rc > 1 ? rc : 1))
fi
cat .tap/last-run.tap .tap/last-run.err >&2
for c in "${failed_checks[@]}"; do
  echo "test/run.sh: npm run $c failed:" >&2
  cat ".tap/${c//:/-}.out" >&2
done
node test/summary.mjs .tap/last-run.tap
exit $rc
