#!/usr/bin/env python3
"""k8sha on HA data written by Flink's own classes: the checked-in fixtures
(tests/fixtures/flink-<version>/, loaded into kube-lite with the blobs put back where Flink wrote
them), or with --live, data a Flink JobManager's HA services write into kube-lite during the test
(tests/flink/fixturegen.sh, Flink's jars from Maven). Then `checkpoints`, `jobs`, `orphans` and
`cleanup --dry-run` must show exactly what Flink's own reader saw, `orphans --delete` must delete
no blob a pointer references (live: Flink's reader then still recovers every checkpoint and job
graph), `cleanup --job` must delete that job's Flink blobs and nothing else, and `orphans` must
refuse to guess the HA folder when Flink's default one holds blobs and
high-availability.cluster-id is not set.
usage: flink-data.py K8SHA KUBE_LITE SOURCE_ROOT [--live]"""
import fcntl, json, os, shutil, subprocess, sys, tempfile, time, urllib.request

k8sha, kubelite, src = sys.argv[1:4]
LIVE = "--live" in sys.argv[4:]
FIXTUREGEN = os.path.join(src, "tests/flink/fixturegen.sh")
FIXTURE_ROOT = "/tmp/libk8sha-flink-fixture"  # where the generator let Flink write the blobs


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def run(args, want=0):
    p = subprocess.run([k8sha] + args, capture_output=True, text=True, timeout=120)
    if p.returncode != want:
        fail("k8sha %s exited %d (expected %d)\nstdout:\n%s\nstderr:\n%s"
             % (" ".join(args), p.returncode, want, p.stdout, p.stderr))
    return p


def blobs_under(root):
    out = set()
    for d, _, files in os.walk(root):
        for f in files:
            out.add(os.path.join(d, f))
    return out


def flink(mode, version, kc, store, cluster_id):
    """Flink's own HA services: write the data, or read it back as a JobManager recovers it."""
    p = subprocess.run([FIXTUREGEN, mode, version, kc, "flink", cluster_id, "file://" + store],
                       capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        fail("Flink %s %s failed (%d):\n%s\n%s" % (version, mode, p.returncode, p.stdout[-3000:],
                                                  p.stderr[-3000:]))
    return json.loads(p.stdout) if mode == "read" else None


def check_version(version, tmp):
    kc = os.path.join(tmp, "kc-" + version)
    kl = subprocess.Popen([kubelite, "--port", "0", "--namespace", "flink", "--write-kubeconfig", kc],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = kl.stdout.readline()
        if "listening on" not in line:
            fail("kube-lite did not start: %r" % line)
        url = line.split("listening on ")[1].split()[0]
        if LIVE:
            store = os.path.join(tmp, "ha-" + version)
            t0 = time.monotonic()
            flink("write", version, kc, store, "flink-live")
            exp = flink("read", version, kc, store, "flink-live")
            print("flink %s: HA data written and read back by Flink in %.1f s"
                  % (version, time.monotonic() - t0), flush=True)
            cms = []
        else:
            fix = os.path.join(src, "tests/fixtures/flink-" + version)
            exp = json.load(open(os.path.join(fix, "expected.json")))
            cms = json.load(open(os.path.join(fix, "configmaps.json")))
            store = os.path.join(FIXTURE_ROOT, "flink-" + version)
            shutil.rmtree(store, ignore_errors=True)
            shutil.copytree(os.path.join(fix, "storage"), store)
        for cm in cms:
            body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
                k: cm["metadata"][k] for k in ("name", "labels", "annotations") if k in cm["metadata"]},
                "data": cm.get("data", {})}
            req = urllib.request.Request(url + "/api/v1/namespaces/flink/configmaps",
                                         data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
            urllib.request.urlopen(req).read()
        if not exp.get("ok", True):
            fail("%s: Flink's own reader did not recover its data: %s" % (version, exp))
        before = blobs_under(store)
        conf = ["-D", "kubernetes.config.file=" + kc, "-D", "kubernetes.cluster-id=" + exp["clusterId"],
                "-D", "kubernetes.namespace=flink", "-D", "high-availability.type=kubernetes",
                "-D", "high-availability.storageDir=file://" + store,
                "-D", "high-availability.cluster-id=" + exp["clusterId"],
                "-D", "high-availability.kubernetes.leader-election.lease-duration=2 s",
                "-D", "high-availability.kubernetes.leader-election.renew-deadline=1500 ms",
                "-D", "high-availability.kubernetes.leader-election.retry-period=200 ms"]

        # checkpoints: every entry as Flink's reader saw it
        for job in exp["jobs"]:
            got = json.loads(run(["checkpoints", job["jobId"], "--json"] + conf).stdout)
            want = sorted(job["checkpoints"], key=lambda c: c["checkpointId"])
            if len(got["checkpoints"]) != len(want):
                fail("%s: %d checkpoints listed, Flink has %d" % (version, len(got["checkpoints"]), len(want)))
            for g, w in zip(got["checkpoints"], want):
                if (g["id"], g["uri"], g["size"], g["state"], g["pointer"]) != (
                        w["checkpointId"], w["path"], w["stateSize"],
                        "deleting" if w["markedForDeletion"] else "retained", "flink"):
                    fail("%s: checkpoint %s shown as %s, Flink wrote %s" % (version, w["key"], g, w))
            if got["nextCheckpointId"] != job["counter"]:
                fail("%s: counter %s, Flink wrote %s" % (version, got["nextCheckpointId"], job["counter"]))

        # jobs: both jobs, each with its job graph / execution plan
        jobs = json.loads(run(["jobs", "--json"] + conf).stdout)
        if sorted(j["job"] for j in jobs) != sorted(j["jobId"] for j in exp["jobs"]) or \
                not all(j["jobGraph"] for j in jobs):
            fail("%s: jobs shows %s" % (version, jobs))
        live = {j["jobId"]: sum(1 for c in j["checkpoints"] if not c["markedForDeletion"]) for j in exp["jobs"]}
        for j in jobs:
            if j["checkpoints"] != live[j["job"]]:
                fail("%s: job %s shows %d retained checkpoints, Flink has %d" % (version, j["job"], j["checkpoints"], live[j["job"]]))

        # orphans: nothing Flink references is an orphan, and --delete deletes none of it
        found = json.loads(run(["orphans", "--json"] + conf).stdout)["found"]
        if [f for f in found if f["kind"] == "orphan-blob"]:
            fail("%s: orphans lists referenced blobs: %s" % (version, found))
        run(["orphans", "--delete", "--json"] + conf)
        if blobs_under(store) != before:
            fail("%s: orphans --delete deleted %s" % (version, before - blobs_under(store)))
        if LIVE:  # Flink's JobManager still recovers everything (the scan claimed its ConfigMaps)
            again = flink("read", version, kc, store, "flink-live")

            def seen(r):  # what Flink recovers (annotations differ: the scan's claims are there)
                return ([(j["jobId"], j["checkpoints"], j["recovery"]) for j in r["jobs"]],
                        r["cluster"]["plans"], r["cluster"]["storeRecovery"])
            if seen(again) != seen(exp):
                fail("%s: after orphans --delete Flink recovers\n%s\nbefore it recovered\n%s"
                     % (version, json.dumps(seen(again))[:4000], json.dumps(seen(exp))[:4000]))

        # cleanup --job: the dry run names the job's Flink blobs; the real run deletes exactly them
        job = exp["jobs"][0]
        plan = [p for p in exp["cluster"]["plans"] if p["key"].endswith(job["jobId"])][0]
        paths = {c["path"] for c in job["checkpoints"]} | {plan["path"]}
        local = {p.replace("file:", "", 1) for p in paths}
        found = json.loads(run(["cleanup", "--job", job["jobId"], "--dry-run", "--json"] + conf).stdout)["found"]
        shown = {f["name"] for f in found if f["kind"] == "blob"}
        if shown != paths:
            fail("%s: cleanup --dry-run lists blobs %s, the job's are %s" % (version, shown, paths))
        run(["cleanup", "--job", job["jobId"], "--yes"] + conf)
        after = blobs_under(store)
        if after & local:
            fail("%s: cleanup left %s" % (version, after & local))
        if (before - after) != local:
            fail("%s: cleanup deleted %s, the job's blobs are %s" % (version, before - after, local))

        # high-availability.cluster-id not given, and Flink's default folder holds a blob: refuse
        os.makedirs(os.path.join(store, "default"), exist_ok=True)
        stray = os.path.join(store, "default", "completedCheckpoint0123456789ab")
        open(stray, "w").write("x")
        guess = []
        for i in range(0, len(conf), 2):
            if not conf[i + 1].startswith("high-availability.cluster-id"):
                guess += conf[i:i + 2]
        p = run(["orphans", "--delete"] + guess, want=1)
        if "is a guess" not in p.stderr:
            fail("%s: orphans without high-availability.cluster-id: %s" % (version, p.stderr))
        if not os.path.exists(stray) or blobs_under(store) != after | {stray}:
            fail("%s: the refused scan deleted something" % version)
        # cleanup --cluster: every HA ConfigMap and every HA blob goes; Flink's checkpoint data
        # (state.checkpoints.dir) and the blob beside the HA folder stay
        run(["cleanup", "--cluster", "--yes"] + conf)
        left = blobs_under(store)
        ha = {b for b in after if "/%s/" % exp["clusterId"] in b}
        if left & ha or left != (after - ha) | {stray}:
            fail("%s: cleanup --cluster left %s, deleted %s" % (version, left & ha, (after | {stray}) - left - ha))
        if json.loads(run(["jobs", "--json"] + conf).stdout):
            fail("%s: jobs remain after cleanup --cluster" % version)
        print("flink %s data: OK" % version)
    finally:
        kl.terminate()
        kl.wait()


tmp = tempfile.mkdtemp()
if not LIVE:  # the fixtures' blobs live at fixed paths: one such run on the machine at a time
    os.makedirs(FIXTURE_ROOT, exist_ok=True)
    lock = open(os.path.join(FIXTURE_ROOT, ".lock"), "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
try:
    for v in ("1.20.1", "2.3.0"):
        check_version(v, tmp)
finally:
    shutil.rmtree(tmp, ignore_errors=True)
    if not LIVE:
        for v in ("1.20.1", "2.3.0"):
            shutil.rmtree(os.path.join(FIXTURE_ROOT, "flink-" + v), ignore_errors=True)
