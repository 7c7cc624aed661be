#!/usr/bin/env python3
"""Chaos campaign: contenders that checkpoint, as separate processes, against kube-lite, while
faults are injected at seeded random moments; then a checker proves safety over the whole history.

  chaos.py --kube-lite BIN --worker BIN --faultfs SO [--seconds 60] [--seed N] [--workers 3]
           [--jobs 2] [--keep]

Faults: kill -9 (the worker restarts with the same identity, as a restarted pod), SIGSTOP past
the lease, a clean stop (SIGTERM, which releases), API server restarts (kill -9 and start again on
its data, or a refusal window), forced 410s (compaction, watches ended), 429 storms with bogus
Retry-After headers, 5xx, added latency (writes that land after their sender stopped waiting),
dropped connections, storage faults (EIO on fsync, ENOSPC on write, in the worker through
faultfs), and partitions: one worker's requests read and never answered while the others still
reach the server, healed at a random moment.

History: every ConfigMap version the server stored, from its journal (saved before each restart,
since a restart rewrites it); the resourceVersions must form one unbroken sequence, so nothing is
missed. Checked over that history and the workers' own reports:
  - at most one holder per term, and a worker that said "leading T" is the holder of a recorded
    version with term T; no two workers led the same term;
  - every published address belongs to the holder (identity, term and session) of that version;
  - terms (lock and job claims) and checkpoint counters never go back;
  - no checkpoint write from a term lands after a newer claim on its ConfigMap; no checkpoint id
    is handed to two terms;
  - every retained pointer names a blob that exists with the size and CRC-32C the pointer records
    and holds the bytes its writer wrote; no recovery ever found a broken checkpoint;
  - every commit a writer reported is in the history and is retained or superseded at the end;
  - after the faults stop, every job commits again (liveness).
Prints the seed first, the actions, terms, commits and violations at the end; exits 1 on any
violation. Waits are on output lines and server answers; the pauses between actions are the
schedule of the campaign, drawn from the seed.
"""
import argparse
import base64
import collections
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

ap = argparse.ArgumentParser()
ap.add_argument("--kube-lite", required=True,
                help="the kube-lite binary: the server, or with K8SHA_TEST_KUBECONFIG naming a real "
                "server, each worker's fault proxy in front of it (--upstream)")
ap.add_argument("--worker", required=True)
ap.add_argument("--faultfs", required=True)
ap.add_argument("--seconds", type=float, default=60)
ap.add_argument("--seed", type=int, default=None)
ap.add_argument("--workers", type=int, default=3)
ap.add_argument("--jobs", type=int, default=2)
ap.add_argument("--keep", action="store_true", help="keep the work folder")
ap.add_argument("--verbose", action="store_true")
A = ap.parse_args()
# LD_PRELOAD and the programs are used from other working folders: absolute paths
A.faultfs, A.worker = os.path.abspath(A.faultfs), os.path.abspath(A.worker)

SEED = A.seed if A.seed is not None else int.from_bytes(os.urandom(4), "big")
print("chaos: seed %d (rerun with --seed %d), %d workers, %d jobs, %.0f s"
      % (SEED, SEED, A.workers, A.jobs, A.seconds), flush=True)
rng = random.Random(SEED)

CID = "chaos"
LOCK = CID + "-cluster-config-map"
JOBS = ["%032x" % (0xC0FFEE00 + i) for i in range(A.jobs)]
LEASE_S = 1.0
ADMIN = "kube-lite-admin"
WAIT_S = 60
tmp = tempfile.mkdtemp(prefix="k8sha-chaos-")
STORAGE = os.path.join(tmp, "ha")
FS_CONTROL = os.path.join(tmp, "fsfault")


HARNESS = []  # (monotonic time, what the harness did): kept with the events


def log(msg):
    HARNESS.append((time.monotonic(), msg))
    if A.verbose:
        print("chaos: %7.2f %s" % (time.monotonic() - T0, msg), flush=True)


class Fatal(Exception):
    pass


# ---- CRC-32C and the compact pointer, independent of the library ----
_T = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _T.append(_c)


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _T[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def decode_pointer(value):
    """(marked, uri, size, crc) of a compact pointer, or raises ValueError."""
    marked = value.startswith("deleting:")
    raw = base64.b64decode(value[9:] if marked else value)
    if len(raw) < 22 or raw[:3] != b"K8P" or raw[3] != 1:
        raise ValueError("not a libk8sha pointer")
    size, crc, ulen = struct.unpack(">QIH", raw[4:18])
    if 18 + ulen + 4 != len(raw):
        raise ValueError("pointer length wrong")
    if crc32c(raw[:-4]) != struct.unpack(">I", raw[-4:])[0]:
        raise ValueError("pointer checksum wrong")
    return marked, raw[18:18 + ulen].decode(), size, crc


# ---- the server: kube-lite, or the real API server of tests/realkube through one fault proxy
# per worker (K8SHA_TEST_KUBECONFIG, K8SHA_TEST_SERVER, K8SHA_TEST_CA, K8SHA_TEST_ADMIN_TOKEN) ----
def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http(url, method, body=None, token=ADMIN, ctx=None, timeout=10, retry_refused=5.0):
    """A JSON call. While the target refuses connections (a refusal window, at most 2 s) it is
    tried again for up to retry_refused seconds. None on any failure."""
    data = json.dumps(body).encode() if body is not None else None
    deadline = time.monotonic() + retry_refused
    while True:
        req = urllib.request.Request(url, data=data, method=method,
                                     headers={"Authorization": "Bearer " + token,
                                              "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=ctx) as r:
                return json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            log("%s %s: %s" % (method, url, e))
            return None
        except (urllib.error.URLError, OSError) as e:
            if time.monotonic() < deadline:
                time.sleep(0.05)  # polling a closed port: there is no event to wait on
                continue
            log("%s %s: %s" % (method, url, e))
            return None


class KubeLite:
    """kube-lite with a data folder: its journal holds every version it stored; a restart
    rewrites it, so it is saved first. Workers have their own tokens (users w0, w1, ...), so a
    fault rule can meet one of them only."""
    name = "kube-lite"
    namespace = "chaos"

    def __init__(self):
        self.p = None
        self.generation = 0
        self.journals = []
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.kubeconfig = os.path.join(tmp, "kubeconfig")
        self.tokens = os.path.join(tmp, "tokens")
        self.data = os.path.join(tmp, "server")
        with open(self.tokens, "w") as f:
            f.write("# token,user,rules\n")
            for i in range(A.workers):
                f.write("tok-w%d,w%d,*\n" % (i, i))

    def start(self):
        self.generation += 1
        self.p = subprocess.Popen(
            [A.kube_lite, "--port", str(self.port), "--namespace", self.namespace,
             "--data-dir", self.data, "--token-file", self.tokens, "--admin-token", ADMIN,
             "--write-kubeconfig", self.kubeconfig, "--seed", str(SEED + self.generation),
             "--history", "100000"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.p.stdout.readline()
        if "listening on" not in line:
            raise Fatal("kube-lite did not start: %r" % line)
        threading.Thread(target=self.p.stdout.read, daemon=True).start()

    def _save_journal(self):
        seg = os.path.join(tmp, "journal-%03d.jsonl" % self.generation)
        shutil.copyfile(os.path.join(self.data, "journal.jsonl"), seg)
        self.journals.append(seg)

    def kubeconfig_for(self, w):
        path = os.path.join(tmp, "kubeconfig-" + w.name)
        with open(self.kubeconfig) as f:
            text = f.read()
        if "token: " + ADMIN not in text:
            raise Fatal("kube-lite's kubeconfig has no admin token line")
        with open(path, "w") as f:
            f.write(text.replace("token: " + ADMIN, "token: tok-" + w.name))
        os.chmod(path, 0o600)
        return path

    def control(self, method, what, body=None):
        return http(self.url + "/kube-lite/v1/" + what, method, body)

    def fault(self, rule, only=None):
        """Adds a rule for every worker, or for worker `only`; returns a handle for heal()."""
        if only is not None:
            rule = dict(rule, users=[only.name])
        r = self.control("POST", "faults", rule)
        return (self.generation, r["id"]) if r else None

    def heal(self, handle):
        gen, rid = handle
        if gen == self.generation:  # a restarted server has no rules left
            http(self.url + "/kube-lite/v1/faults/%d" % rid, "DELETE")

    def clear_faults(self):
        self.control("DELETE", "faults")

    def restart(self):
        """kill -9, away for up to a second, then started again on its data."""
        self.p.kill()
        self.p.wait()
        self._save_journal()
        time.sleep(rng.uniform(0, 1.0))  # the schedule: how long the server is away
        self.start()

    def refuse(self, seconds):
        self.control("POST", "refuse", {"seconds": seconds})

    def expire_watches(self):
        self.control("POST", "compact", {})
        self.control("POST", "watches/close", {"abort": False})

    def drop_watches(self):
        self.control("POST", "watches/close", {"abort": True})

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        self.p.wait(timeout=WAIT_S)
        self._save_journal()

    def kill(self):
        if self.p and self.p.poll() is None:
            self.p.kill()

    def history(self):
        """Every version of every ConfigMap: ({name: [(rv, object or None)]}, count, problem)."""
        seen = {}
        for path in self.journals:
            with open(path) as f:
                for line in f:
                    try:
                        e = json.loads(line)
                    except ValueError:
                        continue  # a torn last line of a killed server
                    if e.get("resource") != "configmaps":
                        continue
                    if e["op"] == "put":
                        seen[int(e["rv"])] = (e["object"]["metadata"]["name"], e["object"])
                    else:
                        seen[int(e["rv"])] = (e["name"], None)
        if not seen:
            return {}, 0, "the server recorded no ConfigMap version"
        rvs = sorted(seen)
        # kube-lite counts every change: the versions must form one unbroken sequence.
        missing = [rv for rv in range(rvs[0], rvs[-1] + 1) if rv not in seen]
        history = collections.defaultdict(list)
        for rv in rvs:
            history[seen[rv][0]].append((rv, seen[rv][1]))
        problem = None
        if missing:
            problem = "the history misses %d resourceVersions (first %d)" % (len(missing),
                                                                            missing[0])
        return history, len(rvs), problem


class RealServer:
    """The real kube-apiserver. Faults are injected by one fault proxy per worker (so a partition
    cuts one worker off); a recorder watches the campaign's ConfigMaps directly, never through a
    proxy, from the resourceVersion of a first LIST: one unbroken watch (or watches resumed
    where the last ended) sees every version; a 410 there would make the history incomplete."""
    name = "the real kube-apiserver"
    namespace = "flink"

    def __init__(self):
        import ssl
        self.url = os.environ["K8SHA_TEST_SERVER"]
        self.ssl = ssl.create_default_context(cafile=os.environ["K8SHA_TEST_CA"])
        self.admin = os.environ["K8SHA_TEST_ADMIN_TOKEN"]
        self.user_kubeconfig = os.environ["K8SHA_TEST_KUBECONFIG"]
        self.proxies = {}  # worker name -> (process, api url, control url)
        self.generation = 1
        self.versions = []  # (rv, name, object or None)
        self.problem = None
        self.stopping = False
        self.recorder = None
        self.rv = None
        self.cond = threading.Condition()

    def api(self, method, path, body=None, timeout=10):
        return http(self.url + path, method, body, token=self.admin, ctx=self.ssl,
                    timeout=timeout, retry_refused=0)

    def start(self):
        base = "/api/v1/namespaces/%s/configmaps" % self.namespace
        self.api("DELETE", base + "?labelSelector=app%3D" + CID)  # a clean slate
        lst = self.api("GET", base + "?labelSelector=app%3D" + CID)
        if lst is None or lst.get("items"):
            raise Fatal("cannot start from an empty namespace: %s" % lst)
        self.rv = lst["metadata"]["resourceVersion"]
        self.recorder = threading.Thread(target=self._record, daemon=True)
        self.recorder.start()

    def _record(self):
        path = ("/api/v1/namespaces/%s/configmaps?labelSelector=app%%3D%s&watch=1"
                "&allowWatchBookmarks=true" % (self.namespace, CID))
        while not self.stopping:
            req = urllib.request.Request(self.url + path + "&resourceVersion=" + self.rv,
                                         headers={"Authorization": "Bearer " + self.admin})
            try:
                with urllib.request.urlopen(req, timeout=30, context=self.ssl) as r:
                    for line in r:
                        ev = json.loads(line)
                        obj = ev.get("object") or {}
                        if ev.get("type") == "ERROR":
                            with self.cond:
                                self.problem = "the recorder's watch failed: %s" % obj
                                self.cond.notify_all()
                            return
                        rv = obj.get("metadata", {}).get("resourceVersion")
                        with self.cond:
                            if ev.get("type") in ("ADDED", "MODIFIED", "DELETED"):
                                self.versions.append((int(rv), obj["metadata"]["name"],
                                                      None if ev["type"] == "DELETED" else obj))
                            if rv:
                                self.rv = rv
                            self.cond.notify_all()
            except urllib.error.HTTPError as e:
                with self.cond:
                    self.problem = "the recorder's watch failed: HTTP %d" % e.code
                    self.cond.notify_all()
                return
            except (OSError, ValueError):
                pass  # the watch ended (timeout, server side close): resumed where it was

    def _proxy(self, w):
        if w.name in self.proxies:
            return self.proxies[w.name]
        p = subprocess.Popen([A.kube_lite, "--port", "0", "--upstream", self.url, "--upstream-ca",
                              os.environ["K8SHA_TEST_CA"],
                              "--seed", str(SEED + len(self.proxies) + 1)],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        # "kube-lite listening on URL control URL"
        line = p.stdout.readline().split()
        if line[:3] != ["kube-lite", "listening", "on"] or len(line) < 6:
            raise Fatal("kube-lite as a fault proxy did not start: %r" % line)
        threading.Thread(target=p.stdout.read, daemon=True).start()
        self.proxies[w.name] = (p, line[3], line[5])
        return self.proxies[w.name]

    def kubeconfig_for(self, w):
        _, api_url, _ = self._proxy(w)
        path = os.path.join(tmp, "kubeconfig-" + w.name)
        with open(self.user_kubeconfig) as f:
            lines = f.read().splitlines()
        out = []
        for ln in lines:
            if ln.strip().startswith("server:"):
                ln = ln[:ln.index("server:")] + "server: " + api_url
            elif "certificate-authority" in ln:
                continue  # the proxy speaks plain HTTP on loopback
            out.append(ln)
        with open(path, "w") as f:
            f.write("\n".join(out) + "\n")
        os.chmod(path, 0o600)
        return path

    def _controls(self, only=None):
        return [c for n, (_, _, c) in sorted(self.proxies.items())
                if only is None or n == only.name]

    def control(self, method, what, body=None, only=None):
        for c in self._controls(only):
            http(c + "/kube-lite/v1/" + what, method, body)

    def fault(self, rule, only=None):
        # (each worker has its own proxy, so `only` picks proxies where kube-lite picks users;
        # a rule is bounded as on kube-lite: by its rate, and healed by the schedule)
        self.control("POST", "faults", rule, only)
        return only

    def heal(self, handle):
        self.control("DELETE", "faults", only=handle)

    def clear_faults(self):
        self.control("DELETE", "faults")

    def restart(self):
        """The server goes away for every worker and comes back with its data."""
        self.control("POST", "stop", {})
        time.sleep(rng.uniform(0, 1.0))  # the schedule: how long the server is away
        self.control("POST", "start", {})

    def refuse(self, seconds):
        self.control("POST", "refuse", {"seconds": seconds})

    def expire_watches(self):
        self.control("POST", "faults", {"verbs": ["watch"], "code": 410, "count": 1})
        self.control("POST", "watches/close", {"abort": False})

    def drop_watches(self):
        self.control("POST", "watches/close", {"abort": True})

    def stop(self):
        """Waits until the recorder has seen the state a LIST shows now, then stops it."""
        lst = self.api("GET", "/api/v1/namespaces/%s/configmaps?labelSelector=app%%3D%s"
                       % (self.namespace, CID))
        if lst is None:
            raise Fatal("the final LIST failed")
        want = {o["metadata"]["name"]: int(o["metadata"]["resourceVersion"])
                for o in lst["items"]}
        deadline = time.monotonic() + WAIT_S
        with self.cond:
            while self.problem is None:
                last = {}
                for rv, name, _ in self.versions:
                    last[name] = rv
                if all(last.get(n) == rv for n, rv in want.items()):
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Fatal("the recorder never caught up with the final state")
                self.cond.wait(left)
            self.stopping = True
        self.kill()

    def kill(self):
        for p, _, _ in self.proxies.values():
            if p.poll() is None:
                p.kill()
                p.wait()

    def history(self):
        history = collections.defaultdict(list)
        for rv, name, obj in sorted(self.versions, key=lambda v: v[0]):
            history[name].append((rv, obj))
        return history, len(self.versions), self.problem


# ---- the workers ----
EVENTS = []  # (time, worker name, fields) of every line every worker printed
EV_LOCK = threading.Condition()


class Worker:
    def __init__(self, index):
        self.index = index
        self.name = "w%d" % index
        self.p = None
        self.state = "down"  # down | up | stopped (SIGSTOP)
        self.starts = 0

    def start(self):
        self.starts += 1
        conf = ["-D", "kubernetes.config.file=" + server.kubeconfig_for(self),
                "-D", "kubernetes.cluster-id=" + CID,
                "-D", "kubernetes.namespace=" + server.namespace,
                "-D", "high-availability.type=kubernetes",
                "-D", "high-availability.storageDir=file://" + STORAGE,
                "-D", "high-availability.kubernetes.leader-election.lease-duration=1 s",
                "-D", "high-availability.kubernetes.leader-election.renew-deadline=750 ms",
                "-D", "high-availability.kubernetes.leader-election.retry-period=200 ms",
                "-D", "execution.checkpointing.num-retained=2"]
        args = [A.worker] + conf + ["--identity", self.name, "--seed",
                                    str(rng.randrange(1, 1 << 30))]
        for j in JOBS:
            args += ["--job", j]
        env = dict(os.environ, LD_PRELOAD=A.faultfs, CHAOS_FS_CONTROL=FS_CONTROL,
                   CHAOS_FS_ROOT=STORAGE)
        if A.verbose:
            env["CHAOS_LOG_DEBUG"] = "1"
        # In a sanitizer build the preloaded faultfs comes before the sanitizer's runtime.
        env["ASAN_OPTIONS"] = ":".join(filter(None, [os.environ.get("ASAN_OPTIONS"),
                                                      "verify_asan_link_order=0"]))
        with EV_LOCK:
            mark = len(EVENTS)
        self.p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=open(os.path.join(tmp, self.name + ".err"), "a"),
                                  text=True, env=env)
        threading.Thread(target=self._read, args=(self.p,), daemon=True).start()
        # Up once it says so: from then on SIGTERM is a clean stop, not the default action.
        wait_events(lambda e: e[1] == self.name and e[2][:1] == ["started"],
                    "the start of " + self.name, since=mark)
        self.state = "up"

    def _read(self, p):
        for ln in p.stdout:
            with EV_LOCK:
                EVENTS.append((time.monotonic(), self.name, ln.split()))
                EV_LOCK.notify_all()

    def stderr_tail(self):
        with open(os.path.join(tmp, self.name + ".err"), errors="replace") as f:
            return " | ".join(f.read().splitlines()[-15:])

    def check_alive(self):
        """A worker only ends when the campaign ends it: anything else is a crash."""
        if self.state != "down" and self.p.poll() is not None:
            raise Fatal("%s died by itself (status %d): %s" % (self.name, self.p.returncode,
                                                               self.stderr_tail()))

    def signal(self, sig):
        if self.p and self.p.poll() is None:
            self.p.send_signal(sig)

    def kill(self):
        if self.state == "stopped":
            self.signal(signal.SIGCONT)
        self.signal(signal.SIGKILL)
        if self.p:
            self.p.wait()
        self.state = "down"


def wait_events(pred, what, timeout=WAIT_S, since=0):
    deadline = time.monotonic() + timeout
    with EV_LOCK:
        seen = since
        while True:
            for i in range(seen, len(EVENTS)):
                if pred(EVENTS[i]):
                    return EVENTS[i]
            seen = len(EVENTS)
            left = deadline - time.monotonic()
            if left <= 0:
                raise Fatal("%s never happened" % what)
            EV_LOCK.wait(left)


# ---- the campaign ----
ACTIONS = collections.Counter()
timers = []  # (due, description, function)


def after(seconds, what, fn):
    timers.append((time.monotonic() + seconds, what, fn))


def pick(state):
    ws = [w for w in workers if w.state == state]
    return rng.choice(ws) if ws else None


def act_kill():
    w = pick("up") or pick("stopped")
    if w:
        w.kill()
        after(rng.uniform(0.1, 2.0), "restart " + w.name, w.start)
        return w.name


def act_pause():
    w = pick("up")
    if w:
        w.signal(signal.SIGSTOP)
        w.state = "stopped"

        def resume(w=w):
            if w.state == "stopped":
                w.signal(signal.SIGCONT)
                w.state = "up"
        after(LEASE_S * rng.uniform(1.0, 3.0), "resume " + w.name, resume)
        return w.name


def act_clean_stop():
    w = pick("up")
    if w:
        act_clean_stop_of(w)
        after(rng.uniform(0.1, 2.0), "restart " + w.name, w.start)
        return w.name


def act_clean_stop_of(w):
    """SIGTERM: the worker releases the lock and must exit 0 (in a sanitizer build, also clean
    of leaks and errors)."""
    w.signal(signal.SIGTERM)
    try:
        rc = w.p.wait(timeout=WAIT_S)
    except subprocess.TimeoutExpired:
        raise Fatal("%s did not stop after SIGTERM" % w.name)
    if rc != 0:
        raise Fatal("%s exited with %d after SIGTERM: %s" % (w.name, rc, w.stderr_tail()))
    w.state = "down"


def act_server_restart():
    server.restart()


def act_refuse():
    server.refuse(round(rng.uniform(0.3, 2.0), 2))


def act_410():
    server.expire_watches()


def act_429():
    hdr = rng.choice(["-1", "99999999999", "1e9", "soon", "0", "2"])
    server.fault({"code": 429, "rate": 0.5, "count": rng.randrange(5, 40),
                  "retryAfterHeader": hdr})
    return hdr


def act_5xx():
    code = rng.choice([500, 503, 504])
    server.fault({"code": code, "rate": 0.3, "count": rng.randrange(5, 40)})
    return code


def act_latency():
    ms = rng.randrange(100, 2500)
    server.fault({"verbs": rng.choice([["update", "patch"],
                                       ["get", "list", "update", "patch", "create"]]),
                  "latencyMs": ms, "count": rng.randrange(1, 10)})
    return ms


def act_drop():
    if rng.random() < 0.5:
        server.drop_watches()
        return "watches"
    server.fault({"drop": True, "rate": 0.3, "count": rng.randrange(1, 10)})
    return "requests"


def act_storage():
    kind = rng.choice(["eio", "enospc"])
    with open(FS_CONTROL + ".new", "w") as f:
        f.write(kind)
    os.rename(FS_CONTROL + ".new", FS_CONTROL)

    def heal():
        with open(FS_CONTROL + ".new", "w") as f:
            f.write("none")
        os.rename(FS_CONTROL + ".new", FS_CONTROL)
    after(rng.uniform(0.2, 2.0), "storage heals", heal)
    return kind


def act_partition():
    w = rng.choice(workers)
    handle = server.fault({"drop": True} if rng.random() < 0.6 else {"code": 503}, only=w)
    if handle is not None:
        after(rng.uniform(0.3, 4.0), "partition of %s heals" % w.name,
              lambda: server.heal(handle))
    return w.name


KINDS = [("kill -9", act_kill, 3), ("SIGSTOP past the lease", act_pause, 3),
         ("clean stop", act_clean_stop, 1), ("server restart", act_server_restart, 1),
         ("server refuses", act_refuse, 1), ("forced 410", act_410, 2),
         ("429 storm", act_429, 2), ("5xx", act_5xx, 2), ("latency", act_latency, 3),
         ("dropped connections", act_drop, 2), ("storage fault", act_storage, 2),
         ("partition", act_partition, 3)]


def run_due():
    now = time.monotonic()
    due = [t for t in timers if t[0] <= now]
    for t in due:
        timers.remove(t)
    for _, what, fn in sorted(due, key=lambda t: t[0]):
        log(what)
        fn()


def campaign():
    end = time.monotonic() + A.seconds
    total = sum(k[2] for k in KINDS)
    next_action = time.monotonic() + rng.uniform(0.5, 1.5)
    while time.monotonic() < end:
        for w in workers:
            w.check_alive()
        run_due()
        now = time.monotonic()
        if now >= next_action:
            r = rng.uniform(0, total)
            for name, fn, weight in KINDS:
                r -= weight
                if r <= 0:
                    break
            detail = fn()
            ACTIONS[name] += 1
            log("%s %s" % (name, "" if detail is None else detail))
            next_action = time.monotonic() + rng.uniform(0.2, 1.2)
        wake = min([next_action, end] + [t[0] for t in timers])
        time.sleep(max(0.0, wake - time.monotonic()))


def heal_everything():
    """Faults off, every worker running: from here on every job must commit again."""
    with open(FS_CONTROL, "w") as f:
        f.write("none")
    for _, what, fn in sorted(timers, key=lambda t: t[0]):
        if what.startswith("restart") or what.startswith("resume"):
            fn()
    timers.clear()
    server.clear_faults()
    for w in workers:
        if w.state == "stopped":
            w.signal(signal.SIGCONT)
            w.state = "up"
        elif w.state == "down":
            w.start()


# ---- the checker ----
VIOLATIONS = []


def violation(msg):
    if len(VIOLATIONS) < 200:
        VIOLATIONS.append(msg)


def lock_record(obj):
    ann = (obj.get("metadata") or {}).get("annotations") or {}
    raw = ann.get("control-plane.alpha.kubernetes.io/leader")
    if raw is None:
        return None
    try:
        rec = json.loads(raw)
    except ValueError:
        violation("lock record is not JSON: %r" % raw[:80])
        return None
    return rec.get("holderIdentity") or "", int(rec.get("leaderTransitions") or 0)


def check(history):
    leading = collections.defaultdict(set)     # term -> workers that said "leading term"
    sessions = {}                               # (worker, term) -> session
    adding = collections.defaultdict(set)       # (job, id) -> terms that added it
    committed = []                              # (worker, job, id, term)
    for _, who, f in EVENTS:
        if f[:1] == ["leading"] and len(f) >= 3:
            leading[int(f[1])].add(who)
            sessions[(who, int(f[1]))] = f[2]
        elif f[:1] == ["adding"] and len(f) == 4:
            adding[(f[1], int(f[2]))].add(int(f[3]))
        elif f[:1] == ["committed"] and len(f) == 4:
            committed.append((who, f[1], int(f[2]), int(f[3])))
        elif f[:1] == ["broken"]:
            violation("%s recovered a broken checkpoint: %s" % (who, " ".join(f[1:])))

    # The lock.
    holders = {}
    last_term = -1
    recorded = set()  # (holder, term)
    for rv, obj in history.get(LOCK, []):
        if obj is None:
            violation("rv %d: the lock was deleted (nothing in the campaign deletes it)" % rv)
            continue
        rec = lock_record(obj)
        if rec is None:
            continue
        holder, term = rec
        if term < last_term:
            violation("rv %d: lock term went back from %d to %d" % (rv, last_term, term))
        last_term = max(last_term, term)
        if holder:
            if holders.setdefault(term, holder) != holder:
                violation("rv %d: term %d held by %s and by %s" % (rv, term, holders[term],
                                                                   holder))
            recorded.add((holder, term))
        for key, value in ((obj.get("data") or {}).items()):
            if not key.startswith("org.apache.flink.k8s.leader."):
                continue
            session, _, address = value.partition(",")
            parts = address.split("/")  # chaos://wN/TERM
            if len(parts) != 4 or parts[2] != holder or parts[3] != str(term):
                violation("rv %d: %s = %r published under holder %r term %d"
                          % (rv, key, value, holder, term))
            elif sessions.get((holder, term), session) != session:
                violation("rv %d: %s carries session %s, %s was granted term %d with %s"
                          % (rv, key, session, holder, term, sessions[(holder, term)]))
    for term, who in sorted(leading.items()):
        if len(who) > 1:
            violation("term %d: %s all said they lead" % (term, sorted(who)))
        for w in who:
            if (w, term) not in recorded:
                violation("%s said it leads term %d; no recorded lock version says so" % (w, term))

    # The job ConfigMaps.
    final = {}
    for job in JOBS:
        name = "%s-%s-config-map" % (CID, job)
        claim, counter, prev_keys = -1, 0, {}
        present = set()
        state = None
        for rv, obj in history.get(name, []):
            if obj is None:
                violation("rv %d: %s was deleted" % (rv, name))
                continue
            ann = obj["metadata"].get("annotations") or {}
            data = obj.get("data") or {}
            t = int(ann.get("libk8sha/term", -1))
            if t < claim:
                violation("rv %d: %s claim went back from %d to %d" % (rv, name, claim, t))
            c = int(data.get("counter", 0))
            if c < counter:
                violation("rv %d: %s counter went back from %d to %d" % (rv, name, counter, c))
            counter = max(counter, c)
            for key, value in data.items():
                if not key.startswith("checkpointID-") or value.startswith("deleting:"):
                    continue
                cid = int(key[len("checkpointID-"):])
                present.add(cid)
                if prev_keys.get(key) == value:
                    continue
                # A checkpoint written in this version: by the term that claimed it, which is
                # the newest claim the ConfigMap had before.
                terms = adding.get((job, cid), set())
                if not terms:
                    violation("rv %d: %s has checkpoint %d that no worker added" % (rv, name, cid))
                for wt in terms:
                    if wt < max(claim, t):
                        violation("rv %d: %s checkpoint %d written in term %d after the claim of "
                                  "term %d" % (rv, name, cid, wt, max(claim, t)))
            claim = max(claim, t)
            prev_keys = data
            state = obj
        final[job] = state
        for (j, cid), terms in adding.items():
            if j == job and len(terms) > 1:
                violation("%s checkpoint id %d was handed to terms %s" % (job, cid, sorted(terms)))
        for who, j, cid, term in committed:
            if j == job and cid not in present:
                violation("%s reported %s checkpoint %d committed (term %d); no recorded version "
                          "holds it" % (who, job, cid, term))

    # The final state: retained pointers and their blobs; reported commits retained or superseded.
    for job in JOBS:
        obj = final[job]
        retained = {}
        for key, value in ((obj or {}).get("data") or {}).items():
            if not key.startswith("checkpointID-") or value.startswith("deleting:"):
                continue
            cid = int(key[len("checkpointID-"):])
            retained[cid] = value
            try:
                _, uri, size, crc = decode_pointer(value)
            except ValueError as e:
                violation("%s checkpoint %d: %s" % (job, cid, e))
                continue
            path = uri[len("file://"):] if uri.startswith("file://") else uri
            try:
                with open(path, "rb") as f:
                    blob = f.read()
            except OSError as e:
                violation("%s checkpoint %d: blob %s: %s" % (job, cid, uri, e.strerror))
                continue
            if len(blob) != size or crc32c(blob) != crc:
                violation("%s checkpoint %d: blob %s has %d bytes CRC %08x, the pointer says %d "
                          "bytes CRC %08x" % (job, cid, uri, len(blob), crc32c(blob), size, crc))
            words = blob.decode(errors="replace").split()
            terms = adding.get((job, cid), set())
            if (len(words) != 9 or words[2] != job or words[4] != str(cid)
                    or int(words[6]) not in terms):
                violation("%s checkpoint %d: blob holds %r" % (job, cid, blob[:100]))
        newest = max(retained) if retained else -1
        for who, j, cid, term in committed:
            if j == job and cid not in retained and cid > newest:
                violation("%s reported %s checkpoint %d committed; neither it nor a newer one is "
                          "retained" % (who, job, cid))
    return holders, last_term


def self_test():
    """The checker must see each kind of violation: fed small crafted histories, each must give
    exactly the violation it holds (and a clean one none), or the campaign does not start."""
    global EVENTS
    job = JOBS[0]
    cm = "%s-%s-config-map" % (CID, job)
    blob_dir = os.path.join(tmp, "selftest")
    os.makedirs(blob_dir, exist_ok=True)

    def lock(rv, holder, term, published=None):
        rec = json.dumps({"holderIdentity": holder, "leaderTransitions": term})
        data = {"org.apache.flink.k8s.leader.dispatcher": published} if published else {}
        return (rv, {"metadata": {"name": LOCK, "annotations": {
            "control-plane.alpha.kubernetes.io/leader": rec}}, "data": data})

    def pointer(cid, term, who, lose=False):
        blob = ("chaos job %s checkpoint %d term %d by %s" % (job, cid, term, who)).encode()
        path = os.path.join(blob_dir, "cp%d-%d%s" % (cid, term, "-lost" if lose else ""))
        if not lose:
            with open(path, "wb") as f:
                f.write(blob)
        uri = ("file://" + path).encode()
        raw = b"K8P\x01" + struct.pack(">QIH", len(blob), crc32c(blob), len(uri)) + uri
        return base64.b64encode(raw + struct.pack(">I", crc32c(raw))).decode()

    def jobcm(rv, term, counter, cps):
        return (rv, {"metadata": {"name": cm, "annotations": {"libk8sha/term": str(term)}},
                     "data": dict({"counter": str(counter)}, **cps)})

    def key(cid):
        return "checkpointID-%019d" % cid

    good_events = [(0, "w0", ["leading", "1", "s1"]), (0, "w0", ["adding", job, "1", "1"]),
                   (0, "w0", ["committed", job, "1", "1"])]
    good = {LOCK: [lock(1, "w0", 1, "s1,chaos://w0/1")],
            cm: [jobcm(2, 1, 2, {key(1): pointer(1, 1, "w0")})]}
    cases = [
        ("a clean history", good_events, good, None),
        ("two holders of one term", good_events,
         dict(good, **{LOCK: [lock(1, "w0", 1), lock(3, "w1", 1)]}), "held by w0 and by w1"),
        ("an address under another holder", good_events,
         dict(good, **{LOCK: [lock(1, "w0", 1, "s1,chaos://w2/1")]}), "published under"),
        ("a term that goes back", good_events,
         dict(good, **{LOCK: [lock(1, "w0", 1), lock(3, "w0", 0)]}), "term went back"),
        ("a write of a deposed term", good_events + [(0, "w1", ["adding", job, "2", "0"])],
         dict(good, **{cm: [jobcm(2, 1, 2, {key(1): pointer(1, 1, "w0")}),
                            jobcm(4, 1, 3, {key(1): pointer(1, 1, "w0"),
                                            key(2): pointer(2, 0, "w1")})]}),
         "written in term 0 after the claim of term 1"),
        ("a retained pointer without its blob", good_events,
         dict(good, **{cm: [jobcm(2, 1, 2, {key(1): pointer(1, 1, "w0", lose=True)})]}),
         "No such file"),
        ("a reported commit that is gone", good_events + [
            (0, "w0", ["adding", job, "5", "1"]), (0, "w0", ["committed", job, "5", "1"])],
         good, "no recorded version holds it"),
        ("one id in two terms", good_events + [(0, "w1", ["adding", job, "1", "2"])], good,
         "handed to terms"),
        ("a counter that goes back", good_events,
         dict(good, **{cm: [jobcm(2, 1, 2, {key(1): pointer(1, 1, "w0")}),
                            jobcm(4, 1, 1, {key(1): pointer(1, 1, "w0")})]}),
         "counter went back"),
    ]
    saved = EVENTS
    try:
        for what, events, history, expect in cases:
            EVENTS = events
            del VIOLATIONS[:]
            check(history)
            found = [v for v in VIOLATIONS if expect and expect in v]
            if (expect is None and VIOLATIONS) or (expect is not None and not found):
                raise Fatal("checker self-test, %s: expected %s, got %s"
                            % (what, repr(expect) if expect else "no violation", VIOLATIONS))
    finally:
        EVENTS = saved
        del VIOLATIONS[:]
        shutil.rmtree(blob_dir, ignore_errors=True)
    print("chaos: checker self-test: %d crafted histories, each judged as expected" % len(cases),
          flush=True)


def main():
    global workers, T0
    T0 = time.monotonic()
    self_test()
    server.start()
    workers = [Worker(i) for i in range(A.workers)]
    for w in workers:
        w.start()
    # The campaign starts from a working cluster: every job has committed once.
    for job in JOBS:
        wait_events(lambda e, job=job: e[2][:2] == ["committed", job], "a first commit of " + job)
    started = time.monotonic()
    campaign()
    heal_everything()
    healed = time.monotonic()
    for job in JOBS:
        wait_events(lambda e, job=job: e[0] >= healed and e[2][:2] == ["committed", job],
                    "a commit of %s after the faults stopped" % job)
    recovery = time.monotonic() - healed
    for w in workers:
        w.check_alive()
    for w in workers:  # the last stop is a clean one: it must release and exit 0
        if w.state == "up":
            act_clean_stop_of(w)
    for w in workers:
        w.kill()
    server.stop()

    history, versions, problem = server.history()
    if problem:
        raise Fatal(problem + ": the check would be incomplete")
    holders, last_term = check(history)

    n = collections.Counter(e[2][0] for e in EVENTS if e[2])
    errors = collections.Counter()
    for _, _, f in EVENTS:
        if f[:1] == ["failed"] and len(f) > 4:
            errors["add " + f[4]] += 1
        elif f[:1] in (["counter"], ["opened"]) and len(f) > 3 and f[3] != "K8SHA_OK":
            errors[f[0] + " " + f[3]] += 1
        elif f[:1] == ["error"] and len(f) > 1:
            errors["election " + f[1]] += 1
    print("chaos: %.0f s of faults, then every job committed again within %.2f s"
          % (healed - started, recovery))
    print("chaos: actions: " + ", ".join("%s %d" % kv for kv in sorted(ACTIONS.items())))
    print("chaos: %d ConfigMap versions checked; %d terms (last %d); %d grants, %d commits, "
          "%d recoveries" % (versions, len(holders), last_term, n["leading"], n["committed"],
                             n["recovered"]))
    print("chaos: failures reported: " + (", ".join("%s %d" % kv for kv in sorted(errors.items()))
                                          or "none"))
    print("chaos: against %s; worker restarts %d"
          % (server.name, sum(w.starts for w in workers) - len(workers)))
    print("chaos: violations: %d" % len(VIOLATIONS))
    for v in VIOLATIONS:
        print("VIOLATION: " + v)
    return 1 if VIOLATIONS else 0


workers, T0 = [], time.monotonic()
if os.environ.get("K8SHA_TEST_KUBECONFIG"):
    server = RealServer()
else:
    server = KubeLite()
try:
    rc = main()
except Fatal as e:
    print("FAIL: %s (seed %d, work folder %s)" % (e, SEED, tmp), flush=True)
    rc = 1
    A.keep = True
finally:
    for w in workers:
        try:
            w.kill()
        except OSError:
            pass
    if server:
        server.kill()
if rc or A.keep:
    # What every worker said and what the harness did, in one timeline (CLOCK_MONOTONIC seconds,
    # as in the workers' logs, NAME.err).
    with EV_LOCK:
        lines = [(t, n, " ".join(f)) for t, n, f in EVENTS] + [(t, "harness", m) for t, m in HARNESS]
    with open(os.path.join(tmp, "events.log"), "w") as f:
        for t, n, m in sorted(lines, key=lambda x: x[0]):
            f.write("%.6f %s %s\n" % (t, n, m))
    # Every ConfigMap version the server recorded: its term and session annotations and its data.
    try:
        history = server.history()[0] if server else {}
    except Exception as e:  # (a failed run may have no history to give)
        history = {}
        print("chaos: no history kept: %s" % e)
    with open(os.path.join(tmp, "history.log"), "w") as f:
        for name in sorted(history):
            for rv, obj in history[name]:
                if obj is None:
                    f.write("%s %s deleted\n" % (rv, name))
                    continue
                ann = obj.get("metadata", {}).get("annotations") or {}
                f.write("%s %s %s\n" % (rv, name, json.dumps(
                    {"annotations": ann, "data": obj.get("data") or {}}, sort_keys=True)))
if rc == 0 and not A.keep:
    shutil.rmtree(tmp, ignore_errors=True)
elif rc:
    print("chaos: work folder kept: %s (seed %d)" % (tmp, SEED))
sys.exit(rc)
