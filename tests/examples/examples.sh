#!/usr/bin/env bash
# Runs every example against a fresh k8sha-kube-lite (or, with K8SHA_EXAMPLES_KUBECONFIG, the
# real API server it names, namespace flink) and checks what each one reports.
#   examples.sh KUBE_LITE EXAMPLES_DIR K8SHA
set -euo pipefail
kubelite=$1 dir=$2 k8sha=$3
work=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

kc=${K8SHA_EXAMPLES_KUBECONFIG:-}
if [ -z "$kc" ]; then
  kc=$work/kc
  "$kubelite" --port 0 --namespace flink --write-kubeconfig "$kc" > "$work/kl.out" 2>&1 &
  server=$!
  for _ in $(seq 1 600); do grep -q "listening on" "$work/kl.out" && break; sleep 0.05; done
  grep -q "listening on" "$work/kl.out" || { echo "kube-lite did not start"; exit 1; }
fi

conf() { # conf CLUSTER_ID: the options every example gets
  echo "-D kubernetes.config.file=$kc -D kubernetes.cluster-id=$1 -D kubernetes.namespace=flink" \
       "-D high-availability.type=kubernetes -D high-availability.storageDir=$work/ha"
}
expect() { # expect FILE TEXT
  grep -qF -- "$2" "$1" || { echo "FAIL: '$2' not in the output of $1:"; cat "$1"; exit 1; }
}
fails=0
run() { # run NAME TIMEOUT_S ARGS...
  local name=$1 t=$2; shift 2
  if ! timeout "$t" "$dir/$name" "$@" > "$work/$name.out" 2>&1; then
    echo "FAIL: $name exited with $?:"; cat "$work/$name.out"; fails=1; return 1
  fi
}

# shellcheck disable=SC2046
run leader 60 $(conf leader) --identity ex-1 --address http://ex-1:8081 --once
expect "$work/leader.out" "granted: term"
expect "$work/leader.out" "leader of restserver: http://ex-1:8081"
expect "$work/leader.out" "released the lock: success"
"$k8sha" status $(conf leader) > "$work/status.out"
expect "$work/status.out" "(none: released)"

# shellcheck disable=SC2046
run checkpoints 60 $(conf cps)
expect "$work/checkpoints.out" "adding checkpoint 3"
expect "$work/checkpoints.out" "checkpoint 3: 'state of checkpoint 3'"
expect "$work/checkpoints.out" "checkpoints and counter removed"
[ -z "$(ls -A "$work/ha/cps" 2>/dev/null)" ] || { echo "FAIL: blobs left: $(ls "$work/ha/cps")"; exit 1; }

# shellcheck disable=SC2046
run custom_backend 60 $(conf vault)
expect "$work/custom_backend.out" "recovered checkpoint 2 from the vault: 'second'"
expect "$work/custom_backend.out" "2 write(s), 1 read(s), 1 delete(s)"

# shellcheck disable=SC2046
run threaded 60 $(conf threaded)
expect "$work/threaded.out" "checkpoint id from the counter: 1"
expect "$work/threaded.out" "checkpoint 1 committed:        done"
expect "$work/threaded.out" "lock released:                 done"

# Two schedulers one after the other: the second goes on from the first one's last checkpoint.
# shellcheck disable=SC2046
run scheduler 60 $(conf sched) 3
expect "$work/scheduler.out" "no checkpoint yet: starting from step 0"
expect "$work/scheduler.out" "committed checkpoint 3 (step 3)"
expect "$work/scheduler.out" "left the election: done"
mv "$work/scheduler.out" "$work/scheduler-1.out"
# shellcheck disable=SC2046
run scheduler 60 $(conf sched) 2
expect "$work/scheduler.out" "recovered from checkpoint 3 (step 3)"
expect "$work/scheduler.out" "committed checkpoint 5 (step 5)"

[ "$fails" = 0 ]
echo "examples: leader, checkpoints, custom_backend, threaded, scheduler: OK"
