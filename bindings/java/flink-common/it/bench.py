#!/usr/bin/env python3
"""Failover of real Flink processes: Flink's own Kubernetes HA and libk8sha, side by side.

For each HA (Flink's `kubernetes`, libk8sha's factory), on a fresh kube-lite, with the same job,
the same durations and the same processes as run.py (two JobManagers, one TaskManager):

  kill -9 the leader, N times:  seconds to the job RUNNING again, to its first new checkpoint
  SIGTERM the leader, N times:  the same
  the API server away for longer than the lease, M times: how long two JobManagers led at once
                                (from each one's DefaultLeaderElectionService, Flink's own lines
                                for both HAs), and restores older than a checkpoint reported
                                completed (a completed checkpoint lost)
  API requests per second while the job runs, and per completed checkpoint (kube-lite's counts)
  API requests per second from the idle cluster (JobManagers and TaskManager up, no job)
  num-retained R (RetainedBench, in one process before the cluster starts): the job ConfigMap's
                                data bytes and the add's time as retained checkpoints grow to R,
                                or the add that failed and why (a ConfigMap holds at most 1 MiB)

Prints one table; with --json FILE also writes the figures, with --png FILE draws them (needs
matplotlib: bench.sh runs this script with it).

  bench.py --classpath FILE --adapter JAR --job JAR --kube-lite BIN --work DIR [--line 1.20|2.3]
           [--kills N] [--terms N] [--outages M] [--lease S --renew S --retry S]
           [--idle SECONDS] [--retained R] [--json FILE] [--png FILE]
  bench.py --replot JSON --png FILE       (the chart of an earlier run's figures)
"""

import argparse
import json
import os
import re
import signal
import sys
import time
import urllib.request

import run as R

GRANT = r"Granting leadership to the contender registered under component 'resourcemanager'"
REVOKE = r"Revoking leadership (to|for) component 'resourcemanager'"


def pct(values, q):
    v = sorted(values)
    if not v:
        return float("nan")
    k = (len(v) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def stats(url):
    with urllib.request.urlopen(url + "/kube-lite/v1/stats", timeout=30) as r:
        return json.loads(r.read())


def reset_stats(url):
    req = urllib.request.Request(url + "/kube-lite/v1/stats/reset", data=b"{}", method="POST")
    urllib.request.urlopen(req, timeout=30).read()


def leaderships(c):
    """Every JobManager's leadership intervals, from Flink's own grant and revoke lines."""
    out = []
    for name in c.jms:
        start = None
        for line in c.logs[name].lines():
            t = R.stamp(line)
            if t is None:
                continue
            if " ==== " in line and line.endswith(" started"):
                if start is not None:
                    out.append((start, c.ends.get((name, start), t), name))
                start = None
            elif re.search(GRANT, line):
                start = t
            elif re.search(REVOKE, line) and start is not None:
                out.append((start, min(t, c.ends.get((name, start), t)), name))
                start = None
        if start is not None:
            out.append((start, time.time(), name))
    return sorted(out)


def overlap_seconds(iv, since):
    """Seconds during which two different JobManagers both led, after `since`."""
    total = 0.0
    for i, (s1, e1, n1) in enumerate(iv):
        for s2, e2, n2 in iv[i + 1:]:
            if n1 != n2:
                lo, hi = max(s1, s2, since), min(e1, e2)
                if hi > lo:
                    total += hi - lo
    return total


def died(c):
    """The JobManagers whose process ended by itself (a fatal error), restarted as standbys."""
    out = []
    for name in c.jms:
        p = c.procs[name]
        if p.poll() is not None:
            out.append("%s (exit %d)" % (name, p.returncode))
            t = time.time()
            c.start_jm(name)
            c.logs[name].wait(c.follow_rx, t, name + " following again", c.procs[name])
    return out


def running_again(c, job, after):
    """Waits until the job runs and completes a checkpoint under a leadership begun after
    `after` on a JobManager still alive: (name, restored id, restore stamp), or None when a
    JobManager died meanwhile."""
    deadline = time.monotonic() + R.BOUND
    while time.monotonic() < deadline:
        for name in c.jms:
            if c.procs[name].poll() is not None:
                return None
            grants = [t for _, t in c.logs[name].all(GRANT) if t and t >= after]
            if not grants:
                continue
            got = [(int(x.group(1)), t) for x, t in c.logs[name].all(
                r"Restoring job " + job + r" from Checkpoint (\d+)") if t and t >= grants[0]]
            if got and R.completed(c.logs[name], job, got[0][1]):
                return name, got[0][0], got[0][1]
        time.sleep(0.05)  # (re-reading growing logs; BOUND is the failure bound)
    R.fail("the job did not run again within %d s" % R.BOUND)


def retained(c, a, mode, work):
    """RetainedBench against the cluster's kube-lite, in a cluster id of its own."""
    conf = os.path.join(work, "retained-conf")
    os.makedirs(conf, exist_ok=True)
    ha_type = "kubernetes" if mode == "native" else "io.libk8sha.flink.K8shaHaServicesFactory"
    with open(os.path.join(conf, "config.yaml"), "w") as f:
        for k, v in (("high-availability.type", ha_type),
                     ("kubernetes.config.file", c.kc),
                     ("kubernetes.cluster-id", c.cluster_id + "-retained"),
                     ("high-availability.cluster-id", c.cluster_id + "-retained"),
                     ("kubernetes.namespace", "flink"),
                     ("high-availability.storageDir", "file://" + os.path.join(work, "ha-retained"))):
            f.write("%s: %s\n" % (k, json.dumps(v)))
    p = R.subprocess.run(["java"] + R.JVM_OPENS + ["-cp", c.cp + ":" + os.path.abspath(a.job),
                          "-Dorg.slf4j.simpleLogger.defaultLogLevel=error",
                          "io.libk8sha.flink.it.RetainedBench", conf, c.url, "flink",
                          str(a.retained), os.path.join(work, "retained-chk")],
                         capture_output=True, text=True, timeout=3600)
    points = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
    if p.returncode != 0 or not points:
        R.fail("RetainedBench (%s) failed:\n%s\n%s" % (mode, p.stdout[-2000:], p.stderr[-2000:]))
    return points


def one_ha(a, mode):
    work = os.path.join(os.path.abspath(a.work), mode)
    ns = argparse.Namespace(classpath=a.classpath, adapter=a.adapter, job=a.job, work=work,
                            kube_lite=a.kube_lite, kubeconfig=None, control_url=None,
                            switch=False, back=False, line=a.line)
    c = R.Cluster(ns)
    c.lease, c.renew, c.retry = a.lease, a.renew, a.retry
    c.leader_log_rx, c.revoke_rx = GRANT, REVOKE
    c.follow_rx = r"lock holder: " if mode == "libk8sha" else r"New leader elected"
    c.log_opts = ["-Dorg.slf4j.simpleLogger.log.org.apache.flink.runtime.leaderelection."
                  "DefaultLeaderElectionService=debug"]
    c.ends = {}
    c.start_kube()
    c.write_conf("kubernetes" if mode == "native" else "io.libk8sha.flink.K8shaHaServicesFactory")
    res = {"kill": [], "term": [], "overlap": [], "lost": 0, "outages": 0}
    try:
        if a.retained:
            res["retained"] = retained(c, a, mode, work)
            print("%s num-retained %d: %s" % (mode, a.retained, json.dumps(res["retained"][-1])),
                  flush=True)
        for name in c.jms:
            c.start_jm(name)
            c.logs[name].wait(GRANT if name == "jm-1" else c.follow_rx, 0.0, name + " up",
                              c.procs[name])
        c.start_tm()
        # the idle cluster: JobManagers and TaskManager up, no job (a measuring window)
        c.logs["tm"].wait(r"Successful registration at resource manager", 0.0, "the TaskManager up",
                          c.procs["tm"])
        reset_stats(c.url)
        t0 = time.time()
        time.sleep(a.idle)
        res["idle_requests_per_second"] = stats(c.url)["total"] / (time.time() - t0)
        job = c.submit(os.path.join(work, "output.txt"))
        lead = R.leader_of(c, 0.0)[0]
        for _ in range(3):
            c.logs[lead].wait(r"Completed checkpoint (\d+) for job " + job, time.time(),
                              "a checkpoint", c.procs[lead])
        # requests while the job runs: kube-lite's counts over a number of checkpoints
        reset_stats(c.url)
        t0 = time.time()
        lead = R.leader_of(c, 0.0)[0]
        before = len(R.completed(c.logs[lead], job))
        c.logs[lead].wait(r"Completed checkpoint (\d+) for job " + job, t0 + 10.0,
                          "checkpoints for the request count", c.procs[lead])
        st = stats(c.url)
        secs = time.time() - t0
        cps = len(R.completed(c.logs[lead], job)) - before
        res["requests_per_second"] = st["total"] / secs
        res["requests_per_checkpoint"] = st["total"] / max(cps, 1)
        res["writes_per_checkpoint"] = sum(r["count"] for r in st["requests"]
                                           if r["verb"] in ("update", "patch", "create")) / max(cps, 1)
        # the job ConfigMap: bytes of data per retained checkpoint entry
        with urllib.request.urlopen("%s/api/v1/namespaces/flink/configmaps/%s-%s-config-map"
                                    % (c.url, c.cluster_id, job), timeout=30) as r:
            data = json.loads(r.read()).get("data", {})
        entries = [v for k, v in data.items() if k.startswith("checkpointID-")]
        res["bytes_per_checkpoint"] = (sum(len(v) for v in entries) / len(entries)
                                       if entries else float("nan"))
        timings = {}
        for how, n in (("kill", a.kills), ("term", a.terms)):
            for _ in range(n):
                R.failover(c, job, how, timings)
        res["kill"], res["term"] = timings.get("kill", []), timings.get("term", [])
        for i in range(a.outages):
            lead = R.leader_of(c, 0.0)[0]
            t0 = time.time()
            c.refuse(a.lease * 2.5)
            # the job runs again under a leadership begun after the outage did, restored from
            # some checkpoint; or the leader keeps its leadership through the outage (its renewal
            # retried until the server came back: no failover) and completes checkpoints again;
            # or a JobManager fails (it is restarted)
            back = t0 + a.lease * 2.5
            restored = kept = None
            deadline = time.monotonic() + R.BOUND
            while restored is None and kept is None and time.monotonic() < deadline:
                if any(c.procs[n].poll() is not None for n in c.jms):
                    break
                if any(t and t >= t0 for n in c.jms for _, t in c.logs[n].all(GRANT)):
                    restored = running_again(c, job, t0)
                    break
                if not any(t and t >= t0 for _, t in c.logs[lead].all(REVOKE)):
                    done = R.completed(c.logs[lead], job, back)
                    if done:
                        kept = done[0]
                time.sleep(0.05)
            crashed = died(c)
            res["outages"] += 1
            res["overlap"].append(overlap_seconds(leaderships(c), t0))
            if crashed:
                res["crashes"] = res.get("crashes", 0) + 1
                print("%s outage %d: JobManager %s failed; two leaders for %.3f s"
                      % (mode, i + 1, ", ".join(crashed), res["overlap"][-1]), flush=True)
                # (then: the job completes checkpoints again, whoever leads)
                t1 = time.time()
                deadline = time.monotonic() + R.BOUND
                while not any(R.completed(c.logs[n], job, t1) for n in c.jms):
                    if time.monotonic() > deadline:
                        R.fail("%s, outage %d: no checkpoint after a JobManager failed"
                               % (mode, i + 1))
                    died(c)
                    time.sleep(0.05)
                continue
            if kept is not None:
                res["kept"] = res.get("kept", 0) + 1
                print("%s outage %d: %s kept its leadership through the outage (checkpoint %d "
                      "completed %.2f s after the server came back); two leaders for %.3f s"
                      % (mode, i + 1, lead, kept[0], kept[1] - back, res["overlap"][-1]),
                      flush=True)
                continue
            if restored is None:
                R.fail("%s, outage %d: nobody restored the job" % (mode, i + 1))
            # a checkpoint reported completed (by either JobManager) before this restore, and
            # newer than what it restored, is lost
            last = max(x for n in c.jms for x, t in R.completed(c.logs[n], job) if t < restored[2])
            res["lost"] += restored[1] < last
            print("%s outage %d: two leaders for %.3f s; restored %d, last completed %d"
                  % (mode, i + 1, res["overlap"][-1], restored[1], last), flush=True)
    finally:
        c.stop_all()
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--replot", metavar="JSON",
                    help="only draw --png from the figures a run wrote with --json")
    for k in ("classpath", "adapter", "job", "kube_lite", "work"):
        ap.add_argument("--" + k.replace("_", "-"), required="--replot" not in sys.argv)
    ap.add_argument("--kills", type=int, default=10)
    ap.add_argument("--terms", type=int, default=10)
    ap.add_argument("--outages", type=int, default=10)
    ap.add_argument("--lease", type=float, default=R.LEASE)
    ap.add_argument("--renew", type=float, default=R.RENEW)
    ap.add_argument("--retry", type=float, default=R.RETRY)
    ap.add_argument("--line", default="1.20", help="the Flink line of the jars given")
    ap.add_argument("--idle", type=float, default=30.0,
                    help="seconds the idle cluster's requests are counted over")
    ap.add_argument("--retained", type=int, default=2000,
                    help="num-retained for RetainedBench (0: skip it)")
    ap.add_argument("--json")
    ap.add_argument("--png")
    a = ap.parse_args()
    if a.replot:  # (a chart of figures written before, with --json)
        with open(a.replot) as f:
            out = json.load(f)
        settings = dict(out["settings"], png=a.png)
        chart(out, argparse.Namespace(**settings))
        return 0
    out = {}
    for mode in ("native", "libk8sha"):
        out[mode] = one_ha(a, mode)
    print("\nlease %.1f s / renew %.1f s / retry %.1f s; Flink %s; kube-lite; %d kills, %d "
          "SIGTERMs, %d outages of %.1f s" % (a.lease, a.renew, a.retry, a.line, a.kills,
                                             a.terms, a.outages, a.lease * 2.5))
    print("%-44s %14s %14s" % ("", "Flink's own HA", "libk8sha"))
    rows = [
        ("kill -9: to RUNNING p50 / p99 (s)", lambda r: (pct([x for x, _ in r["kill"]], .5),
                                                         pct([x for x, _ in r["kill"]], .99))),
        ("kill -9: to first new checkpoint p50 / p99 (s)", lambda r: (
            pct([y for _, y in r["kill"]], .5), pct([y for _, y in r["kill"]], .99))),
        ("SIGTERM: to RUNNING p50 / p99 (s)", lambda r: (pct([x for x, _ in r["term"]], .5),
                                                         pct([x for x, _ in r["term"]], .99))),
        ("SIGTERM: to first new checkpoint p50 / p99 (s)", lambda r: (
            pct([y for _, y in r["term"]], .5), pct([y for _, y in r["term"]], .99))),
    ]
    for label, f in rows:
        print("%-44s %14s %14s" % (label, "%.2f / %.2f" % f(out["native"]),
                                   "%.2f / %.2f" % f(out["libk8sha"])))
    for label, f in (
            ("outages with two leaders at once", lambda r: "%d of %d" % (
                sum(1 for o in r["overlap"] if o > 0), r["outages"])),
            ("longest time with two leaders (ms)", lambda r: "%.0f" % (
                1000 * max(r["overlap"] or [0]))),
            ("outages the leader kept its leadership through", lambda r: "%d" % r.get("kept", 0)),
            ("outages a JobManager failed in (restarted)", lambda r: "%d" % r.get("crashes", 0)),
            ("restores older than a completed checkpoint", lambda r: "%d" % r["lost"]),
            ("API requests per second, idle cluster", lambda r: "%.1f" % r["idle_requests_per_second"]),
            ("API requests per second, job running", lambda r: "%.1f" % r["requests_per_second"]),
            ("API requests per completed checkpoint", lambda r: "%.1f" % r["requests_per_checkpoint"]),
            ("API writes per completed checkpoint", lambda r: "%.1f" % r["writes_per_checkpoint"]),
            ("ConfigMap bytes per retained checkpoint", lambda r: "%.0f" % r["bytes_per_checkpoint"])):
        print("%-44s %14s %14s" % (label, f(out["native"]), f(out["libk8sha"])))
    if a.retained:
        for label, f in (
                ("num-retained %d: checkpoints retained" % a.retained,
                 lambda r: "%d" % r["retained"][-1]["retained"]),
                ("  job ConfigMap data at the end (KiB)",
                 lambda r: "%.0f" % (max(p.get("data_bytes", 0) for p in r["retained"]) / 1024)),
                ("  add time at the end (ms)",
                 lambda r: "%.1f" % [p for p in r["retained"] if "add_ms" in p][-1]["add_ms"])):
            print("%-44s %14s %14s" % (label, f(out["native"]), f(out["libk8sha"])))
        for mode in ("native", "libk8sha"):
            if "failed" in out[mode]["retained"][-1]:
                print("%s: the add of checkpoint %d failed: %s" % (
                    mode, out[mode]["retained"][-1]["retained"] + 1,
                    out[mode]["retained"][-1]["failed"][:300]))
    out["settings"] = {k: v for k, v in vars(a).items()  # (what the figures depend on)
                       if k in ("line", "kills", "terms", "outages", "lease", "renew", "retry",
                                "idle", "retained")}
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)
    if a.png:
        chart(out, a)


def chart(out, a):
    """One PNG: failover times, ConfigMap bytes as checkpoints are retained, request rates."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = {"native": "Flink's own Kubernetes HA", "libk8sha": "libk8sha"}
    colors = {"native": "#c0504d", "libk8sha": "#4f81bd"}
    fig, ax = plt.subplots(1, 3, figsize=(15, 4.6))
    groups = [("kill -9", "kill"), ("SIGTERM", "term")]
    for i, mode in enumerate(("native", "libk8sha")):
        xs = [g + (i - 0.5) * 0.36 for g in range(len(groups))]
        p50 = [pct([x for x, _ in out[mode][k]], .5) for _, k in groups]
        p99 = [pct([x for x, _ in out[mode][k]], .99) for _, k in groups]
        ax[0].bar(xs, p50, 0.34, color=colors[mode], label=names[mode] + " p50")
        ax[0].scatter(xs, p99, color="black", marker="_", s=300, zorder=3,
                      label="p99" if i == 0 else None)
    tops = [pct([x for x, _ in out[m][k]], .99) for m in ("native", "libk8sha") for _, k in groups]
    ax[0].set_ylim(0, max([t for t in tops if t == t] or [1]) * 1.45)  # (room for the legend)
    ax[0].set_xticks(range(len(groups)), [g for g, _ in groups])
    ax[0].set_ylabel("seconds to the job RUNNING again")
    ax[0].set_title("failover of the leading JobManager")
    ax[0].legend(fontsize=8)
    if any(out[m].get("retained") for m in ("native", "libk8sha")):
        for mode in ("native", "libk8sha"):
            pts = [p for p in out[mode].get("retained", []) if "data_bytes" in p]
            if not pts:
                continue
            ax[1].plot([p["retained"] for p in pts], [p["data_bytes"] / 1024 for p in pts],
                       color=colors[mode], label=names[mode])
            if "failed" in out[mode]["retained"][-1]:
                ax[1].scatter([out[mode]["retained"][-1]["retained"]],
                              [pts[-1]["data_bytes"] / 1024], color=colors[mode], marker="x",
                              s=80, zorder=3)
        ax[1].axhline(1024, color="gray", linestyle="--", linewidth=1)
        ax[1].text(0, 1040, "1 MiB: the API server refuses a bigger ConfigMap", fontsize=8)
        ax[1].set_xlabel("retained checkpoints")
        ax[1].set_ylabel("job ConfigMap data (KiB)")
        ax[1].set_title("num-retained %d (x: the add that failed)" % a.retained)
        ax[1].legend(fontsize=8)
    else:  # (no num-retained run: the bytes one retained checkpoint takes)
        for i, mode in enumerate(("native", "libk8sha")):
            ax[1].bar([i], [out[mode]["bytes_per_checkpoint"]], 0.6, color=colors[mode])
        ax[1].set_xticks([0, 1], [names[m] for m in ("native", "libk8sha")])
        ax[1].set_ylabel("job ConfigMap bytes per retained checkpoint")
        ax[1].set_title("pointer size")
    kinds = [("idle", "idle_requests_per_second"), ("job running", "requests_per_second")]
    for i, mode in enumerate(("native", "libk8sha")):
        xs = [g + (i - 0.5) * 0.36 for g in range(len(kinds))]
        ax[2].bar(xs, [out[mode].get(k, 0) for _, k in kinds], 0.34, color=colors[mode],
                  label=names[mode])
    ax[2].set_xticks(range(len(kinds)), [k for k, _ in kinds])
    ax[2].set_ylabel("API requests per second")
    ax[2].set_title("requests to the API server")
    ax[2].legend(fontsize=8)
    fig.suptitle("Flink %s, lease %.0f s / renew %.1f s / retry %.1f s, kube-lite, %d kills, %d "
                 "SIGTERMs" % (a.line, a.lease, a.renew, a.retry, a.kills, a.terms), fontsize=10)
    fig.tight_layout()
    fig.savefig(a.png, dpi=90)


if __name__ == "__main__":
    sys.exit(main())
