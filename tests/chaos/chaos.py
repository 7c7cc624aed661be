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
ap.add_argument("--kube-lite", required=True)
ap.add_argument("--worker", required=True)
ap.add_argument("--faultfs", required=True)
ap.add_argument("--seconds", type=float, default=60)
ap.add_argument("--seed", type=int, default=None)
ap.add_argument("--workers", type=int, default=3)
ap.add_argument("--jobs", type=int, default=2)
ap.add_argument("--keep", action="store_true", help="keep the work folder")
ap.add_argument("--verbose", action="store_true")
A = ap.parse_args()

SEED = A.seed if A.seed is not None else int.from_bytes(os.urandom(4), "big")
print("chaos: seed %d (rerun with --seed %d), %d workers, %d jobs, %.0f s"
      % (SEED, SEED, A.workers, A.jobs, A.seconds), flush=True)
rng = random.Random(SEED)

CID = "chaos"
NS = "chaos"
LOCK = CID + "-cluster-config-map"
JOBS = ["%032x" % (0xC0FFEE00 + i) for i in range(A.jobs)]
LEASE_S = 1.0
ADMIN = "kube-lite-admin"
WAIT_S = 60
tmp = tempfile.mkdtemp(prefix="k8sha-chaos-")
STORAGE = os.path.join(tmp, "ha")
DATA = os.path.join(tmp, "server")
FS_CONTROL = os.path.join(tmp, "fsfault")
JOURNALS = []  # saved journal segments


def log(msg):
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


# ---- the server ----
def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


PORT = free_port()
URL = "http://127.0.0.1:%d" % PORT
KUBECONFIG = os.path.join(tmp, "kubeconfig")
TOKENS = os.path.join(tmp, "tokens")
with open(TOKENS, "w") as f:
    f.write("# token,user,rules\n")
    for i in range(A.workers):
        f.write("tok-w%d,w%d,*\n" % (i, i))


class Server:
    def __init__(self):
        self.p = None
        self.generation = 0

    def start(self):
        self.generation += 1
        self.p = subprocess.Popen(
            [A.kube_lite, "--port", str(PORT), "--namespace", NS, "--data-dir", DATA,
             "--token-file", TOKENS, "--admin-token", ADMIN, "--write-kubeconfig", KUBECONFIG,
             "--seed", str(SEED + self.generation), "--history", "100000"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.p.stdout.readline()
        if "listening on" not in line:
            raise Fatal("kube-lite did not start: %r" % line)
        threading.Thread(target=self.p.stdout.read, daemon=True).start()

    def crash(self):
        """kill -9, keep what its journal holds (the next start rewrites it)."""
        self.p.kill()
        self.p.wait()
        seg = os.path.join(tmp, "journal-%03d.jsonl" % self.generation)
        shutil.copyfile(os.path.join(DATA, "journal.jsonl"), seg)
        JOURNALS.append(seg)

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        self.p.wait(timeout=WAIT_S)
        seg = os.path.join(tmp, "journal-%03d.jsonl" % self.generation)
        shutil.copyfile(os.path.join(DATA, "journal.jsonl"), seg)
        JOURNALS.append(seg)


def api(method, path, body=None, quiet=False):
    """A control call; while the server refuses connections (a refusal window, at most 2 s) it is
    tried again for up to 5 s."""
    data = json.dumps(body).encode() if body is not None else None
    deadline = time.monotonic() + 5
    while True:
        req = urllib.request.Request(URL + path, data=data, method=method,
                                     headers={"Authorization": "Bearer " + ADMIN,
                                              "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            if not quiet:
                log("control %s %s: %s" % (method, path, e))
            return None
        except (urllib.error.URLError, OSError) as e:
            if time.monotonic() < deadline:
                time.sleep(0.05)  # polling a closed port: there is no event to wait on
                continue
            if not quiet:
                log("control %s %s: %s" % (method, path, e))
            return None


def fault(rule):
    r = api("POST", "/kube-lite/v1/faults", rule)
    return r.get("id") if r else None


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

    def kubeconfig(self):
        path = os.path.join(tmp, "kubeconfig-" + self.name)
        with open(KUBECONFIG) as f:
            text = f.read()
        if "token: " + ADMIN not in text:
            raise Fatal("kube-lite's kubeconfig has no admin token line")
        with open(path, "w") as f:
            f.write(text.replace("token: " + ADMIN, "token: tok-" + self.name))
        os.chmod(path, 0o600)
        return path

    def start(self):
        self.starts += 1
        conf = ["-D", "kubernetes.config.file=" + self.kubeconfig(),
                "-D", "kubernetes.cluster-id=" + CID, "-D", "kubernetes.namespace=" + NS,
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
        self.p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=open(os.path.join(tmp, self.name + ".err"), "a"),
                                  text=True, env=env)
        self.state = "up"
        threading.Thread(target=self._read, args=(self.p,), daemon=True).start()

    def _read(self, p):
        for ln in p.stdout:
            with EV_LOCK:
                EVENTS.append((time.monotonic(), self.name, ln.split()))
                EV_LOCK.notify_all()

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


def wait_events(pred, what, timeout=WAIT_S):
    deadline = time.monotonic() + timeout
    with EV_LOCK:
        seen = 0
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
        w.signal(signal.SIGTERM)
        try:
            w.p.wait(timeout=WAIT_S)
        except subprocess.TimeoutExpired:
            raise Fatal("%s did not stop after SIGTERM" % w.name)
        w.state = "down"
        after(rng.uniform(0.1, 2.0), "restart " + w.name, w.start)
        return w.name


def act_server_restart():
    server.crash()
    time.sleep(rng.uniform(0, 1.0))  # the server is away for this long
    server.start()


def act_refuse():
    api("POST", "/kube-lite/v1/refuse", {"seconds": round(rng.uniform(0.3, 2.0), 2)})


def act_410():
    api("POST", "/kube-lite/v1/compact", {})
    api("POST", "/kube-lite/v1/watches/close", {"abort": False})


def act_429():
    hdr = rng.choice(["-1", "99999999999", "1e9", "soon", "0", "2"])
    fault({"code": 429, "rate": 0.5, "count": rng.randrange(5, 40), "retryAfterHeader": hdr})
    return hdr


def act_5xx():
    code = rng.choice([500, 503, 504])
    fault({"code": code, "rate": 0.3, "count": rng.randrange(5, 40)})
    return code


def act_latency():
    ms = rng.randrange(100, 2500)
    fault({"verbs": rng.choice([["update", "patch"], ["get", "list", "update", "patch", "create"]]),
           "latencyMs": ms, "count": rng.randrange(1, 10)})
    return ms


def act_drop():
    if rng.random() < 0.5:
        api("POST", "/kube-lite/v1/watches/close", {"abort": True})
        return "watches"
    fault({"drop": True, "rate": 0.3, "count": rng.randrange(1, 10)})
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
    rule = {"users": [w.name]}
    rule.update({"drop": True} if rng.random() < 0.6 else {"code": 503})
    rid = fault(rule)
    gen = server.generation
    if rid is not None:
        def heal(rid=rid, gen=gen):
            if server.generation == gen:  # a restarted server has no rules left
                api("DELETE", "/kube-lite/v1/faults/%d" % rid, quiet=True)
        after(rng.uniform(0.3, 4.0), "partition of %s heals" % w.name, heal)
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
    api("DELETE", "/kube-lite/v1/faults")
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


def load_history():
    """Every version of every ConfigMap: {name: [(rv, object or None for a delete)]}."""
    seen = {}
    for path in JOURNALS:
        with open(path) as f:
            for line in f:
                try:
                    e = json.loads(line)
                except ValueError:
                    continue  # a torn last line of a killed server
                if e.get("resource") != "configmaps":
                    continue
                rv = int(e["rv"])
                if e["op"] == "put":
                    obj = e["object"]
                    name = obj["metadata"]["name"]
                else:
                    obj, name = None, e["name"]
                seen[rv] = (name, obj)
    if not seen:
        raise Fatal("the server recorded no ConfigMap version")
    rvs = sorted(seen)
    missing = [rv for rv in range(rvs[0], rvs[-1] + 1) if rv not in seen]
    history = collections.defaultdict(list)
    for rv in rvs:
        name, obj = seen[rv]
        history[name].append((rv, obj))
    return history, len(rvs), missing


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
    global server, workers, T0
    T0 = time.monotonic()
    self_test()
    server = Server()
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
        w.kill()
    server.stop()

    history, versions, missing = load_history()
    if missing:
        raise Fatal("the history misses %d resourceVersions (first %d): the check would be "
                    "incomplete" % (len(missing), missing[0]))
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
    print("chaos: worker restarts %d, server restarts %d"
          % (sum(w.starts for w in workers) - len(workers), server.generation - 1))
    print("chaos: violations: %d" % len(VIOLATIONS))
    for v in VIOLATIONS:
        print("VIOLATION: " + v)
    return 1 if VIOLATIONS else 0


server, workers, T0 = None, [], time.monotonic()
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
    if server and server.p and server.p.poll() is None:
        server.p.kill()
if rc == 0 and not A.keep:
    shutil.rmtree(tmp, ignore_errors=True)
elif rc:
    print("chaos: work folder kept: %s (seed %d)" % (tmp, SEED))
sys.exit(rc)
