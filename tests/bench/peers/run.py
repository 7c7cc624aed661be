"""libk8sha and its peers side by side, in one run (started by tests/bench/peers/run, which
provides matplotlib). A benchmark, not a test: it exits 1 only when it could not measure.

    tests/bench/peers/run [--build DIR] [--runs N (20)] [--idle-seconds S (20)]
        [--commits N (500)] [--retained N (1)] [--quick] [--defaults] [--real-kube] [--doc PATH]

1. Leader election (tests/bench/election_bench.py --impl all): libk8sha (`k8sha elect`), Flink
   1.20's own (tests/bench/peers/flink), the Python client, client-go with a LeaseLock
   (tests/bench/peers/clientgo); lease 2 s / renew 1.5 s / retry 0.5 s, each on the same
   kube-lite: crash failover, clean handover, idle requests, CPU and RSS. With --defaults also
   each at its own defaults (minutes per series: a failover waits a whole lease).
2. The checkpoint store: libk8sha's (tests/bench/commit_bench, Lease lock, so the ConfigMap
   requests are the store's) and Flink's KubernetesStateHandleStore with its completed-
   checkpoint store and counter (FlinkStoreBench): a commit is a counter increment plus an add
   that subsumes the oldest beyond num-retained; API requests per commit, commit latency,
   ConfigMap bytes per retained checkpoint.
3. libk8sha alone: the CPU a commit costs (tests/bench/commit_cost) and 1, 100 and 1,000 jobs
   recovered after a failover in one process (tests/bench/jobs_bench).

Prints every table, and writes them with charts into --doc (default docs/benchmarks.md; the
charts and the raw JSON beside it, in docs/benchmarks/).

With --real-kube, 1 and 2 run against the real kube-apiserver instead (tests/realkube: etcd and
kube-apiserver on loopback with RBAC, every contender as the service account bound to the Role of
docs/operations.md), through kube-lite as a proxy (--upstream), which forwards each request as it
came and counts requests as it does for its own store; 3 stays on kube-lite (those programs start their own). The
document is then docs/benchmarks-realkube.md, its charts and JSON in docs/benchmarks-realkube/.
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
REPO = os.path.dirname(os.path.dirname(BENCH))
sys.path.insert(0, BENCH)
sys.dont_write_bytecode = True
import election_bench as eb  # noqa: E402  (its percentiles and labels)

JOB = "b0b1b2b3b4b5b6b7b8b9babbbcbdbebf"  # commit_bench's job
# Each peer's own defaults (lease, renew deadline, retry period), s: Flink's configuration
# defaults (libk8sha takes Flink's keys); for the Python client (no defaults of its own) and
# client-go, the leader-election defaults of Kubernetes' own components (15 / 10 / 2).
DEFAULTS = {"libk8sha": (15, 15, 5), "flink": (15, 15, 5), "python": (15, 10, 2),
            "clientgo": (15, 10, 2)}
ORDER = ["libk8sha", "flink", "python", "clientgo"]
LABELS = {"libk8sha": "libk8sha", "flink": "Flink 1.20", "python": "Python client",
          "clientgo": "client-go (Lease)"}


def say(msg):
    print(msg, flush=True)


def run(argv, **kw):
    say("$ " + " ".join(argv))
    return subprocess.run(argv, check=True, **kw)


def section_time(name, t0):
    say("== %s: %.0f s" % (name, time.monotonic() - t0))


# ---------------------------------------------------------------- election

def election(a, work, timing, impls, tag, runs):
    out = os.path.join(work, "election-%s.json" % tag)
    if a.reuse:
        # (the measurements of an earlier run, kept beside the document)
        shutil.copy(os.path.join(a.reuse, os.path.basename(out)), out)
        say("reusing %s" % os.path.join(a.reuse, os.path.basename(out)))
        with open(out) as f:
            return json.load(f)
    lease, renew, retry = timing
    run(["/usr/bin/python3", os.path.join(BENCH, "election_bench.py"), "--build", a.build,
         "--impl", ",".join(impls), "--runs", str(runs), "--idle-seconds", str(a.idle_seconds),
         "--lease", str(lease), "--renew", str(renew), "--retry", str(retry), "--json", out]
        + (["--flink-target", a.flink_target] if a.flink_target else [])
        + (["--server-kubeconfig", a.server.kubeconfig, "--server-control", a.server.control_url]
           if a.server else []))
    with open(out) as f:
        return json.load(f)


def p50_p99(xs):
    return eb.pct(xs, 50), eb.pct(xs, 99)


def election_rows(res):
    """{impl: {metric: value}} from election_bench's JSON."""
    rows = {}
    for k, r in res["results"].items():
        fo, ho, idle = r["failover"], r["handover"], r["idle"]
        rel = [x["release_after_signal"] for x in ho if x.get("release_after_signal") is not None]
        rows[k] = {
            "failover_kill": p50_p99([x["from_signal"] for x in fo]),
            "failover_renew": p50_p99([x["from_renew"] for x in fo]),
            "handover": p50_p99([x["from_signal"] for x in ho]),
            "release": p50_p99(rel) if rel else None,
            "idle_leader": idle["leader"], "idle_follower": idle["follower"],
            "leader_cpu": idle["leader_cpu_pct"], "leader_rss": idle["leader_rss_mib"],
            "follower_cpu": idle["follower_cpu_pct"], "follower_rss": idle["follower_rss_mib"],
            "runs": len(fo),
        }
    return rows


def pair(v, unit=""):
    return "n/a" if v is None or v[0] is None else "%.0f / %.0f%s" % (v[0], v[1], unit)


def election_table(rows, impls, timing):
    head = "| lease %g s / renew %g s / retry %g s | %s |" % (
        timing[0], timing[1], timing[2], " | ".join(LABELS[k] for k in impls))
    lines = [head, "|---" * (len(impls) + 1) + "|"]

    def row(label, fn):
        lines.append("| %s | %s |" % (label, " | ".join(fn(rows[k]) for k in impls)))
    row("crash failover: granted − kill, p50 / p99 ms", lambda r: pair(r["failover_kill"]))
    row("crash failover: granted − dead leader's last renew, p50 / p99 ms",
        lambda r: pair(r["failover_renew"]))
    row("clean handover: granted − SIGTERM, p50 / p99 ms", lambda r: pair(r["handover"]))
    row("release written − SIGTERM, p50 / p99 ms",
        lambda r: pair(r["release"]) if r["release"] else "no release")
    row("idle leader, API requests/s", lambda r: "%.2f" % r["idle_leader"])
    row("idle follower, API requests/s", lambda r: "%.2f" % r["idle_follower"])
    row("idle leader: CPU % of a core / RSS MiB",
        lambda r: "%.2f / %.0f" % (r["leader_cpu"], r["leader_rss"]))
    row("idle follower: CPU % of a core / RSS MiB",
        lambda r: "%.2f / %.0f" % (r["follower_cpu"], r["follower_rss"]))
    row("runs per series", lambda r: "%d" % r["runs"])
    return "\n".join(lines)


# ---------------------------------------------------------------- stores

class KubeLite:
    def __init__(self, binary, work):
        self.out = open(os.path.join(work, "kube-lite.out"), "w+")
        self.kubeconfig = os.path.join(work, "kubeconfig")
        self.p = subprocess.Popen([binary, "--host", "127.0.0.1", "--port", "0", "--namespace",
                                   "flink", "--write-kubeconfig", self.kubeconfig],
                                  stdout=self.out, stderr=subprocess.STDOUT,
                                  start_new_session=True)
        deadline = time.monotonic() + 30
        self.url = None
        while time.monotonic() < deadline and self.url is None:
            self.out.seek(0)
            for line in self.out:
                if "listening on" in line:
                    self.url = line.split("listening on", 1)[1].split()[0].rstrip(",")
            if self.p.poll() is not None:
                break
            time.sleep(0.05)  # (polling its log for the one line that says it listens)
        if not self.url:
            raise SystemExit("kube-lite did not start; see %s" % self.out.name)
        if not self.url.startswith("http"):
            self.url = "http://" + self.url

    def req(self, method, path):
        r = urllib.request.Request(self.url + path, method=method,
                                   headers={"Authorization": "Bearer kube-lite-admin"})
        with urllib.request.urlopen(r, timeout=30) as f:
            body = f.read()
        return json.loads(body) if body else None

    def count(self, resource):
        st = self.req("GET", "/kube-lite/v1/stats")
        return sum(r["count"] for r in st.get("requests", []) if r["resource"] == resource)

    def data_bytes(self, name):
        cm = self.req("GET", "/api/v1/namespaces/flink/configmaps/" + name)
        data = cm.get("data") or {}
        ids = [k for k in data if k.startswith("checkpointID-")]
        return sum(len(k) + len(v) for k, v in data.items()), len(ids)

    stats_url = property(lambda self: self.url + "/kube-lite/v1/stats")

    def stop(self):
        self.p.terminate()
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()


class RealKube:
    """The real kube-apiserver (tests/realkube/cluster.sh) behind kube-lite as a proxy
    (--upstream), which counts requests by verb and resource (at its control URL)."""

    def __init__(self, work, kube_lite):
        rk = os.path.join(REPO, "tests", "realkube")
        self.work = os.path.join(work, "realkube")
        os.makedirs(self.work)
        binaries = run(["bash", os.path.join(rk, "build.sh")], stdout=subprocess.PIPE,
                       text=True).stdout.strip().splitlines()[-1]
        run(["bash", os.path.join(rk, "cluster.sh"), "start", binaries, self.work])
        self.started = True
        env = {}
        with open(os.path.join(self.work, "env")) as f:
            for line in f:
                k, _, v = line.strip().partition("=")
                env[k] = v.strip('"')
        self.out = open(os.path.join(self.work, "proxy.out"), "w+")
        self.p = subprocess.Popen([kube_lite, "--port", "0", "--upstream", env["APISERVER_URL"],
                                   "--upstream-ca", env["APISERVER_CA"]], stdout=self.out,
                                  stderr=open(os.path.join(self.work, "proxy.err"), "w"),
                                  start_new_session=True)
        deadline = time.monotonic() + 30
        self.url = None
        while time.monotonic() < deadline and not self.url and self.p.poll() is None:
            self.out.seek(0)
            for line in self.out:
                if line.startswith("kube-lite listening on "):
                    w = line.split()
                    self.url, self.control_url = w[3], w[5]
            time.sleep(0.05)  # (polling its output for the one line that says it listens)
        if not self.url:
            raise SystemExit("kube-lite as a proxy did not start; see %s" % self.work)
        # The contenders' kubeconfig: the service account of docs/operations.md, via the proxy.
        self.kubeconfig = os.path.join(self.work, "proxy.kubeconfig")
        self.token = None
        with open(os.path.join(self.work, "user.kubeconfig")) as f, \
                open(self.kubeconfig, "w") as out:
            for line in f:
                key = line.strip().split(":", 1)[0]
                if key == "certificate-authority":
                    continue
                if key == "server":
                    line = line.split("server:")[0] + "server: %s\n" % self.url
                if key == "token":
                    self.token = line.split(":", 1)[1].strip().strip('"')
                out.write(line)
        say("the real kube-apiserver %s behind kube-lite as a proxy %s (control %s)"
            % (env["APISERVER_URL"], self.url, self.control_url))

    def req(self, method, path):
        r = urllib.request.Request(self.url + path, method=method,
                                   headers={"Authorization": "Bearer %s" % self.token})
        with urllib.request.urlopen(r, timeout=30) as f:
            body = f.read()
        return json.loads(body) if body else None

    def count(self, resource):
        with urllib.request.urlopen(self.control_url + "/kube-lite/v1/stats", timeout=30) as f:
            st = json.loads(f.read())
        return sum(r["count"] for r in st.get("requests", []) if r["resource"] == resource)

    stats_url = property(lambda self: self.control_url + "/kube-lite/v1/stats")
    data_bytes = KubeLite.data_bytes

    def stop(self):
        if getattr(self, "p", None):
            self.p.terminate()
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
        if getattr(self, "started", False):
            run(["bash", os.path.join(REPO, "tests", "realkube", "cluster.sh"), "stop", self.work])
            self.started = False


def json_line(text):
    for line in text.splitlines():
        if line.startswith("JSON "):
            return json.loads(line[5:])
    raise SystemExit("no JSON line in:\n" + text[-2000:])


def stores(a, work):
    kl = a.server or KubeLite(os.path.join(a.build, "tools", "kube-lite", "k8sha-kube-lite"), work)
    out = {}
    try:
        # libk8sha: counter + add in k8sha_checkpoint_commit, the job's pointers in its ConfigMap
        conf = os.path.join(work, "libk8sha.yaml")
        with open(conf, "w") as f:
            f.write("kubernetes.config.file: %s\nkubernetes.cluster-id: store-c\n"
                    "kubernetes.namespace: flink\nhigh-availability.type: kubernetes\n"
                    "high-availability.storageDir: file://%s/ha\n"
                    "execution.checkpointing.num-retained: %d\n"
                    % (kl.kubeconfig, work, a.retained))
        c0 = kl.count("configmaps")
        p = run([os.path.join(a.build, "tests", "bench", "commit_bench"), conf, str(a.commits),
                 "--lease-lock"], stdout=subprocess.PIPE, text=True)
        say(p.stdout.strip())
        r = json_line(p.stdout)
        n = r["commits"] + r["warmup"]
        size, ids = kl.data_bytes("store-c-%s-config-map" % JOB)
        out["libk8sha"] = {"requests_per_commit": (kl.count("configmaps") - c0) / n,
                           "commit_ms_p50": r["commit_ms_p50"], "commit_ms_p99": r["commit_ms_p99"],
                           "cpu_ms_per_commit": r["cpu_ms_per_commit"],
                           "bytes_per_retained": size / ids if ids else None, "retained": ids}
        # Flink 1.20: KubernetesStateHandleStore + DefaultCompletedCheckpointStore +
        # KubernetesCheckpointIDCounter
        argv = ["bash", os.path.join(HERE, "flink", "run.sh")] + (
            ["--target", a.flink_target] if a.flink_target else []) + [
            "store", "--kubeconfig", kl.kubeconfig, "--namespace", "flink", "--cluster-id",
            "store-f", "--storage", os.path.join(work, "flink-ha"), "--commits", str(a.commits),
            "--retained", str(a.retained), "--state-bytes", "512",
            "--stats-url", kl.stats_url]
        p = run(argv, stdout=subprocess.PIPE, text=True)
        say(p.stdout.strip())
        f = json_line(p.stdout)
        out["flink"] = {"requests_per_commit": f["requests_per_commit"],
                        "counter_requests": f["counter_requests_per_increment"],
                        "commit_ms_p50": f["commit_ms_p50"], "commit_ms_p99": f["commit_ms_p99"],
                        "cpu_ms_per_commit": f["cpu_ms_per_commit"],
                        "bytes_per_retained": f["config_map_bytes_per_retained"],
                        "retained": f["retained_after_run"]}
    finally:
        if kl is not a.server:
            kl.stop()
    return out


def store_table(s, a):
    k = [x for x in ("libk8sha", "flink") if x in s]
    lines = ["| %d commits, num-retained %d, 512-byte states | %s |" % (
        a.commits, a.retained, " | ".join(LABELS[x] for x in k)), "|---" * (len(k) + 1) + "|"]

    def row(label, fn):
        lines.append("| %s | %s |" % (label, " | ".join(fn(s[x]) for x in k)))
    row("API requests per commit (counter increment + add + subsumed checkpoint removed)",
        lambda r: "%.2f" % r["requests_per_commit"])
    row("commit latency p50 / p99, ms",
        lambda r: "%.2f / %.2f" % (r["commit_ms_p50"], r["commit_ms_p99"]))
    row("client CPU per commit, ms", lambda r: "%.2f" % r["cpu_ms_per_commit"])
    row("ConfigMap bytes per retained checkpoint",
        lambda r: "%.0f" % r["bytes_per_retained"] if r["bytes_per_retained"] else "n/a")
    return "\n".join(lines)


# ---------------------------------------------------------------- libk8sha alone

def table_of(text):
    return "\n".join(line for line in text.splitlines() if line.startswith("|"))


def alone(a):
    b = os.path.join(a.build, "tests", "bench")
    p = run([os.path.join(b, "commit_cost"), str(a.cost_commits)], stdout=subprocess.PIPE,
            text=True)
    cost = table_of(p.stdout)
    say(cost)
    p = run([os.path.join(b, "jobs_bench"), "1", "100", "1000", "--window",
             str(a.idle_seconds)], stdout=subprocess.PIPE, text=True)
    jobs = table_of(p.stdout)
    said = [line.strip() for line in p.stdout.splitlines() if line.startswith("  ") and "per job" in line]
    if said:
        jobs += "\n\nThe recovery's requests per job, from the leader's own counters: " + "; ".join(said) + "."
    say(jobs)
    return cost, jobs


# ---------------------------------------------------------------- charts and the document

def charts(rows, s, outdir):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    os.makedirs(outdir, exist_ok=True)
    impls = [k for k in ORDER if k in rows]
    names = [LABELS[k] for k in impls]
    fig, ax = plt.subplots(1, 3, figsize=(14, 4.2))
    for i, (key, title) in enumerate([("failover_renew", "crash failover\n(granted − last renew)"),
                                      ("handover", "clean handover\n(granted − SIGTERM)")]):
        p50 = [rows[k][key][0] or 0 for k in impls]
        p99 = [rows[k][key][1] or 0 for k in impls]
        ax[i].bar(names, p50, color="#4c72b0", label="p50")
        ax[i].scatter(names, p99, color="#c44e52", zorder=3, label="p99")
        ax[i].set_title(title)
        ax[i].set_ylabel("ms")
        ax[i].tick_params(axis="x", labelrotation=20)
        ax[i].legend()
    w = 0.38
    xs = range(len(impls))
    ax[2].bar([x - w / 2 for x in xs], [rows[k]["idle_leader"] for k in impls], w,
              label="idle leader", color="#4c72b0")
    ax[2].bar([x + w / 2 for x in xs], [rows[k]["idle_follower"] for k in impls], w,
              label="idle follower", color="#dd8452")
    ax[2].set_xticks(list(xs))
    ax[2].set_xticklabels(names, rotation=20)
    ax[2].set_title("API requests/s, idle")
    ax[2].legend()
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "election.png"), dpi=90)
    plt.close(fig)
    if s:
        k = [x for x in ("libk8sha", "flink") if x in s]
        fig, ax = plt.subplots(1, 3, figsize=(12, 3.8))
        for i, (key, title) in enumerate([("requests_per_commit", "API requests per commit"),
                                          ("commit_ms_p50", "commit latency p50, ms"),
                                          ("bytes_per_retained",
                                           "ConfigMap bytes per retained checkpoint")]):
            ax[i].bar([LABELS[x] for x in k], [s[x][key] or 0 for x in k],
                      color=["#4c72b0", "#c44e52"][:len(k)])
            ax[i].set_title(title)
        fig.tight_layout()
        fig.savefig(os.path.join(outdir, "store.png"), dpi=90)
        plt.close(fig)


def machine():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return "%d cores (%s), %s, Linux %s" % (os.cpu_count() or 0, cpu, platform.machine(),
                                            platform.release())


def document(a, el, el_def, s, cost, jobs, path):
    rel = os.path.splitext(os.path.basename(path))[0]
    server = ("the real kube-apiserver (tests/realkube: etcd and kube-apiserver %s on loopback "
              "with RBAC, every contender as the service account bound to the Role of "
              "[operations.md](operations.md)), through kube-lite as a proxy (`--upstream`), "
              "which forwards each request as it came and counts them" % a.server_version
              if a.server else "`k8sha-kube-lite` on loopback")
    t = ["# Benchmarks: libk8sha beside its peers" + (", on the real kube-apiserver"
                                                      if a.server else ""), "",
         "Written by `tests/bench/peers/run%s` (%s, %s); every figure below was measured "
         "on %s, against %s. Rerun it to measure your machine; the "
         "raw results are in [%s/](%s/)."
         % (" --real-kube" if a.server else "", datetime.date.today().isoformat(),
            "quick" if a.quick else "%d runs per series" % a.runs, machine(), server, rel, rel),
         ""] + (["The election figures are from an earlier run's measurements, kept in %s/ "
                 "(`--reuse`); the rest were measured anew." % rel, ""] if a.reuse else []) + (
                ["The same run against kube-lite, with the library's own CPU per commit and a "
                 "thousand jobs: [benchmarks.md](benchmarks.md).", ""] if a.server else []) + [
         "## Leader election", "",
         "Four implementations, each only against contenders of its own kind (three of them, "
         "one lock per run): libk8sha (`k8sha elect`, the ConfigMap lock), Flink 1.20.1's own "
         "(`DefaultLeaderElectionService` over `KubernetesLeaderElectionDriver`, "
         "tests/bench/peers/flink), the Python client 22.6 (`ConfigMapLock`) and client-go "
         "v0.37.2 (`LeaseLock`, `ReleaseOnCancel`, tests/bench/peers/clientgo). Method: "
         "[election-benchmark.md](election-benchmark.md). Failover is measured from the kill "
         "and from the dead leader's last renewal as the server saw it; handover from the "
         "SIGTERM; idle rates over %g s windows." % a.idle_seconds, "",
         election_table(el[0], el[1], el[2]), "",
         "![election](%s/election.png)" % rel, "",
         "What the figures come from (observed in these runs; details in "
         "[election-benchmark.md](election-benchmark.md) and tests/bench/peers/flink/README.md):",
         "",
         "- A dead leader costs every implementation a lease. libk8sha's followers take the lock "
         "at the lease's end on their own monotonic clock, from a watch; the others poll the lock "
         "every retry period (with jitter), so they land up to a poll later. client-go's followers compare the "
         "record's JSON, whose `renewTime` has whole seconds, so they can also land early.",
         "- On SIGTERM libk8sha releases the lock and a follower is granted from the watch within "
         "milliseconds. client-go releases it (`ReleaseOnCancel`) and a follower takes it at its "
         "next poll. The Python client cannot release. Flink 1.20 releases it and then, in most "
         "runs, takes it straight back (its driver's `notLeader()` restarts the elector while it "
         "shuts down), so the handover is a lease.",
         "- Idle cost: a libk8sha follower sends nothing (the watch); the others read the lock every "
         "retry period. Flink's leader renews with a GET and a PATCH.",
         ""]
    if el_def:
        t += ["### Each at its own defaults", "",
              "Each implementation with its own default durations (lease / renew deadline / "
              "retry period: Flink's configuration defaults, which libk8sha takes too, and for the "
              "Python client, which has none, and client-go, 15 / 10 / 2 s, the defaults "
              "Kubernetes' own controller manager and scheduler elect with), %d runs per "
              "series:" % a.defaults_runs, ""]
    for rows, impls, timing in el_def:
        t += [election_table(rows, impls, timing), ""]
    if s:
        t += ["## Checkpoint store", "",
              "A commit as a JobManager makes it: the checkpoint id taken from the counter, then "
              "the checkpoint added and the oldest beyond num-retained subsumed. libk8sha: "
              "`k8sha_checkpoint_commit` (tests/bench/commit_bench, Lease lock, so every "
              "ConfigMap request counted is the store's). Flink 1.20.1: "
              "`KubernetesCheckpointIDCounter.getAndIncrement` then "
              "`DefaultCompletedCheckpointStore.addCheckpointAndSubsumeOldestOne` over "
              "`KubernetesStateHandleStore`, as `KubernetesCheckpointRecoveryFactory` builds "
              "them (FlinkStoreBench; its leader's own renewals subtracted). Requests are "
              "the server's counts; CPU is each process's own.", "",
              store_table(s, a), "", "![store](%s/store.png)" % rel, "",
              "Flink's add reads the ConfigMap and writes it whole, and subsuming the oldest "
              "checkpoint marks it and removes it in two more read-and-write pairs; its counter "
              "is a read and a write. libk8sha's add is one merge patch that also marks the "
              "subsumed checkpoint (its key is dropped by the next add), and the counter one "
              "more. With more retained checkpoints Flink's writes grow by about 1 KB each; past "
              "8 KiB, Flink's HTTP client (OkHttp 3 inside its fabric8 client) sends the body in "
              "two writes without TCP_NODELAY, and each write then waits about 40 ms for the "
              "server's delayed ACK (seen against kube-lite on loopback).", ""]
    if cost is None:
        t += ["The library's own CPU per commit and a thousand jobs are measured against "
              "kube-lite only: [benchmarks.md](benchmarks.md).", ""]
    else:
        t += ["## libk8sha: the CPU of a commit", "",
          "`tests/bench/commit_cost`: `k8sha_checkpoint_add` (one ConfigMap write), this "
          "process's CPU per commit; `null` is a storage backend that keeps nothing (what "
          "remains is the library with jansson, libcurl and the kernel's loopback), `file` "
          "adds the file backend's writes and fsyncs.", "", cost, "",
          "## libk8sha: a thousand jobs", "",
          "`tests/bench/jobs_bench`: after a clean failover, the new leader opens every job's "
          "store (claiming its ConfigMap) and recovers its latest checkpoint, all at once; then "
          "one leader retriever per job in a second context, and a quiet window. With the Lease "
          "lock the retrievers' context watches the addresses ConfigMap, which renewals do not "
          "touch; its watch events include the BOOKMARK the server sends each watch about once "
          "a minute, so a window may hold one. A retriever callback is a retriever told of a "
          "change.", "", jobs, ""]
    with open(path, "w") as f:
        f.write("\n".join(t))
    say("wrote %s" % path)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(REPO, "build"),
                    help="meson build folder (kube-lite, k8sha, the bench programs)")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--idle-seconds", type=float, default=20)
    ap.add_argument("--commits", type=int, default=500)
    ap.add_argument("--retained", type=int, default=1)
    ap.add_argument("--cost-commits", type=int, default=3000)
    ap.add_argument("--quick", action="store_true",
                    help="3 runs, 5 s windows, 100 commits: to see that it all works")
    ap.add_argument("--defaults", action="store_true",
                    help="also each implementation at its own defaults (long)")
    ap.add_argument("--defaults-runs", type=int, help="runs per series at the defaults "
                    "(default: --runs; a failover there waits out a 15 s lease)")
    ap.add_argument("--reuse", metavar="DIR",
                    help="take the election measurements from an earlier run's JSON in DIR "
                         "(docs/benchmarks) and measure the rest again")
    ap.add_argument("--flink-target", help="build folder of the Flink peers (run.sh --target)")
    ap.add_argument("--real-kube", action="store_true",
                    help="the election and the stores against the real kube-apiserver "
                         "(tests/realkube; builds its binaries once, about 6 minutes, cached)")
    ap.add_argument("--doc", help="default docs/benchmarks.md (--real-kube: "
                                  "docs/benchmarks-realkube.md)")
    a = ap.parse_args()
    a.doc = a.doc or os.path.join(REPO, "docs", "benchmarks-realkube.md" if a.real_kube
                                  else "benchmarks.md")
    a.build = os.path.abspath(a.build)
    a.defaults_runs = a.defaults_runs or a.runs
    if a.reuse:
        a.reuse = os.path.abspath(a.reuse)
        with open(os.path.join(a.reuse, "election-lease-2s.json")) as f:
            a.runs = json.load(f)["runs"]
        d = [n for n in os.listdir(a.reuse) if n.startswith("election-defaults-")]
        if d:
            a.defaults = True
            with open(os.path.join(a.reuse, d[0])) as f:
                a.defaults_runs = json.load(f)["runs"]
    if a.quick:
        a.runs, a.idle_seconds, a.commits, a.cost_commits = 3, 5, 100, 500
    work = tempfile.mkdtemp(prefix="peers-bench-")
    outdir = os.path.splitext(os.path.abspath(a.doc))[0]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    t0 = time.monotonic()
    a.server = None
    try:
        measure(a, work, outdir, t0)
    finally:
        if a.server:
            a.server.stop()
    shutil.rmtree(work, ignore_errors=True)


def measure(a, work, outdir, t0):
    if a.real_kube:
        a.server = RealKube(work, os.path.join(a.build, "tools", "kube-lite", "k8sha-kube-lite"))
        v = a.server.req("GET", "/version") or {}
        a.server_version = v.get("gitVersion", "")
        section_time("the real kube-apiserver started", t0)
    timing = (2, 1.5, 0.5)
    res = election(a, work, timing, ORDER, "lease-2s", a.runs)
    rows = election_rows(res)
    el = (rows, [k for k in ORDER if k in rows], timing)
    section_time("election at lease 2 s", t0)
    el_def = []
    if a.defaults:
        for k in ORDER:
            t1 = time.monotonic()
            r = election(a, work, DEFAULTS[k], [k], "defaults-" + k, a.defaults_runs)
            el_def.append((election_rows(r), [k], DEFAULTS[k]))
            section_time("election, %s at its defaults" % k, t1)
    t1 = time.monotonic()
    s = stores(a, work)
    section_time("checkpoint stores", t1)
    cost = jobs = None
    if not a.server:
        t1 = time.monotonic()
        cost, jobs = alone(a)
        section_time("commit cost and jobs", t1)
    say("")
    say(election_table(*el))
    for e in el_def:
        say("")
        say(election_table(*e))
    say("")
    say(store_table(s, a))
    os.makedirs(outdir, exist_ok=True)
    for name in os.listdir(work):
        if name.endswith(".json"):
            shutil.copy(os.path.join(work, name), outdir)
    with open(os.path.join(outdir, "store.json"), "w") as f:
        json.dump(s, f, indent=1)
    charts(rows, s, outdir)
    document(a, el, el_def, s, cost, jobs, os.path.abspath(a.doc))
    section_time("all", t0)


if __name__ == "__main__":
    main()
