#!/usr/bin/python3
"""Leader-election benchmark: libk8sha (`k8sha elect`) against the Python
kubernetes client's leaderelection and client-go's leaderelection with a
LeaseLock, all against one k8sha-kube-lite.

It prints figures; it is not a test (it exits 0 whatever it measures, and 1
only when it could not measure: a contender that does not start, a bound
exceeded). See docs/election-benchmark.md for the method and the results.

    /usr/bin/python3 tests/bench/election_bench.py [--runs N] [--build DIR]
        [--kube-lite PATH] [--k8sha PATH] [--clientgo PATH] [--idle-seconds S (20)]
        [--impl IMPL[,IMPL...]]    IMPL: libk8sha, python, clientgo; both (libk8sha,python,
                                   the default) or all

Use /usr/bin/python3: the peer contenders import Debian's python3-kubernetes,
which a pyenv python does not see (the peer is started with --python, default
/usr/bin/python3, whatever runs this script).

The same file is the Python peer contender, run as a subprocess:

    /usr/bin/python3 election_bench.py --peer --kubeconfig KC --namespace NS \
        --lock NAME --identity ID [--lease 2 --renew 1.5 --retry 0.5]

which prints, each line prefixed by the wall clock in ms:
    leader <holder>|-      the holder it saw in the lock changed (on its GET)
    granted <identity>     it became leader (onstarted_leading)
    revoked                it lost leadership (onstopped_leading); it then rejoins
    stopped                SIGTERM: it exits 0. The python client (22.6) has no
                           release, so the lock is NOT released (see the doc).

The client-go contender is a Go program, tests/bench/peers/clientgo (client-go's
tools/leaderelection with a resourcelock.LeaseLock on a coordination.k8s.io/v1
Lease, ReleaseOnCancel), built with its build.sh into the bench's log folder
unless --clientgo names a binary. It takes the peer's flags and prints the same
lines; "leader" comes from OnNewLeader, and on SIGTERM it releases the Lease
(empty holderIdentity) before it prints "stopped". The observer then watches
the Lease instead of a ConfigMap.

Synchronisation is on process output and on the lock's watch events, with
bounded waits (--timeout, default 30 s per event). The only sleeps are the
idle-rate measurement windows and a deliberate random delay in [0, retry)
before each kill, which spreads the kill's phase over the renew period.
"""

import argparse
import json
import math
import os
import queue
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

ANNOTATION = "control-plane.alpha.kubernetes.io/leader"
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CLIENTGO_SRC = os.path.join(HERE, "peers", "clientgo")
FLINK_RUN = os.path.join(HERE, "peers", "flink", "run.sh")
# The lock objects an implementation can use: kind -> (collection path, kube-lite's stats resource).
LOCK_KINDS = {
    "configmap": ("/api/v1/namespaces/%s/configmaps", "configmaps"),
    "lease": ("/apis/coordination.k8s.io/v1/namespaces/%s/leases", "leases"),
}
IMPL_KEYS = ("libk8sha", "python", "clientgo", "flink")
IMPL_SETS = {"both": ("libk8sha", "python"), "all": IMPL_KEYS}


def now_ms():
    return time.time() * 1000.0


# --------------------------------------------------------------------------
# The Python peer contender
# --------------------------------------------------------------------------

def peer_main(a):
    import logging

    from kubernetes import config as kconfig
    from kubernetes.leaderelection import electionconfig, leaderelection
    from kubernetes.leaderelection.resourcelock.configmaplock import ConfigMapLock

    # The client logs every attempt at INFO (logging.basicConfig in its modules).
    logging.getLogger().setLevel(logging.WARNING)
    out_lock = threading.Lock()

    def out(msg):
        with out_lock:
            sys.stdout.write("%d %s\n" % (int(time.time() * 1000), msg))
            sys.stdout.flush()

    def on_term(signum, frame):
        # The python client has nothing to release the lock with: exit as it
        # would, and let the lease expire.
        out("stopped")
        os._exit(0)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    kconfig.load_kube_config(config_file=a.kubeconfig)
    lock = ConfigMapLock(a.lock, a.namespace, a.identity)

    # Report the holder this contender sees, on each of its own reads of the lock.
    orig_get = lock.get
    seen = {"holder": object()}

    def get(name, namespace):
        ok, rec = orig_get(name, namespace)
        holder = rec.holder_identity if ok and rec is not None else None
        if holder != seen["holder"]:
            seen["holder"] = holder
            out("leader %s" % (holder or "-"))
        return ok, rec

    lock.get = get

    # electionconfig.Config refuses retry_period < 1 (and renew/lease < 1), so
    # it is built with valid placeholders and the real values are set on the
    # object afterwards; the election loop itself works in float seconds.
    cfg = electionconfig.Config(lock, lease_duration=15, renew_deadline=10, retry_period=2,
                                onstarted_leading=lambda: out("granted %s" % a.identity),
                                onstopped_leading=lambda: out("revoked"))
    cfg.lease_duration = a.lease
    cfg.renew_deadline = a.renew
    cfg.retry_period = a.retry
    while True:
        # run() returns after leadership was lost; join again, as a contender would.
        leaderelection.LeaderElection(cfg).run()


# --------------------------------------------------------------------------
# Processes and events
# --------------------------------------------------------------------------

class Event:
    __slots__ = ("src", "recv", "ts", "words", "line")

    def __init__(self, src, recv, ts, words, line):
        self.src, self.recv, self.ts, self.words, self.line = src, recv, ts, words, line

    @property
    def kind(self):
        return self.words[0] if self.words else ""


class Events:
    """Every line of every contender and every watch event of the observer,
    in arrival order; waits are bounded."""

    def __init__(self, timeout):
        self.q = queue.Queue()
        self.log = []
        self.timeout = timeout

    def put(self, ev):
        self.q.put(ev)

    def mark(self):
        self._drain()
        return len(self.log)

    def _drain(self):
        while True:
            try:
                self.log.append(self.q.get_nowait())
            except queue.Empty:
                return

    def wait(self, pred, what, since=0, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        i = since
        while True:
            while i < len(self.log):
                if pred(self.log[i]):
                    return self.log[i]
                i += 1
            left = deadline - time.monotonic()
            if left <= 0:
                raise BenchError("timed out after %.0f s waiting for %s" % (timeout or self.timeout, what))
            try:
                self.log.append(self.q.get(timeout=left))
            except queue.Empty:
                pass

    def since(self, i):
        self._drain()
        return self.log[i:]


class BenchError(Exception):
    pass


class Proc:
    """A child process; stdout lines ("<ms> word ...") become events."""

    def __init__(self, reg, name, argv, events, logdir, env=None):
        self.name = name
        self.stderr_path = os.path.join(logdir, name + ".err")
        self.stdout_path = os.path.join(logdir, name + ".out")
        err = open(self.stderr_path, "wb")
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL,
                                  start_new_session=True, env=env)
        err.close()
        reg.append(self)
        self.events = events
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    @property
    def pid(self):
        return self.p.pid

    def _read(self):
        with open(self.stdout_path, "w") as copy:
            for raw in self.p.stdout:
                recv = now_ms()
                line = raw.decode("utf-8", "replace").rstrip("\n")
                copy.write(line + "\n")
                copy.flush()
                words = line.split()
                ts = None
                if words and words[0].isdigit():
                    ts = float(words[0])
                    words = words[1:]
                self.events.put(Event(self.name, recv, ts, words, line))
        self.events.put(Event(self.name, now_ms(), None, ["<eof>"], "<eof>"))

    def signal(self, sig):
        if self.p.poll() is None:
            try:
                os.kill(self.p.pid, sig)
            except ProcessLookupError:
                pass

    def stop(self, grace=5.0):
        if self.p.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.p.wait(grace)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                self.p.wait()
        self.t.join(5)
        if self.p.stdout:
            self.p.stdout.close()

    def kill(self):
        self.signal(signal.SIGKILL)
        self.p.wait()
        self.t.join(5)
        if self.p.stdout:
            self.p.stdout.close()


class Observer:
    """A watch on one lock object, a ConfigMap or a Lease (kind "configmap" or
    "lease"): every event becomes an Event of source "server" with words
    [type, resourceVersion, holder] and recv = the time it arrived here (the
    server writes watch events synchronously with the update, so this is the
    server's commit time plus < 1 ms on loopback). The holder is "<empty>" for
    a released lock (empty holder, or a Lease without spec.holderIdentity) and,
    for a ConfigMap, "-" when it has no leader annotation at all."""

    def __init__(self, host, port, namespace, name, events, kind="configmap", token=None):
        self.events = events
        self.kind = kind
        self.sock = socket.create_connection((host, port), timeout=30)
        path = (LOCK_KINDS[kind][0] + "?watch=true&fieldSelector=%s") % (
            namespace, urllib.parse.quote("metadata.name=" + name))
        auth = "Authorization: Bearer %s\r\n" % token if token else ""
        self.sock.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nAccept: application/json\r\n%s\r\n"
                           % (path, host, port, auth)).encode())
        self.f = self.sock.makefile("rb")
        status = self.f.readline().decode()
        if " 200 " not in status:
            raise BenchError("observer watch failed: %r" % status)
        while self.f.readline() not in (b"\r\n", b"\n", b""):
            pass
        self.sock.settimeout(None)
        self.closed = False
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        buf = b""
        try:
            while True:
                size_line = self.f.readline()
                if not size_line:
                    break
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    break
                data = self.f.read(size)
                self.f.readline()
                recv = now_ms()
                buf += data
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    if line.strip():
                        self._event(recv, line)
        except (OSError, ValueError):
            pass

    def _event(self, recv, line):
        ev = json.loads(line)
        obj = ev.get("object") or {}
        meta = obj.get("metadata") or {}
        if self.kind == "lease":
            holder = (obj.get("spec") or {}).get("holderIdentity") or ""
        else:
            ann = (meta.get("annotations") or {}).get(ANNOTATION)
            holder = "-"
            if ann:
                try:
                    holder = json.loads(ann).get("holderIdentity") or ""
                except ValueError:
                    holder = "?"
        words = [ev.get("type", "?"), str(meta.get("resourceVersion", "?")), holder or "<empty>"]
        self.events.put(Event("server", recv, recv, words, " ".join(words)))

    def close(self):
        if not self.closed:
            self.closed = True
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.sock.close()
            self.t.join(5)


class KubeLite:
    token = None  # (kube-lite takes any client)

    def __init__(self, reg, binary, logdir, namespace):
        self.kubeconfig = os.path.join(logdir, "kubeconfig")
        err = open(os.path.join(logdir, "kube-lite.err"), "wb")
        self.p = subprocess.Popen([binary, "--port", "0", "--write-kubeconfig", self.kubeconfig,
                                   "--namespace", namespace],
                                  stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL,
                                  start_new_session=True)
        err.close()
        reg.append(self)
        # Bounded wait for the ready line, on a thread (readline itself is unbounded).
        box = {}
        t = threading.Thread(target=lambda: box.setdefault("line", self.p.stdout.readline()), daemon=True)
        t.start()
        t.join(30)
        line = box.get("line", b"").decode()
        if not line.startswith("kube-lite listening on http://"):
            raise BenchError("kube-lite did not start (%r); see %s/kube-lite.err" % (line, logdir))
        self.url = line.split()[-1]
        u = urllib.parse.urlparse(self.url)
        self.host, self.port = u.hostname, u.port
        # Keep draining stdout (a ready line again after a refuse window).
        threading.Thread(target=lambda: [None for _ in self.p.stdout], daemon=True).start()

    def control(self, method, path):
        req = urllib.request.Request(self.url + "/kube-lite/v1/" + path, method=method,
                                     data=b"{}" if method == "POST" else None,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    def stop(self, grace=5.0):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(grace)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()

    kill = stop


class External:
    """An API server already running, on plain HTTP on loopback, with kube-lite's stats at a
    control URL: the real kube-apiserver behind kube-lite as a proxy (--upstream), which forwards
    each client's own credentials and counts requests as kube-lite does. The contenders use
    `kubeconfig` (a server URL and a bearer token); the observer uses the same token."""
    token = None

    def __init__(self, kubeconfig, control_url):
        self.kubeconfig = kubeconfig
        self.control_url = control_url.rstrip("/")
        server = None
        with open(kubeconfig) as f:
            for line in f:
                key, _, value = line.strip().partition(":")
                if key == "server":
                    server = value.strip()
                elif key == "token":
                    self.token = value.strip().strip('"')
        if not server or not server.startswith("http://"):
            raise BenchError("%s: the server must be a plain http:// URL on loopback (the "
                             "proxy's), not %r" % (kubeconfig, server))
        self.url = server
        u = urllib.parse.urlparse(server)
        self.host, self.port = u.hostname, u.port

    def control(self, method, path):
        req = urllib.request.Request(self.control_url + "/kube-lite/v1/" + path, method=method,
                                     data=b"{}" if method == "POST" else None,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            body = r.read()
        return json.loads(body) if body.strip() else {}

    def stop(self, grace=5.0):
        pass

    kill = stop


# --------------------------------------------------------------------------
# The implementations
# --------------------------------------------------------------------------

class Impl:
    # The kind of lock object it elects on (a key of LOCK_KINDS): what the
    # observer watches and what its requests are counted under.
    lock_kind = "configmap"

    def __init__(self, key, label):
        self.key, self.label = key, label


class K8shaImpl(Impl):
    def __init__(self, binary, conf, timing):
        super().__init__("libk8sha", "libk8sha")
        self.binary, self.conf, self.timing = binary, conf, timing

    def lock_name(self, cid):
        return cid + "-cluster-config-map"

    def argv(self, kubeconfig, cid, identity):
        lease, renew, retry = self.timing
        return [self.binary, "elect", "--identity", identity, "--address", identity + ":8081",
                "--timestamps", "-c", self.conf,
                "-D", "kubernetes.config.file=" + kubeconfig,
                "-D", "kubernetes.cluster-id=" + cid,
                "-D", "high-availability.kubernetes.leader-election.lease-duration=%gms" % (lease * 1000),
                "-D", "high-availability.kubernetes.leader-election.renew-deadline=%gms" % (renew * 1000),
                "-D", "high-availability.kubernetes.leader-election.retry-period=%gms" % (retry * 1000)]


class PythonImpl(Impl):
    def __init__(self, python, namespace, timing):
        super().__init__("python", "python client")
        self.python, self.namespace, self.timing = python, namespace, timing

    def lock_name(self, cid):
        return cid + "-py-lock"

    def argv(self, kubeconfig, cid, identity):
        lease, renew, retry = self.timing
        return [self.python, os.path.abspath(__file__), "--peer", "--kubeconfig", kubeconfig,
                "--namespace", self.namespace, "--lock", self.lock_name(cid), "--identity", identity,
                "--lease", str(lease), "--renew", str(renew), "--retry", str(retry)]


class ClientGoImpl(Impl):
    """client-go's leaderelection on a Lease (tests/bench/peers/clientgo)."""
    lock_kind = "lease"

    def __init__(self, binary, namespace, timing):
        super().__init__("clientgo", "client-go (LeaseLock)")
        self.binary, self.namespace, self.timing = binary, namespace, timing

    def lock_name(self, cid):
        return cid + "-lease"

    def argv(self, kubeconfig, cid, identity):
        lease, renew, retry = self.timing
        return [self.binary, "--kubeconfig", kubeconfig, "--namespace", self.namespace,
                "--lock", self.lock_name(cid), "--identity", identity,
                "--lease", str(lease), "--renew", str(renew), "--retry", str(retry)]

    def build(self, logdir):
        """Build the contender with its build.sh into logdir (quiet unless it fails)."""
        self.binary = os.path.join(logdir, "bin", "clientgo")
        print("building the client-go contender (%s/build.sh; a cold build takes minutes)"
              % os.path.relpath(CLIENTGO_SRC, REPO), flush=True)
        r = subprocess.run(["bash", os.path.join(CLIENTGO_SRC, "build.sh"), self.binary],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            with open(os.path.join(logdir, "clientgo-build.out"), "wb") as f:
                f.write(r.stdout)
            raise BenchError("building the client-go contender failed (exit %d); see %s/clientgo-build.out"
                             % (r.returncode, logdir))


class FlinkImpl(Impl):
    """Flink 1.20's own leader election (tests/bench/peers/flink, FlinkElectionPeer): a
    JobManager's three components on one DefaultLeaderElectionService, whose
    KubernetesLeaderElectionDriver holds <cluster-id>-cluster-config-map."""

    def __init__(self, run_sh, target, namespace, timing):
        super().__init__("flink", "flink 1.20")
        self.run_sh, self.target, self.namespace, self.timing = run_sh, target, namespace, timing

    def lock_name(self, cid):
        return cid + "-cluster-config-map"

    def _run(self):
        return ["bash", self.run_sh] + (["--target", self.target] if self.target else [])

    def argv(self, kubeconfig, cid, identity):
        lease, renew, retry = self.timing
        return self._run() + ["election", "--kubeconfig", kubeconfig, "--namespace", self.namespace,
                              "--cluster-id", cid, "--identity", identity, "--lease", str(lease),
                              "--renew", str(renew), "--retry", str(retry)]

    def build(self, logdir):
        print("building the Flink 1.20 contender (%s build)" % os.path.relpath(self.run_sh, REPO),
              flush=True)
        r = subprocess.run(self._run() + ["build"], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            with open(os.path.join(logdir, "flink-build.out"), "wb") as f:
                f.write(r.stdout)
            raise BenchError("building the Flink contender failed (exit %d); see %s/flink-build.out"
                             % (r.returncode, logdir))


# --------------------------------------------------------------------------
# Measurements
# --------------------------------------------------------------------------

class Bench:
    def __init__(self, a):
        self.a = a
        self.reg = []
        self.logdir = tempfile.mkdtemp(prefix="election-bench-")
        self.events = Events(a.timeout)
        self.rng = random.Random(a.seed)
        self.anomalies = []
        self.kl = None
        self.seq = 0

    # -- helpers --

    def note(self, impl, msg):
        self.anomalies.append("%s: %s" % (impl.label, msg))
        print("  ! %s" % msg, flush=True)

    def contenders(self, impl, cid, n):
        procs = []
        for j in range(n):
            ident = "%s-c%d" % (cid, j)
            procs.append(Proc(self.reg, ident, impl.argv(self.kl.kubeconfig, cid, ident),
                              self.events, self.logdir))
        return procs

    def renews(self, holder, count, since, what):
        """Wait until the observer has seen `count` writes naming `holder` after `since`."""
        seen = [0]

        def pred(e):
            if e.src == "server" and e.kind == "MODIFIED" and e.words[2] == holder:
                seen[0] += 1
            return seen[0] >= count
        return self.events.wait(pred, what, since)

    def cleanup_run(self, procs, obs):
        for p in procs:
            p.kill()
            if p in self.reg:
                self.reg.remove(p)
        if obs:
            obs.close()

    # -- one failover or handover run --

    def run_once(self, impl, mode, i):
        self.seq += 1
        cid = "bench%d-%s-%s%d" % (self.seq, impl.key[:2], mode[:2], i)
        lock = impl.lock_name(cid)
        obs = None
        procs = []
        try:
            obs = Observer(self.kl.host, self.kl.port, self.a.namespace, lock, self.events,
                           impl.lock_kind, self.kl.token)
            start = self.events.mark()
            procs += self.contenders(impl, cid, 3)
            by_name = {p.name: p for p in procs}
            g = self.events.wait(lambda e: e.src in by_name and e.kind in ("granted", "<eof>"),
                                 "a first grant", start)
            if g.kind != "granted":
                raise BenchError("%s exited before any grant; see %s" % (g.src, self.logdir))
            leader = by_name[g.src]
            others = [p for p in procs if p is not leader]
            # Every follower has seen the leader in the lock.
            for o in others:
                self.events.wait(lambda e, o=o: e.src == o.name and e.kind == "leader"
                                 and len(e.words) > 1 and e.words[1] == leader.name,
                                 "%s to see the leader" % o.name, start)
            # Steady state: two more renews of the leader seen on the server.
            self.renews(leader.name, 2, self.events.mark(), "the leader's renews")
            time.sleep(self.rng.uniform(0, self.a.retry))  # randomise the kill's phase
            mark = self.events.mark()
            kill_t = now_ms()
            leader.signal(signal.SIGKILL if mode == "failover" else signal.SIGTERM)
            ng = self.events.wait(lambda e: e.src in by_name and e.src != leader.name
                                  and e.kind in ("granted", "<eof>"), "a new grant", mark)
            if ng.kind != "granted":
                raise BenchError("%s exited instead of taking over" % ng.src)
            new = by_name[ng.src]
            # Settle: two renews by the new leader, then look for double grants.
            self.renews(new.name, 2, self.events.mark(), "the new leader's renews")
            if mode == "handover":
                try:
                    leader.p.wait(self.a.timeout)
                except subprocess.TimeoutExpired:
                    self.note(impl, "run %s: the old leader did not exit within %ds after SIGTERM"
                              % (cid, self.a.timeout))
                else:
                    if leader.p.returncode != 0:
                        self.note(impl, "run %s: the old leader exited %d after SIGTERM"
                                  % (cid, leader.p.returncode))
            evs = self.events.since(start)
            srv = [e for e in evs if e.src == "server"]
            # The old leader's last successful write on the server: the last event naming it
            # before the first event naming anybody else (or nobody) after the kill.
            last_renew = None
            release = None
            for e in srv:
                if e.words[2] == leader.name:
                    last_renew = e.recv
                elif e.recv >= kill_t - 1:
                    if e.words[2] == "<empty>" and release is None:
                        release = e.recv
                    if e.words[2] != "<empty>":
                        break
            grants = [e for e in evs if e.src in by_name and e.kind == "granted"]
            before = [e for e in grants if e.recv < kill_t]
            after = [e for e in grants if e.recv >= kill_t]
            if len(before) != 1 or len(after) != 1:
                self.note(impl, "run %s: %d grant(s) before the %s and %d after (want 1 and 1): %s"
                          % (cid, len(before), "kill" if mode == "failover" else "SIGTERM", len(after),
                             "; ".join("%s %s" % (e.src, e.line) for e in grants)))
            for e in evs:
                if e.src in by_name and e.src != leader.name and e.kind == "revoked":
                    self.note(impl, "run %s: %s %s" % (cid, e.src, e.line))
            if mode == "failover" and leader.p.poll() is None:
                leader.p.wait(self.a.timeout)
            r = {"from_signal": ng.ts - kill_t,
                 "from_renew": ng.ts - last_renew if last_renew is not None else None,
                 "kill_after_renew": kill_t - last_renew if last_renew is not None else None,
                 "release_after_signal": release - kill_t if release is not None else None,
                 "from_release": ng.ts - release if release is not None else None}
            return r
        finally:
            self.cleanup_run(procs, obs)

    def series(self, impl, mode):
        print("%s %s: %d runs" % (impl.label, mode, self.a.runs), flush=True)
        res = []
        for i in range(self.a.runs):
            r = self.run_once(impl, mode, i)
            res.append(r)
            print("  run %2d: granted - %s %7.1f ms%s%s" % (
                i, "kill" if mode == "failover" else "SIGTERM", r["from_signal"],
                "   granted - last renew %7.1f ms (kill %5.1f ms after it)" % (
                    r["from_renew"], r["kill_after_renew"]) if r["from_renew"] is not None and mode == "failover" else "",
                "   release seen %5.1f ms after SIGTERM, granted %5.1f ms after it" % (
                    r["release_after_signal"], r["from_release"]) if r["release_after_signal"] is not None and mode == "handover" else ""),
                flush=True)
        return res

    # -- idle request rates --

    def window(self):
        self.kl.control("POST", "stats/reset")
        t0 = time.monotonic()
        time.sleep(self.a.idle_seconds)  # the deliberate measurement window
        st = self.kl.control("GET", "stats")
        dt = time.monotonic() - t0
        return st, dt

    @staticmethod
    def usage(procs):
        """(CPU seconds, RSS KiB) of each process, from /proc (a contender's own process: run.sh
        and the other launchers exec theirs)."""
        out = []
        tick = os.sysconf("SC_CLK_TCK")
        for p in procs:
            try:
                with open("/proc/%d/stat" % p.pid) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                cpu = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
                rss = 0
                with open("/proc/%d/status" % p.pid) as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            rss = int(line.split()[1])
                out.append((cpu, rss))
            except (OSError, ValueError, IndexError):
                raise BenchError("%s: its /proc entry could not be read (did it exit?)" % p.name)
        return out

    @staticmethod
    def breakdown(st):
        return ", ".join("%s %s %d: %d" % (r["verb"], r["resource"] or "-", r["code"], r["count"])
                         for r in st.get("requests", [])) or "none"

    @staticmethod
    def by_verb(st):
        c = {}
        for r in st.get("requests", []):
            k = "%s %s" % (r["verb"], r["resource"] or "-")
            c[k] = c.get(k, 0) + r["count"]
        return c

    def idle(self, impl):
        print("%s idle request rates: %g s windows" % (impl.label, self.a.idle_seconds), flush=True)
        self.seq += 1
        cid = "bench%d-%s-idle" % (self.seq, impl.key[:2])
        start = self.events.mark()
        procs = []
        try:
            procs += self.contenders(impl, cid, 1)
            leader = procs[0]
            g = self.events.wait(lambda e: e.src == leader.name and e.kind in ("granted", "<eof>"),
                                 "the lone contender's grant", start)
            if g.kind != "granted":
                raise BenchError("%s exited; see %s" % (leader.name, self.logdir))
            if impl.key in ("libk8sha", "flink"):
                # (the components' addresses, written after the grant, stay out of the window)
                self.events.wait(lambda e: e.src == leader.name and e.kind == "published",
                                 "the publish", start)
            u0 = self.usage([leader])
            st1, dt1 = self.window()
            u1 = self.usage([leader])
            lead_rate = st1["total"] / dt1
            lead_cpu = (u1[0][0] - u0[0][0]) / dt1 * 100
            lead_rss = u1[0][1] / 1024.0
            print("  leader alone: %d requests in %.2f s = %.2f req/s (%s)"
                  % (st1["total"], dt1, lead_rate, self.breakdown(st1)), flush=True)
            mark = self.events.mark()
            fol = []
            for j in (1, 2):
                ident = "%s-c%d" % (cid, j)
                p = Proc(self.reg, ident, impl.argv(self.kl.kubeconfig, cid, ident), self.events, self.logdir)
                procs.append(p)
                fol.append(p)
            for p in fol:
                self.events.wait(lambda e, p=p: e.src == p.name and e.kind == "leader" and len(e.words) > 1
                                 and e.words[1] == leader.name, "%s to see the leader" % p.name, mark)
            v0 = self.usage(fol)
            st3, dt3 = self.window()
            v1 = self.usage(fol)
            fol_cpu = sum(b[0] - a[0] for a, b in zip(v0, v1)) / len(fol) / dt3 * 100
            fol_rss = sum(b[1] for b in v1) / len(fol) / 1024.0
            total_rate = st3["total"] / dt3
            fol_rate = (total_rate - lead_rate) / 2
            print("  leader + 2 followers: %d requests in %.2f s = %.2f req/s (%s)"
                  % (st3["total"], dt3, total_rate, self.breakdown(st3)), flush=True)
            print("  => idle leader %.2f req/s, idle follower (difference / 2) %.2f req/s"
                  % (lead_rate, fol_rate), flush=True)
            print("     CPU and RSS: leader %.2f%% of a core, %.1f MiB; follower %.2f%%, %.1f MiB"
                  % (lead_cpu, lead_rss, fol_cpu, fol_rss), flush=True)
            c1, c3 = self.by_verb(st1), self.by_verb(st3)
            print("     by verb, req/s: leader %s; follower %s" % (
                ", ".join("%s %.2f" % (k, c1[k] / dt1) for k in sorted(c1)) or "none",
                ", ".join("%s %+.2f" % (k, (c3.get(k, 0) / dt3 - c1.get(k, 0) / dt1) / 2)
                          for k in sorted(set(c1) | set(c3))) or "none"), flush=True)
            # The requests are attributed by resource: the leader's must be on its kind of lock.
            resource = LOCK_KINDS[impl.lock_kind][1]
            if not any(k.endswith(" " + resource) for k in c1):
                self.note(impl, "idle: no request on %s counted for the leader alone (%s)"
                          % (resource, self.breakdown(st1)))
            for e in self.events.since(start):
                if e.src in [p.name for p in procs] and e.kind in ("granted", "revoked") and e.src != leader.name:
                    self.note(impl, "idle: %s %s" % (e.src, e.line))
            return {"leader": lead_rate, "follower": fol_rate, "total3": total_rate,
                    "leader_cpu_pct": lead_cpu, "leader_rss_mib": lead_rss,
                    "follower_cpu_pct": fol_cpu, "follower_rss_mib": fol_rss,
                    "st1": st1, "st3": st3}
        finally:
            self.cleanup_run(procs, None)

    # -- everything --

    def run(self, impls):
        if self.a.server_kubeconfig:
            self.kl = External(self.a.server_kubeconfig, self.a.server_control)
            print("the API server at %s (counted at %s); logs in %s"
                  % (self.kl.url, self.kl.control_url, self.logdir), flush=True)
        else:
            self.kl = KubeLite(self.reg, self.a.kube_lite, self.logdir, self.a.namespace)
            print("kube-lite at %s; logs in %s" % (self.kl.url, self.logdir), flush=True)
        out = {}
        for impl in impls:
            out[impl.key] = {
                "failover": self.series(impl, "failover"),
                "handover": self.series(impl, "handover"),
                "idle": self.idle(impl),
            }
        return out

    def cleanup(self):
        for p in reversed(self.reg):
            try:
                p.kill() if isinstance(p, Proc) else p.stop()
            except Exception:  # noqa: BLE001 - best effort, keep cleaning
                pass
        self.reg.clear()


def pct(xs, p):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    if p == 50:
        return statistics.median(xs)
    return xs[max(0, math.ceil(p / 100.0 * len(xs)) - 1)]  # nearest rank


def fmt_pair(xs):
    a, b = pct(xs, 50), pct(xs, 99)
    if a is None:
        return "n/a"
    return "%.0f / %.0f" % (a, b)


def report(a, impls, res):
    lease, renew, retry = a.lease, a.renew, a.retry
    rows = []

    def col(impl, fn):
        r = res.get(impl.key)
        return fn(r) if r else "-"

    def add(label, fn):
        rows.append([label] + [col(i, fn) for i in impls])

    add("crash failover, granted - kill, p50 / p99 (ms)",
        lambda r: fmt_pair([x["from_signal"] for x in r["failover"]]))
    add("crash failover, granted - last renew, p50 / p99 (ms)",
        lambda r: fmt_pair([x["from_renew"] for x in r["failover"]]))
    add("  (max granted - last renew; target %d ms)" % (lease * 1000 + 250),
        lambda r: "%.0f" % max(x["from_renew"] for x in r["failover"]))
    add("clean handover, granted - SIGTERM, p50 / p99 (ms)",
        lambda r: fmt_pair([x["from_signal"] for x in r["handover"]]))
    add("  (release on server - SIGTERM, p50 / p99 ms)",
        lambda r: fmt_pair([x["release_after_signal"] for x in r["handover"]]) if any(
            x["release_after_signal"] is not None for x in r["handover"]) else "no release")
    add("idle leader, requests/s", lambda r: "%.2f" % r["idle"]["leader"])
    add("idle follower, requests/s", lambda r: "%.2f" % r["idle"]["follower"])
    add("idle leader: CPU (% of a core) / RSS (MiB)",
        lambda r: "%.2f / %.1f" % (r["idle"]["leader_cpu_pct"], r["idle"]["leader_rss_mib"]))
    add("idle follower: CPU (% of a core) / RSS (MiB)",
        lambda r: "%.2f / %.1f" % (r["idle"]["follower_cpu_pct"], r["idle"]["follower_rss_mib"]))
    w0 = max(len(r[0]) for r in rows)
    ws = [max(len(impls[k].label), max(len(r[k + 1]) for r in rows)) for k in range(len(impls))]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, [w0] + ws)) + " |"
    print()
    print("Results: %d runs per failover/handover series, lease %gs / renew deadline %gs / retry %gs, "
          "idle windows %g s, 3 contenders per run" % (a.runs, lease, renew, retry, a.idle_seconds))
    print(line(["metric"] + [i.label for i in impls]))
    print("|" + "|".join("-" * (w + 2) for w in [w0] + ws) + "|")
    for r in rows:
        print(line(r))
    print("""
What each row measures (all times on this machine's wall clock, ms):
  granted - kill       kill -9 of the leader until another contender printed
                       "granted" (its own timestamp). The kill comes a random
                       0..retry after a renew was seen on the server, so this
                       is about lease-duration minus the lease already elapsed.
  granted - last renew from the old leader's last successful write of the lock
                       as seen by a watch on the server (the last watch event
                       naming it, received < 1 ms after the server applied it)
                       to the new "granted". The issue's target is
                       <= lease-duration + 250 ms.
  granted - SIGTERM    SIGTERM to the leader until another contender printed
                       "granted". libk8sha releases the lock (empty holder) on
                       SIGTERM, and a watching follower takes it at once;
                       client-go releases the Lease too (ReleaseOnCancel), and
                       a follower takes it at its next poll (retry period plus
                       jitter); the python client (22.6) has no release, so
                       its handover is a lease expiry like a crash.
  release - SIGTERM    SIGTERM until the watch saw the releasing write.
  idle req/s           requests counted by kube-lite (/kube-lite/v1/stats) in
                       a window: leader alone; then leader + 2 followers, the
                       follower figure being (second - first) / 2. A watch
                       counts once, when it starts. Requests are by verb and
                       resource: configmaps for libk8sha and python, leases
                       for client-go.
  p50 is the median; p99 is the nearest-rank 99th percentile, i.e. the
  maximum when there are fewer than 100 runs.""")


def impl_list(text):
    """--impl: a comma-separated list of IMPL_KEYS, or "both" or "all"; canonical order."""
    keys = set()
    for word in text.split(","):
        word = word.strip()
        if word in IMPL_SETS:
            keys.update(IMPL_SETS[word])
        elif word in IMPL_KEYS:
            keys.add(word)
        else:
            raise argparse.ArgumentTypeError("%r is not one of %s, both, all" % (word, ", ".join(IMPL_KEYS)))
    return [k for k in IMPL_KEYS if k in keys]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--peer", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--kubeconfig", help=argparse.SUPPRESS)
    ap.add_argument("--lock", help=argparse.SUPPRESS)
    ap.add_argument("--identity", help=argparse.SUPPRESS)
    ap.add_argument("--runs", type=int, default=20, help="runs per failover and per handover series (20)")
    ap.add_argument("--build", help="a meson build directory to take both binaries from")
    ap.add_argument("--kube-lite", help="k8sha-kube-lite binary (default /tmp/b/...)")
    ap.add_argument("--k8sha", help="k8sha binary (default /tmp/b/...)")
    ap.add_argument("--clientgo", help="client-go contender binary (default: build it with "
                    "tests/bench/peers/clientgo/build.sh into the log folder)")
    ap.add_argument("--flink-target", help="build folder of the Flink contender (default: "
                    "tests/bench/peers/flink/run.sh's own, outside the tree)")
    ap.add_argument("--json", help="also write the measurements to this file (JSON)")
    ap.add_argument("--python", default="/usr/bin/python3",
                    help="interpreter for the python peers (needs python3-kubernetes)")
    ap.add_argument("--config", default=os.path.join(REPO, "examples", "config", "flink-conf.yaml"),
                    help="Flink configuration for k8sha elect")
    ap.add_argument("--namespace", default="flink")
    ap.add_argument("--server-kubeconfig", help="measure on an API server already running "
                    "instead of a kube-lite of its own: a kubeconfig with a plain http:// server "
                    "on loopback and a bearer token (the real kube-apiserver behind "
                    "kube-lite as a proxy, --upstream; tests/bench/peers/run --real-kube does this)")
    ap.add_argument("--server-control", help="with --server-kubeconfig: the URL of its "
                    "kube-lite-style control endpoint, where requests are counted")
    ap.add_argument("--lease", type=float, default=2.0, help="lease duration, s (2)")
    ap.add_argument("--renew", type=float, default=1.5, help="renew deadline, s (1.5)")
    ap.add_argument("--retry", type=float, default=0.5, help="retry period, s (0.5)")
    ap.add_argument("--idle-seconds", type=float, default=20.0, help="idle measurement window, s (20)")
    ap.add_argument("--timeout", type=float, default=30.0, help="bound on each awaited event, s (30)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the kill-phase delays")
    ap.add_argument("--impl", default="both", type=impl_list,
                    help="comma-separated implementations to run, in the order libk8sha, python, "
                         "clientgo, flink; both = libk8sha,python (default); all = the four")
    ap.add_argument("--keep-logs", action="store_true", help="keep the per-process logs")
    a = ap.parse_args()
    if a.peer:
        return peer_main(a)

    build = a.build or "/tmp/b"
    a.kube_lite = a.kube_lite or os.path.join(build, "tools", "kube-lite", "k8sha-kube-lite")
    a.k8sha = a.k8sha or os.path.join(build, "tools", "k8sha", "k8sha")
    timing = (a.lease, a.renew, a.retry)
    impls = []
    if "libk8sha" in a.impl:
        impls.append(K8shaImpl(a.k8sha, a.config, timing))
    if "python" in a.impl:
        impls.append(PythonImpl(a.python, a.namespace, timing))
    if "clientgo" in a.impl:
        impls.append(ClientGoImpl(a.clientgo, a.namespace, timing))
    if "flink" in a.impl:
        impls.append(FlinkImpl(FLINK_RUN, a.flink_target, a.namespace, timing))
    if bool(a.server_kubeconfig) != bool(a.server_control):
        sys.exit("--server-kubeconfig and --server-control go together")
    for path in ([] if a.server_kubeconfig else [a.kube_lite]) + (
            [a.k8sha] if "libk8sha" in a.impl else []):
        if not os.access(path, os.X_OK):
            sys.exit("not executable: %s (build it: ninja -C BUILD, or pass --build/--kube-lite/--k8sha)" % path)
    if a.clientgo and not os.access(a.clientgo, os.X_OK):
        sys.exit("not executable: %s (build it: tests/bench/peers/clientgo/build.sh OUT)" % a.clientgo)
    if "clientgo" in a.impl and not a.clientgo and shutil.which("go") is None:
        sys.exit("no Go toolchain (go) on PATH to build the client-go contender (or pass --clientgo)")
    if "python" in a.impl:
        chk = subprocess.run([a.python, "-c", "import kubernetes.leaderelection.leaderelection"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if chk.returncode != 0:
            sys.exit("%s cannot import kubernetes.leaderelection (install python3-kubernetes, or "
                     "pass --python, or --impl libk8sha)" % a.python)

    def on_signal(signum, frame):
        raise KeyboardInterrupt("signal %d" % signum)

    # SIGINT too: a shell without job control starts background jobs with SIGINT
    # ignored, and Python then installs no KeyboardInterrupt handler of its own.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    b = Bench(a)
    ok = False
    try:
        for impl in impls:
            if isinstance(impl, ClientGoImpl) and not impl.binary:
                impl.build(b.logdir)
            if isinstance(impl, FlinkImpl):
                impl.build(b.logdir)
        res = b.run(impls)
        report(a, impls, res)
        if a.json:
            with open(a.json, "w") as f:
                json.dump({"timing": {"lease": a.lease, "renew": a.renew, "retry": a.retry},
                           "runs": a.runs, "idle_seconds": a.idle_seconds,
                           "labels": {i.key: i.label for i in impls}, "results": res,
                           "anomalies": b.anomalies}, f, indent=1)
        if b.anomalies:
            print("\nAnomalies (%d):" % len(b.anomalies))
            for x in b.anomalies:
                print("  " + x)
        else:
            print("\nNo anomalies: one grant before each kill/SIGTERM and exactly one after, "
                  "no follower revoked.")
        ok = True
    except BenchError as e:
        print("\nelection_bench: %s (logs kept in %s)" % (e, b.logdir), file=sys.stderr)
    except KeyboardInterrupt:
        print("\nelection_bench: interrupted (logs kept in %s)" % b.logdir, file=sys.stderr)
    finally:
        b.cleanup()
    if ok and not a.keep_logs and not b.anomalies:
        shutil.rmtree(b.logdir, ignore_errors=True)
    elif ok:
        print("logs kept in %s" % b.logdir)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
