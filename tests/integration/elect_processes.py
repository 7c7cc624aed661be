#!/usr/bin/env python3
"""Multi-process election scenario with an invariant checker.

Three `k8sha elect` processes contend on one kube-lite. The scenario kills the leader with
SIGKILL, freezes the next leader with SIGSTOP past its lease and resumes it, restarts kube-lite
(same port, same data), and finally stops everyone with SIGTERM. Every process logs timestamped
events; the checker then asserts over all logs together:

  1. at most one process is granted any one term, and terms grow with each grant;
  2. on the server (a watch of the lock ConfigMap records every state it goes through), a
     published address always belongs to the session of the term the record holds: a frozen and
     resumed old leader never lands a write after a newer term began;
  3. at the end, the published address belongs to the last leader's session.

Waits are on log lines (bounded), never on fixed sleeps.
usage: elect_processes.py K8SHA KUBE_LITE SOURCE_ROOT
"""
import json
import os
import signal
import urllib.request
import subprocess
import sys
import tempfile
import threading
import time

K8SHA, KUBELITE, SRC = sys.argv[1], sys.argv[2], sys.argv[3]
LEASE, RENEW, RETRY = "1500 ms", "1200 ms", "300 ms"
LEASE_MS = 1500
WAIT_S = 30

tmp = tempfile.mkdtemp(prefix="k8sha-elect-")
procs = {}
logs = {}  # name -> list of (ms, words)
lock = threading.Lock()
cond = threading.Condition(lock)
server = None
failures = []
states = []  # (resourceVersion, holder, transitions, published session or None), as the server held them
watching = True
LOCK = "cluster1337-cluster-config-map"
ENTRY = "org.apache.flink.k8s.leader.restserver"


def fail(msg):
    failures.append(msg)
    raise SystemExit(msg)


def reader(name, stream):
    for line in stream:
        parts = line.split()
        if len(parts) < 2:
            continue
        with cond:
            logs.setdefault(name, []).append((int(parts[0]), parts[1:]))
            cond.notify_all()


def start_server(port=0):
    global server
    kc = os.path.join(tmp, "kc")
    if os.path.exists(kc):
        os.unlink(kc)
    server = subprocess.Popen([KUBELITE, "--port", str(port), "--data-dir", os.path.join(tmp, "data"),
                               "--namespace", "flink", "--write-kubeconfig", kc],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = server.stdout.readline()
    if "listening on" not in line:
        fail("kube-lite did not start: %r" % line)
    threading.Thread(target=lambda: server.stdout.read(), daemon=True).start()
    return int(line.strip().rsplit(":", 1)[1])


# Against the real API server of tests/realkube (K8SHA_TEST_KUBECONFIG, K8SHA_TEST_SERVER,
# K8SHA_TEST_CA, K8SHA_TEST_ADMIN_TOKEN) no kube-lite is started, the watch goes there as its
# admin; step 3 kills and restarts it with the commands in K8SHA_TEST_APISERVER_DOWN and
# K8SHA_TEST_APISERVER_UP (left out without them).
EXTERNAL = bool(os.environ.get("K8SHA_TEST_KUBECONFIG"))
KUBECONFIG = os.environ.get("K8SHA_TEST_KUBECONFIG") or os.path.join(tmp, "kc")


def server_request(path, timeout):
    if not EXTERNAL:
        return urllib.request.urlopen("http://127.0.0.1:%d%s" % (server_port, path), timeout=timeout)
    import ssl
    req = urllib.request.Request(os.environ["K8SHA_TEST_SERVER"] + path, headers={
        "Authorization": "Bearer " + os.environ["K8SHA_TEST_ADMIN_TOKEN"]})
    return urllib.request.urlopen(req, timeout=timeout, context=ssl.create_default_context(
        cafile=os.environ["K8SHA_TEST_CA"]))


server_port = 0


def watch_lock():
    """Records every state of the lock ConfigMap, across server restarts."""
    rv = "0"
    while watching:
        path = ("/api/v1/namespaces/flink/configmaps?watch=1&resourceVersion=%s"
                "&fieldSelector=metadata.name%%3D%s" % (rv, LOCK))
        try:
            with server_request(path, 5) as stream:
                for line in stream:
                    ev = json.loads(line)
                    obj = ev["object"]
                    if ev["type"] == "ERROR":
                        rv = "0"
                        break
                    rv = obj["metadata"]["resourceVersion"]
                    if ev["type"] not in ("ADDED", "MODIFIED"):
                        continue
                    rec = json.loads(obj["metadata"].get("annotations", {}).get(
                        "control-plane.alpha.kubernetes.io/leader", "{}"))
                    entry = obj.get("data", {}).get(ENTRY)
                    with lock:
                        states.append((rv, rec.get("holderIdentity", ""), rec.get("leaderTransitions"),
                                       entry.split(",", 1)[0] if entry else None))
        except Exception:
            if watching:
                time.sleep(0.05)  # the server is restarting: try again


def start(name):
    cmd = [K8SHA, "elect", "--identity", name, "--address", "http://%s:8081" % name, "--timestamps",
           "-c", os.path.join(SRC, "examples/config/flink-conf.yaml"),
           "-D", "kubernetes.config.file=" + KUBECONFIG,
           "-D", "kubernetes.namespace=flink",
           "-D", "high-availability.kubernetes.leader-election.lease-duration=" + LEASE,
           "-D", "high-availability.kubernetes.leader-election.renew-deadline=" + RENEW,
           "-D", "high-availability.kubernetes.leader-election.retry-period=" + RETRY]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=open(os.path.join(tmp, name + ".err"), "w"),
                         text=True)
    procs[name] = p
    threading.Thread(target=reader, args=(name, p.stdout), daemon=True).start()


def events(kind):
    """All (ms, name, words) of one kind, in time order."""
    out = []
    for name, lines in logs.items():
        out += [(ms, name, w) for ms, w in lines if w[0] == kind]
    return sorted(out)


def wait_until(pred, what):
    deadline = time.monotonic() + WAIT_S
    with cond:
        while not pred():
            left = deadline - time.monotonic()
            if left <= 0:
                fail("timed out waiting for " + what)
            cond.wait(left)


def leader_after(n_grants):
    wait_until(lambda: len(events("granted")) >= n_grants, "grant #%d" % n_grants)
    with lock:
        return events("granted")[-1][1]


def published_by(name, session):
    return any(w[0] == "published" and w[2] == session for _, w in logs.get(name, []))


def main():
    global server_port
    if EXTERNAL:  # a clean namespace, as a fresh kube-lite would be
        import ssl
        req = urllib.request.Request(os.environ["K8SHA_TEST_SERVER"] +
                                     "/api/v1/namespaces/flink/configmaps", method="DELETE",
                                     headers={"Authorization": "Bearer " +
                                              os.environ["K8SHA_TEST_ADMIN_TOKEN"]})
        urllib.request.urlopen(req, timeout=10, context=ssl.create_default_context(
            cafile=os.environ["K8SHA_TEST_CA"])).read()
    else:
        server_port = start_server()
    port = server_port
    threading.Thread(target=watch_lock, daemon=True).start()
    for n in ("jm1", "jm2", "jm3"):
        start(n)
    first = leader_after(1)
    session = events("granted")[-1][2][1]
    wait_until(lambda: published_by(first, session), "the first leader's publish")

    # 1. crash of the leader
    procs[first].send_signal(signal.SIGKILL)
    procs[first].wait()
    second = leader_after(2)

    # 2. the leader freezes past its lease and comes back
    procs[second].send_signal(signal.SIGSTOP)
    third = leader_after(3)
    procs[second].send_signal(signal.SIGCONT)
    wait_until(lambda: any(w[0] == "revoked" for _, w in logs.get(second, [])),
               "the resumed leader's revoke")

    # 3. the API server is down for longer than the renew deadline, then restarts (same port and
    # data): the leader steps down while it is down, and someone leads again after.
    grants_before = len(events("granted"))
    down, up = os.environ.get("K8SHA_TEST_APISERVER_DOWN"), os.environ.get("K8SHA_TEST_APISERVER_UP")
    if not EXTERNAL or (down and up):
        with lock:
            current = events("granted")[-1][1]
        revokes = sum(1 for _, w in logs.get(current, []) if w[0] == "revoked")
        if EXTERNAL:
            subprocess.run(down, shell=True, check=True, timeout=WAIT_S)
        else:
            server.send_signal(signal.SIGKILL)
            server.wait()
        wait_until(lambda: sum(1 for _, w in logs.get(current, []) if w[0] == "revoked") > revokes,
                   "the leader's step-down while the API server is down")
        grants_before = len(events("granted"))
        if EXTERNAL:
            subprocess.run(up, shell=True, check=True, timeout=120)
        else:
            start_server(port)
        leader_after(grants_before + 1)

    # k8sha status names the current holder and its published address
    with lock:
        holder, session = events("granted")[-1][1], events("granted")[-1][2][1]
    wait_until(lambda: published_by(holder, session), "the last leader's publish")
    status = subprocess.run([K8SHA, "status", "--json", "-c", os.path.join(SRC, "examples/config/flink-conf.yaml"),
                             "-D", "kubernetes.config.file=" + KUBECONFIG,
                             "-D", "kubernetes.namespace=flink"],
                            capture_output=True, text=True, timeout=WAIT_S)
    st = json.loads(status.stdout)
    if st.get("holder") != holder or not st["components"].get("restserver", "").startswith(session):
        fail("k8sha status says %s, expected holder %s with session %s" % (st, holder, session))

    # 4. everyone stops cleanly
    for name, p in procs.items():
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for name, p in procs.items():
        try:
            rc = p.wait(timeout=WAIT_S)
        except subprocess.TimeoutExpired:
            fail("%s did not exit after SIGTERM" % name)
        if name != first and rc != 0:
            fail("%s exited with %d after SIGTERM" % (name, rc))
    check(grants_before)


def check(grants_before_restart):
    global watching
    watching = False
    grants = events("granted")
    # (1) terms: unique and increasing
    terms = [int(w[2]) for _, _, w in grants]
    if len(set(terms)) != len(terms):
        fail("a term was granted twice: %s" % grants)
    if terms != sorted(terms):
        fail("terms went back: %s" % terms)
    # (2) on the server, a published address always belongs to the term the record holds
    term_of = {w[1]: int(w[2]) for _, _, w in grants}
    with lock:
        seen = list(states)
    if len(seen) < len(grants):
        fail("the watch saw only %d states" % len(seen))
    for rv, holder, transitions, session in seen:
        if session is None:
            continue
        if session not in term_of:
            fail("resourceVersion %s: entry of unknown session %s" % (rv, session))
        if term_of[session] != transitions:
            fail("resourceVersion %s: holder %s in term %s, but the entry is from term %d" %
                 (rv, holder, transitions, term_of[session]))
    # (3) the last published address is the last leader's
    last_with_entry = [st for st in seen if st[3]]
    if last_with_entry and last_with_entry[-1][3] != grants[-1][2][1] and seen[-1][3] is not None:
        fail("the final entry is not the last leader's session")
    print("grants:", [(n, w[1][:8], int(w[2])) for _, n, w in grants])
    print("server states checked:", len(seen))
    print("invariants hold: one leader per term; no entry from another term ever on the server")


try:
    main()
    print("1 passed, 0 failed")
    code = 0
except SystemExit as e:
    print("FAIL:", e)
    for name, lines in sorted(logs.items()):
        print("--", name)
        for ms, w in lines:
            print("  ", ms, " ".join(w))
    code = 1
finally:
    for p in procs.values():
        if p.poll() is None:
            p.kill()
    if server and server.poll() is None:
        server.kill()
sys.exit(code)
