#!/usr/bin/env python3
"""The checkpoint store across process crashes, a frozen leader, and the operator CLI.

1. Crash between blob and pointer: a worker adds checkpoints (counter, then add, num-retained 1);
   the job ConfigMap's updates are held by the server, the worker is killed with SIGKILL while
   one is held; once with the held update then applied (it lands after the crash), once with it
   answered 503 (it never lands). Then, and after a series of kills at seeded random moments
   while it adds as fast as it can:
     - every retained pointer names a blob that exists with the size and CRC-32C the pointer
       records (no dangling pointer), checked by reading the files here;
     - the last checkpoint the worker reported committed is retained (or a newer one);
     - a new leader recovers every retained checkpoint intact;
     - `k8sha checkpoints --json` lists exactly what that recovery returned;
     - `k8sha orphans` finds exactly the unreferenced blobs, and `--delete` removes them.
2. A deposed leader: worker A leads, is frozen with SIGSTOP past its lease, worker B takes over
   and adds; A is resumed and told to add: it is refused and the ConfigMap and the storage are
   unchanged by it.
3. `k8sha jobs`, `k8sha status`, `k8sha cleanup --job` (dry run, then for real) on that state.

Waits are on output lines and on server answers (bounded), never fixed sleeps.
usage: store_processes.py K8SHA KUBE_LITE STORE_WORKER
"""
import base64
import json
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

K8SHA, KUBELITE, WORKER = sys.argv[1], sys.argv[2], sys.argv[3]
JOB = "0123456789abcdef0123456789abcdef"
CID = "crashy"
CM = "%s-%s-config-map" % (CID, JOB)
WAIT_S = 30
tmp = tempfile.mkdtemp(prefix="k8sha-store-")
STORAGE = os.path.join(tmp, "ha")
BLOBS = os.path.join(STORAGE, CID)
procs = []


def fail(msg):
    print("FAIL:", msg, flush=True)
    for p in procs:
        try:
            p.kill()
        except OSError:
            pass
    sys.exit(1)


# ---- CRC-32C, to check blobs against pointers independently of the library ----
_T = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    _T.append(c)


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _T[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def decode_pointer(value):
    """(marked, uri, size, crc) of a compact pointer value."""
    marked = value.startswith("deleting:")
    raw = base64.b64decode(value[9:] if marked else value)
    if raw[:3] != b"K8P" or raw[3] != 1:
        fail("not a libk8sha pointer: %r" % value[:20])
    size, crc, ulen = struct.unpack(">QIH", raw[4:18])
    uri = raw[18:18 + ulen].decode()
    if crc32c(raw[:-4]) != struct.unpack(">I", raw[-4:])[0]:
        fail("pointer checksum wrong: %r" % value[:20])
    return marked, uri, size, crc


# ---- the server: kube-lite, or the real API server of tests/realkube (K8SHA_TEST_KUBECONFIG,
# K8SHA_TEST_SERVER, K8SHA_TEST_CA, K8SHA_TEST_ADMIN_TOKEN; the parts that need kube-lite's
# fault injection run there only through the fault proxy, K8SHA_TEST_CONTROL_URL) ----
EXTERNAL = bool(os.environ.get("K8SHA_TEST_KUBECONFIG"))
server, KUBECONFIG, HEADERS, SSL = None, os.path.join(tmp, "kc"), {}, None
CONTROL = None  # where /kube-lite/v1/ is served when it is not URL
if EXTERNAL:
    import ssl
    CONTROL = os.environ.get("K8SHA_TEST_CONTROL_URL") or None
    URL = os.environ["K8SHA_TEST_SERVER"]
    KUBECONFIG = os.environ["K8SHA_TEST_KUBECONFIG"]
    HEADERS = {"Authorization": "Bearer " + os.environ["K8SHA_TEST_ADMIN_TOKEN"]}
    SSL = ssl.create_default_context(cafile=os.environ["K8SHA_TEST_CA"])
else:
    server = subprocess.Popen([KUBELITE, "--port", "0", "--namespace", "flink",
                               "--write-kubeconfig", KUBECONFIG], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    procs.append(server)
    line = server.stdout.readline()
    if "listening on" not in line:
        fail("kube-lite did not start: %r" % line)
    URL = line.strip().rsplit(" ", 1)[1]
    threading.Thread(target=lambda: server.stdout.read(), daemon=True).start()


def api(method, path, body=None):
    base = CONTROL if CONTROL and path.startswith("/kube-lite/") else URL
    req = urllib.request.Request(base + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers=dict(HEADERS, **{"Content-Type": "application/json"}))
    try:
        with urllib.request.urlopen(req, timeout=10, context=SSL) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def job_cm():
    code, cm = api("GET", "/api/v1/namespaces/flink/configmaps/" + CM)
    return cm if code == 200 else None


def fault(rule):
    code, body = api("POST", "/kube-lite/v1/faults", rule)
    if code not in (200, 201):
        fail("fault not accepted: %s" % code)
    return body["id"] if isinstance(body, dict) and "id" in body else None


def wait_fault_hit(rule_id):
    """Until the server has received a request the rule holds (its hit count, or the rule gone)."""
    deadline = time.monotonic() + WAIT_S
    while True:
        _, listing = api("GET", "/kube-lite/v1/faults")
        rule = [r for r in (listing or {}).get("faults", []) if r.get("id") == rule_id]
        if not rule or rule[0].get("hits", 0) >= 1:
            return
        if time.monotonic() > deadline:
            fail("the held request never reached the server")
        time.sleep(0.005)


def clear_faults():
    api("DELETE", "/kube-lite/v1/faults")


if EXTERNAL:  # a clean namespace, as a fresh kube-lite would be
    api("DELETE", "/api/v1/namespaces/flink/configmaps")
CONF = ["-D", "kubernetes.config.file=" + KUBECONFIG, "-D", "kubernetes.cluster-id=" + CID,
        "-D", "kubernetes.namespace=flink", "-D", "high-availability.type=kubernetes",
        "-D", "high-availability.storageDir=file://" + STORAGE,
        "-D", "high-availability.kubernetes.leader-election.lease-duration=2 s",
        "-D", "high-availability.kubernetes.leader-election.renew-deadline=1500 ms",
        "-D", "high-availability.kubernetes.leader-election.retry-period=300 ms",
        "-D", "execution.checkpointing.num-retained=1"]


class Worker:
    def __init__(self, name, auto=False):
        args = [WORKER] + CONF + ["--identity", name, "--job", JOB] + (["--auto"] if auto else [])
        self.p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        procs.append(self.p)
        self.lines = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for ln in self.p.stdout:
            with self.cond:
                self.lines.append(ln.split())
                self.cond.notify_all()
        with self.cond:
            self.lines.append(["<eof>"])
            self.cond.notify_all()

    def wait(self, pred, what, since=0):
        deadline = time.monotonic() + WAIT_S
        with self.cond:
            while True:
                for i in range(since, len(self.lines)):
                    if pred(self.lines[i]):
                        return i, self.lines[i]
                left = deadline - time.monotonic()
                if left <= 0:
                    fail("%s never happened; output: %s" % (what, self.lines[-10:]))
                self.cond.wait(left)

    def send(self, text):
        self.p.stdin.write(text + "\n")
        self.p.stdin.flush()

    def committed(self):
        with self.cond:
            return [int(l[1]) for l in self.lines if l[0] == "committed"]

    def kill(self):
        self.p.kill()
        self.p.wait()

    def quit(self):
        try:
            self.send("quit")
        except BrokenPipeError:
            pass
        self.p.wait(timeout=WAIT_S)


def blobs():
    return sorted(os.listdir(BLOBS)) if os.path.isdir(BLOBS) else []


def check_no_dangling(last_committed):
    """Every retained pointer names an intact blob; the last committed id is retained."""
    cm = job_cm()
    data = (cm or {}).get("data") or {}
    live = []
    for key, value in data.items():
        if not key.startswith("checkpointID-"):
            continue
        marked, uri, size, crc = decode_pointer(value)
        path = uri[len("file://"):]
        if not marked:
            live.append(int(key[len("checkpointID-"):]))
            if not os.path.exists(path):
                fail("dangling pointer: %s -> %s (missing)" % (key, uri))
            with open(path, "rb") as f:
                blob = f.read()
            if len(blob) != size or crc32c(blob) != crc:
                fail("pointer %s does not match its blob %s" % (key, uri))
    if last_committed is not None and not any(i >= last_committed for i in live):
        fail("checkpoint %d was reported committed but is not retained (retained: %s)"
             % (last_committed, live))
    return sorted(live)


def recover_and_compare(name):
    """A new leader recovers; `k8sha checkpoints --json` lists the same."""
    w = Worker(name)
    w.wait(lambda l: l[0] == "opened" and l[1] == "K8SHA_OK", name + " opened")
    w.send("recover")
    _, _ = w.wait(lambda l: l[0] == "recovered", name + " recovered")
    with w.cond:
        got = [(int(l[1]), l[2]) for l in w.lines if l[0] == "checkpoint"]
    w.quit()
    for cid, st in got:
        if st != "OK":
            fail("recovered checkpoint %d is %s" % (cid, st))
    out = subprocess.run([K8SHA, "checkpoints", JOB, "--json"] + CONF, capture_output=True,
                         text=True)
    if out.returncode != 0:
        fail("k8sha checkpoints failed: %s" % out.stderr)
    listed = [c["id"] for c in json.loads(out.stdout)["checkpoints"] if c["state"] == "retained"]
    if listed != [c for c, _ in got]:
        fail("k8sha checkpoints lists %s, the recovery returned %s" % (listed, [c for c, _ in got]))
    return listed


def referenced_blobs():
    cm = job_cm()
    refs = set()
    for key, value in ((cm or {}).get("data") or {}).items():
        if key.startswith("checkpointID-"):
            refs.add(os.path.basename(decode_pointer(value)[1]))
    return refs


def orphans_match():
    out = subprocess.run([K8SHA, "orphans", "--json"] + CONF, capture_output=True, text=True)
    if out.returncode != 0:
        fail("k8sha orphans failed: %s %s" % (out.stdout, out.stderr))
    found = {os.path.basename(f["name"]) for f in json.loads(out.stdout)["found"]
             if f["kind"] == "orphan-blob"}
    expect = set(blobs()) - referenced_blobs()
    if found != expect:
        fail("orphans reported %s, expected %s" % (sorted(found), sorted(expect)))
    return found


def held_update(code=None):
    rule = {"verbs": ["patch"], "resources": ["configmaps"], "name": CM, "latencyMs": 1500,
            "count": 1}
    if code:
        rule["code"] = code
    return fault(rule)


# ---- 1. crashes ----
print("1. crash between blob and pointer", flush=True)


def manual_worker(name):
    w = Worker(name)
    w.wait(lambda l: l[0] == "opened" and l[1] == "K8SHA_OK", name + " opened")
    return w


def add(w, cid):
    w.send("add %d" % cid)
    w.wait(lambda l: l[0] == "committed" and l[1] == str(cid), "commit of %d" % cid)


w = manual_worker("jm-1")
add(w, 1)
add(w, 2)
next_id = 3
# (held updates are kube-lite's fault injection, or the fault proxy's)
for variant in (() if EXTERNAL and not CONTROL else (None, 503)):
    # the server holds the next update of the job ConfigMap: the commit of this add
    before = set(blobs())
    rule_id = held_update(variant)
    w.send("add %d" % next_id)
    wait_fault_hit(rule_id)  # the pointer update has reached the server, which holds it
    if not (set(blobs()) - before):
        fail("an update was sent before its blob was durable")
    last = max(w.committed())
    w.kill()
    if variant is None:  # the held update lands after the crash
        deadline = time.monotonic() + WAIT_S
        while "checkpointID-%019d" % next_id not in ((job_cm() or {}).get("data") or {}):
            if time.monotonic() > deadline:
                fail("the held update never landed")
            time.sleep(0.05)
    clear_faults()
    live = check_no_dangling(last)
    print("  held update %s: retained %s, %d blob(s)" % ("landed" if variant is None else
                                                         "refused (503)", live, len(blobs())),
          flush=True)
    # (the crash came before the older checkpoint was subsumed: it is still retained, and the
    # next add removes it)
    if variant is None and next_id not in live:
        fail("the landed add %d is not retained: %s" % (next_id, live))
    if variant == 503 and next_id in live:
        fail("the refused add %d is retained: %s" % (next_id, live))
    recover_and_compare("jm-r%s" % (variant or 0))
    w = manual_worker("jm-next-%s" % (variant or 0))
    next_id += 1
    add(w, next_id)
    next_id += 1
# the automatic workers take ids from the counter, as a JobManager does: past the manual ones
w.send("counter %d" % next_id)
w.wait(lambda l: l[:2] == ["counter", "set"], "the counter set")
w.kill()
w = Worker("jm-auto", auto=True)
w.wait(lambda l: l[0] == "committed", "a commit of an automatic worker")

print("  random kills", flush=True)
rng = random.Random(1337)
for round_ in range(8):
    time.sleep(rng.uniform(0.0, 0.4))  # a kill at an arbitrary point of the add/remove cycle
    commits = w.committed()
    w.kill()
    last = max(commits) if commits else None
    check_no_dangling(last)
    w = Worker("jm-k%d" % round_, auto=True)
    w.wait(lambda l: l[0] == "committed", "a commit after kill %d" % round_)
w.kill()
check_no_dangling(max(w.committed()))
listed = recover_and_compare("jm-final")
orphans = orphans_match()
print("  retained %s, %d orphan blob(s) found" % (listed, len(orphans)), flush=True)
out = subprocess.run([K8SHA, "orphans", "--delete", "--json"] + CONF, capture_output=True, text=True)
if out.returncode != 0:
    fail("k8sha orphans --delete failed: %s %s" % (out.stdout, out.stderr))
# what is left is referenced (by a retained entry, or by a marked one whose removal the next add
# finishes), and every retained entry's blob is there
if not set(blobs()) <= referenced_blobs():
    fail("after orphans --delete, blobs %s are not all referenced (%s)" % (blobs(), referenced_blobs()))
check_no_dangling(None)


def count_of(verb, code):
    _, stats = api("GET", "/kube-lite/v1/stats")
    return sum(r["count"] for r in stats["requests"]
               if r["verb"] == verb and r["resource"] == "configmaps" and r["code"] == code)


# The race of an orphan scan with a dead writer's update still held in the API server: the scan
# deletes that add's blob (no pointer names it yet); it must make sure the update never lands
# afterwards (its claim of the ConfigMap with a new term turns the held update into a conflict).
if not EXTERNAL or CONTROL:
    print("  orphans --delete while a dead writer's pointer update is held", flush=True)
    nid = max(check_no_dangling(None)) + 1
    w = manual_worker("jm-held")
    before = set(blobs())
    conflicts = count_of("patch", 409)
    rule_id = fault({"verbs": ["patch"], "resources": ["configmaps"], "name": CM,
                     "latencyMs": 15000, "count": 1})
    w.send("add %d" % nid)
    wait_fault_hit(rule_id)
    held_blob = set(blobs()) - before
    if len(held_blob) != 1:
        fail("expected the held add's one blob, found %s" % sorted(held_blob))
    w.kill()
    out = subprocess.run([K8SHA, "orphans", "--delete", "--json"] + CONF, capture_output=True,
                         text=True, timeout=60)
    if out.returncode != 0:
        fail("k8sha orphans --delete failed: %s %s" % (out.stdout, out.stderr))
    deleted = {os.path.basename(f["name"]) for f in json.loads(out.stdout)["found"]
               if f["kind"] == "orphan-blob"}
    if not held_blob <= deleted or set(blobs()) & held_blob:
        fail("the held add's blob %s was not found and deleted as an orphan: %s" % (held_blob, out.stdout))
    # the held update reaches the store now: refused (409), never a pointer to the deleted blob
    deadline = time.monotonic() + WAIT_S
    while count_of("patch", 409) == conflicts:
        if "checkpointID-%019d" % nid in ((job_cm() or {}).get("data") or {}):
            fail("the held update landed after the scan deleted its blob: a dangling pointer")
        if time.monotonic() > deadline:
            fail("the held update was never answered")
        time.sleep(0.05)
    if "checkpointID-%019d" % nid in ((job_cm() or {}).get("data") or {}):
        fail("the held update landed after the scan deleted its blob: a dangling pointer")
    clear_faults()
    check_no_dangling(None)
    print("  held update refused after the scan claimed the ConfigMap; no dangling pointer",
          flush=True)

# ---- 2. a frozen leader ----
print("2. deposed leader", flush=True)
base = max(check_no_dangling(None)) + 1  # checkpoint ids keep growing, as a counter makes them
a = Worker("jm-a")
a.wait(lambda l: l[0] == "opened" and l[1] == "K8SHA_OK", "A opened")
a.send("add %d" % base)
a.wait(lambda l: l[0] == "committed" and l[1] == str(base), "A committed")
a.p.send_signal(signal.SIGSTOP)
b = Worker("jm-b")
b.wait(lambda l: l[0] == "opened" and l[1] == "K8SHA_OK", "B opened (after A's lease)")
b.send("add %d" % (base + 1))
b.wait(lambda l: l[0] == "committed" and l[1] == str(base + 1), "B committed")
before_cm = job_cm()["data"]
before_blobs = blobs()
a.p.send_signal(signal.SIGCONT)
a.send("add %d" % (base + 2))
_, res = a.wait(lambda l: l[0] in ("committed", "failed") and l[1] == str(base + 2), "A's answer")
if res[0] != "failed" or res[2] != "K8SHA_ENOTLEADER":
    fail("the resumed old leader was not refused: %s" % res)
if job_cm()["data"] != before_cm:
    fail("the refused add changed the job ConfigMap")
if blobs() != before_blobs:
    fail("the refused add left blobs: %s" % (set(blobs()) - set(before_blobs)))
print("  A refused: %s" % " ".join(res), flush=True)
a.quit()

# ---- 3. the CLI on this state ----
print("3. CLI", flush=True)
out = subprocess.run([K8SHA, "jobs", "--json"] + CONF, capture_output=True, text=True)
jobs = json.loads(out.stdout)
if len(jobs) != 1 or jobs[0]["job"] != JOB or jobs[0]["checkpoints"] != 1 or \
        jobs[0]["latestCheckpoint"] != base + 1:
    fail("k8sha jobs: %s" % out.stdout)
out = subprocess.run([K8SHA, "status", "--json"] + CONF, capture_output=True, text=True)
st = json.loads(out.stdout)
if st["jobs"][0]["checkpoints"] != 1 or not any(c["name"] == CM for c in st["configMaps"]):
    fail("k8sha status: %s" % out.stdout)
out = subprocess.run([K8SHA, "cleanup", "--job", JOB] + CONF, capture_output=True, text=True)
if out.returncode != 2 or "--yes" not in out.stderr:
    fail("cleanup without --yes or --dry-run must refuse: %s %s" % (out.returncode, out.stderr))
out = subprocess.run([K8SHA, "cleanup", "--job", JOB, "--yes"] + CONF, capture_output=True,
                     text=True)
if out.returncode == 0 or "leader is running" not in out.stderr:
    fail("cleanup while B leads must refuse: %s %s" % (out.returncode, out.stderr))
b.quit()  # B stops: frees its election without releasing; its lease runs out
out = subprocess.run([K8SHA, "cleanup", "--job", JOB, "--dry-run", "--json"] + CONF,
                     capture_output=True, text=True)
found = json.loads(out.stdout)["found"]
if not any(f["kind"] == "configmap" and f["name"] == CM for f in found) or job_cm() is None:
    fail("cleanup --dry-run: %s" % out.stdout)
out = subprocess.run([K8SHA, "cleanup", "--job", JOB, "--yes"] + CONF, capture_output=True,
                     text=True)
if out.returncode != 0 or job_cm() is not None or blobs():
    fail("cleanup --job: %s %s; blobs left %s" % (out.stdout, out.stderr, blobs()))
print("  cleaned up:\n" + out.stdout, flush=True)
if server:
    server.terminate()
    server.wait()
shutil.rmtree(tmp, ignore_errors=True)
print("PASS", flush=True)
