#!/usr/bin/env python3
"""Real Flink processes (1.20 or 2.3, --line) fail over on libk8sha.

Two JobManagers (Flink's StandaloneSessionClusterEntrypoint, leader and standby) and one
TaskManager (Flink's TaskManagerRunner), all on loopback, with high-availability.type naming
libk8sha's factory, run SequenceJob (checkpoints every 200 ms). Then, each checked:

  kill -9   the leader: the standby leads after the lease, restores the job from the last
            checkpoint the old leader completed (or a later one), and the job runs again;
  SIGTERM   the leader: the same, handed over at once;
  restart   the API server while the job runs: nothing lost;
  outages   the API server away for longer than the lease, N times: the leader steps down
            before anyone else leads (never two leaders: from both JobManagers' logs), and
            no completed checkpoint is lost;
  SIGSTOP   the leader past the lease, then SIGCONT: the deposed JobManager commits nothing.

With --back libk8sha writes its pointers in Flink's own format, and at the end the cluster goes
back to Flink's own Kubernetes HA, which must restore the last checkpoint libk8sha completed.

With --switch the job first runs on Flink's own Kubernetes HA (high-availability.type:
kubernetes, Flink's flink-kubernetes classes); that cluster stops with its HA data kept and the
same cluster id starts again on libk8sha: the job graph and the latest checkpoint Flink's HA
wrote are recovered from Flink's own pointers.

At the end the job's output is checked: every line "key n sum" has the sum the state must have
(the keyed state continued through every failover), no n is missing, and after a failover the
source resumed from a checkpointed position. Prints the time from each kill to the job running
again and to its first new completed checkpoint.

  run.py [--line 1.20|2.3] --classpath FILE --adapter JAR --job JAR --work DIR
         (--kube-lite BIN | --kubeconfig FILE --control-url URL) [--outages N]

With --kubeconfig the API server is a real one (the user bound to the documented Role), and the
outages go through the control URL of kube-lite as a fault proxy (--upstream) in front of it.
"""

import argparse
import json
import math
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

LEASE, RENEW, RETRY = 2.0, 1.5, 0.5
BOUND = 120.0  # failure bound of every wait (seconds)
# What Flink's own scripts pass to every JVM on Java 17 (env.java.opts.all of its default config)
JVM_OPENS = ["--add-exports=java.base/sun.net.util=ALL-UNNAMED",
             "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED",
             "--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED"] + [
    "--add-opens=java.base/%s=ALL-UNNAMED" % p for p in (
        "java.lang", "java.net", "java.io", "java.nio", "sun.nio.ch", "java.lang.reflect",
        "java.text", "java.time", "java.util", "java.util.concurrent",
        "java.util.concurrent.atomic", "java.util.concurrent.locks")]
TS = re.compile(r"^(\d{4}-\d\d-\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{3}) ")


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def stamp(line):
    """Wall-clock seconds of a log line (slf4j-simple, date-time shown), or None."""
    m = TS.match(line)
    if not m:
        return None
    t = time.strptime(m.group(1), "%Y-%m-%d")
    return (time.mktime(t) + int(m.group(2)) * 3600 + int(m.group(3)) * 60 + int(m.group(4))
            + int(m.group(5)) / 1000.0)


class Log:
    """A process's log file, read as it grows."""

    def __init__(self, path):
        self.path = path

    def lines(self):
        try:
            with open(self.path, errors="replace") as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def wait(self, pattern, after=0.0, what=None, proc=None):
        """The first line matching `pattern` stamped at or after `after`: (match, stamp).
        Stamps are whole milliseconds, cut down: a line written in the millisecond `after`
        falls in has a stamp up to 1 ms before it, and counts."""
        after = math.floor(after * 1000) / 1000.0
        rx = re.compile(pattern)
        deadline = time.monotonic() + BOUND
        while time.monotonic() < deadline:
            for line in self.lines():
                m = rx.search(line)
                if m:
                    t = stamp(line)
                    if t is not None and t >= after:
                        return m, t
            if proc is not None and proc.poll() is not None:
                fail("%s ended (exit %s) before: %s\n%s" % (self.path, proc.returncode,
                                                            what or pattern, tail(self.path)))
            time.sleep(0.05)  # (re-reading a growing file; BOUND is the failure bound)
        fail("not within %d s: %s (in %s)\n%s" % (BOUND, what or pattern, self.path,
                                                  tail(self.path)))

    def all(self, pattern):
        rx = re.compile(pattern)
        out = []
        for line in self.lines():
            m = rx.search(line)
            if m:
                out.append((m, stamp(line)))
        return out


def tail(path, n=60):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except FileNotFoundError:
        return "(no file)"


class Cluster:
    def __init__(self, a):
        self.a = a
        self.work = os.path.abspath(a.work)
        os.makedirs(self.work, exist_ok=True)
        with open(a.classpath) as f:
            self.cp = f.read().strip() + ":" + os.path.abspath(a.adapter)
        self.cluster_id = "flink-it-%d" % os.getpid()
        self.procs = {}
        self.logs = {}
        self.kube = None
        self.url = None
        self.jms = ["jm-1", "jm-2"]
        self.leader_log_rx = r"leading in term (\d+)"  # (a JobManager's leadership begins)
        self.revoke_rx = r"leadership revoked"        # (and ends)
        self.follow_rx = r"lock holder: "             # (a standby follows the lock)
        self.lease, self.renew, self.retry = LEASE, RENEW, RETRY
        self.log_opts = []                            # (more -D options for the logs)

    # ---- the API server ----
    def start_kube(self):
        if self.a.kubeconfig:
            self.kc = os.path.abspath(self.a.kubeconfig)
            self.url = self.a.control_url
            return
        self.kc = os.path.join(self.work, "kubeconfig")
        self.kube = subprocess.Popen(
            [self.a.kube_lite, "--host", "127.0.0.1", "--port", "0", "--namespace", "flink",
             "--write-kubeconfig", self.kc], stdout=subprocess.PIPE,
            stderr=open(os.path.join(self.work, "kube-lite.err"), "w"), text=True)
        line = self.kube.stdout.readline()
        if "listening on" not in line:
            fail("kube-lite did not start: %r" % line)
        self.url = line.split("listening on ")[1].split()[0]

    def control(self, path, body):
        req = urllib.request.Request(self.url + "/kube-lite/v1/" + path,
                                     data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        return json.loads(urllib.request.urlopen(req, timeout=30).read() or b"{}")

    def refuse(self, seconds):
        """The API server goes away for `seconds` (connections refused), then comes back."""
        self.control("refuse", {"seconds": seconds})

    # ---- Flink ----
    def write_conf(self, ha_type="io.libk8sha.flink.K8shaHaServicesFactory"):
        self.conf = os.path.join(self.work, "conf")
        os.makedirs(self.conf, exist_ok=True)
        ha = os.path.join(self.work, "ha")
        conf = {
            "jobmanager.rpc.address": "127.0.0.1",
            "jobmanager.bind-host": "127.0.0.1",
            "rest.address": "127.0.0.1",
            "rest.bind-address": "127.0.0.1",
            "rest.port": "0",
            "jobmanager.rpc.port": "0",  # (two JobManagers on one host; found through HA)
            "high-availability.jobmanager.port": "0",
            "taskmanager.host": "127.0.0.1",
            "taskmanager.bind-host": "127.0.0.1",
            "high-availability.type": ha_type,
            "high-availability.cluster-id": self.cluster_id,
            "high-availability.storageDir": "file://" + ha,
            "kubernetes.cluster-id": self.cluster_id,
            "kubernetes.namespace": "flink",
            "kubernetes.config.file": self.kc,
            "high-availability.kubernetes.leader-election.lease-duration": "%d ms" % (self.lease * 1000),
            "high-availability.kubernetes.leader-election.renew-deadline": "%d ms" % (self.renew * 1000),
            "high-availability.kubernetes.leader-election.retry-period": "%d ms" % (self.retry * 1000),
            "execution.checkpointing.num-retained": "2",
            "state.checkpoints.dir": "file://" + os.path.join(self.work, "checkpoints"),
            "jobmanager.memory.process.size": "1000m",
            "taskmanager.memory.process.size": "1200m",
            "taskmanager.numberOfTaskSlots": "2",
            "heartbeat.interval": "1000",
            "heartbeat.timeout": "10000",
            "pekko.ask.timeout": "10 s",
            "web.tmpdir": os.path.join(self.work, "web"),
            "io.tmp.dirs": os.path.join(self.work, "tmp"),
        }
        if self.a.back and ha_type != "kubernetes":
            conf["libk8sha.flink.pointer-format"] = "flink"  # (so that Flink's HA can read it)
        with open(os.path.join(self.conf, "config.yaml"), "w") as f:
            for k, v in conf.items():
                f.write("%s: %s\n" % (k, json.dumps(v)))

    def resources(self, what):
        """What Flink's scripts compute before starting a process (BashJavaUtils): its JVM
        memory options and the dynamic properties that fix its memory layout."""
        p = subprocess.run(["java", "-cp", self.cp, "org.apache.flink.runtime.util.bash.BashJavaUtils",
                            what, "--configDir", self.conf], capture_output=True, text=True,
                           timeout=120)
        res = [l.split(":", 1)[1] for l in p.stdout.splitlines()
               if l.startswith("BASH_JAVA_UTILS_EXEC_RESULT:")]
        if p.returncode != 0 or len(res) != 2:
            fail("BashJavaUtils %s failed:\n%s\n%s" % (what, p.stdout[-2000:], p.stderr[-2000:]))
        return res[0].split(), res[1].split()

    def java(self, name, main, args, jvm=(), env=None):
        log = os.path.join(self.work, name + ".log")
        cmd = ["java"] + list(jvm) + JVM_OPENS + ["-cp", self.cp,
               "-Dorg.slf4j.simpleLogger.showDateTime=true",
               "-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSS",
               "-Dorg.slf4j.simpleLogger.defaultLogLevel=info",
               "-Dorg.slf4j.simpleLogger.log.org.apache.pekko=warn",
               "-Dorg.slf4j.simpleLogger.log.io.libk8sha.lib=" + os.environ.get("K8SHA_IT_LIB_LOG", "info"),
               "-Dorg.slf4j.simpleLogger.log.org.apache.flink.runtime.checkpoint.CheckpointCoordinator=info"
               ] + self.log_opts + [main] + args
        with open(log, "a") as out:
            out.write("%s ==== %s started\n" % (time.strftime("%Y-%m-%dT%H:%M:%S.000"), name))
            p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env,
                                 start_new_session=True)
        self.procs[name] = p
        self.logs[name] = Log(log)
        return p

    def start_jm(self, name):
        jvm, dyn = self.resources("GET_JM_RESOURCE_PARAMS")
        return self.java(name, "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint",
                         ["--configDir", self.conf] + dyn, jvm)

    def start_tm(self):
        jvm, dyn = self.resources("GET_TM_RESOURCE_PARAMS")
        return self.java("tm", "org.apache.flink.runtime.taskexecutor.TaskManagerRunner",
                         ["--configDir", self.conf] + dyn, jvm)

    def submit(self, out):
        env = dict(os.environ, FLINK_CONF_DIR=self.conf)
        p = subprocess.run(["java"] + JVM_OPENS + ["-cp", self.cp + ":" + os.path.abspath(self.a.job),
                            "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                            "org.apache.flink.client.cli.CliFrontend", "run", "-d",
                            "-c", "io.libk8sha.flink.it.SequenceJob",
                            os.path.abspath(self.a.job), out],
                           env=env, capture_output=True, text=True, timeout=300)
        m = re.search(r"JobID ([0-9a-f]{32})", p.stdout + p.stderr)
        if p.returncode != 0 or not m:
            fail("submitting the job failed (%d):\n%s\n%s" % (p.returncode, p.stdout[-4000:],
                                                            p.stderr[-4000:]))
        return m.group(1)

    def stop_all(self):
        for p in self.procs.values():
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for p in self.procs.values():
            p.wait()
        if self.kube:
            self.kube.terminate()
            self.kube.wait()


def completed(log, job, after=0.0):
    """Checkpoint ids the log reports completed for `job`, with their stamps."""
    return [(int(m.group(1)), t) for m, t in
            log.all(r"Completed checkpoint (\d+) for job " + job) if t is not None and t >= after]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--line", default="1.20", help="the Flink line (for the report)")
    ap.add_argument("--classpath", required=True)
    ap.add_argument("--adapter", required=True)
    ap.add_argument("--job", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--kube-lite")
    ap.add_argument("--kubeconfig")
    ap.add_argument("--control-url")
    ap.add_argument("--outages", type=int, default=10)
    ap.add_argument("--switch", action="store_true",
                    help="start the job on Flink's own Kubernetes HA, then switch to libk8sha")
    ap.add_argument("--back", action="store_true",
                    help="libk8sha writes Flink's pointer format; at the end the cluster goes "
                         "back to Flink's own Kubernetes HA")
    a = ap.parse_args()
    if not a.kube_lite and not (a.kubeconfig and a.control_url):
        fail("--kube-lite, or --kubeconfig with --control-url")

    c = Cluster(a)
    c.start_kube()
    c.write_conf()
    t_start = time.monotonic()
    try:
        run(c)
    finally:
        c.stop_all()
    print("flink-" + a.line + " processes: all scenarios passed in %.0f s (logs in %s)"
          % (time.monotonic() - t_start, c.work), flush=True)


def leader_of(c, after):
    """The JobManager that leads (the newest 'leading' line after `after`) and its stamp."""
    best = None
    for name in c.jms:
        for m, t in c.logs[name].all(c.leader_log_rx):
            if t is not None and t >= after and (best is None or t > best[1]):
                best = (name, t)
    return best


def await_running(c, name, job, after):
    """The job restored and running on `name`: (restored checkpoint id or None, RUNNING stamp,
    first new completed checkpoint's id and stamp)."""
    log = c.logs[name]
    m, t_run = log.wait(r"Job libk8sha-sequence \(" + job + r"\) switched from state \w+ to RUNNING",
                        after, "the job running on " + name, c.procs[name])
    restored = None  # (the first restore of the new leadership: later ones are task restarts)
    for rm, rt in log.all(r"Restoring job " + job + r" from Checkpoint (\d+)"):
        if rt is not None and rt >= after and restored is None:
            restored = int(rm.group(1))
    cm, t_cp = log.wait(r"Completed checkpoint (\d+) for job " + job, t_run,
                        "a new checkpoint on " + name, c.procs[name])
    return restored, t_run, int(cm.group(1)), t_cp


def await_new_leadership(c, job, after, what):
    """The leadership begun after `after` under which the job runs again and completes a
    checkpoint: (JobManager, checkpoint restored first, RUNNING stamp). A leadership that ends
    before the job runs (a step-down, then someone else) is passed over."""
    deadline = time.monotonic() + BOUND
    while time.monotonic() < deadline:
        grants = [(t, name) for name in c.jms for _, t in c.logs[name].all(c.leader_log_rx)
                  if t is not None and t >= after]
        if grants:
            t_grant, name = max(grants)
            log = c.logs[name]
            run = [t for _, t in log.all(r"Job libk8sha-sequence \(" + job +
                                         r"\) switched from state \w+ to RUNNING")
                   if t is not None and t >= t_grant]
            if run and completed(log, job, run[0]):
                restored = [int(m.group(1)) for m, t in
                            log.all(r"Restoring job " + job + r" from Checkpoint (\d+)")
                            if t is not None and t >= t_grant]
                return name, restored[0] if restored else None, run[0]
        for name in c.jms:
            if c.procs[name].poll() is not None:
                fail("%s: %s ended (exit %s)\n%s" % (what, name, c.procs[name].returncode,
                                                     tail(c.logs[name].path)))
        time.sleep(0.05)  # (re-reading growing logs; BOUND is the failure bound)
    fail("%s: the job did not run again under a new leadership within %d s" % (what, BOUND))


def failover(c, job, how, timings):
    """Takes the leader away (`how`: kill, term, stop), checks the standby's takeover."""
    now = time.time()
    lead = leader_of(c, 0.0)
    if lead is None:
        fail("no JobManager leads")
    old = lead[0]
    new = [n for n in c.jms if n != old][0]
    # the last checkpoint the old leader reported completed, before it goes
    done_before = completed(c.logs[old], job)
    if not done_before:
        fail("%s completed no checkpoint before the %s" % (old, how))
    p = c.procs[old]
    t0 = time.time()
    if how == "kill":
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        c.ends[(old, lead[1])] = t0  # (it can do nothing from here on)
    elif how == "term":
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(timeout=BOUND)  # (its leadership ends, at the latest, with the process)
        c.ends[(old, lead[1])] = time.time()
    elif how == "stop":
        os.killpg(p.pid, signal.SIGSTOP)
        c.ends[(old, lead[1])] = t0  # (stopped, it acts no more; resumed, the stores fence it)
    last_old = max(i for i, _ in completed(c.logs[old], job))
    restored, t_run, first_new, t_cp = await_running(c, new, job, t0)
    if restored is None:
        fail("%s: %s ran the job again without restoring a checkpoint" % (how, new))
    if restored < last_old:
        fail("%s: %s restored checkpoint %d, but %s had completed %d" % (how, new, restored, old,
                                                                          last_old))
    timings.setdefault(how, []).append((t_run - t0, t_cp - t0))
    if how == "term":
        # the lock itself: from the old leader's release to the new one's grant
        rel = [t for _, t in c.logs[old].all(c.revoke_rx) if t is not None and t >= t0]
        got = [t for _, t in c.logs[new].all(c.leader_log_rx) if t is not None and t >= t0]
        if rel and got:
            print("SIGTERM: the lock passed from %s to %s in %d ms (released %.2f s after the "
                  "signal, as the JobManager shut down)" % (old, new, (got[0] - rel[0]) * 1000,
                                                            rel[0] - t0), flush=True)
    print("%s of the leader %s: %s restored checkpoint %d (the old leader's last: %d), running "
          "after %.2f s, first new checkpoint %d after %.2f s"
          % ({"kill": "kill -9", "term": "SIGTERM", "stop": "SIGSTOP"}[how], old, new, restored,
             last_old, t_run - t0, first_new, t_cp - t0), flush=True)
    if how == "stop":
        # past the lease already (the standby runs the job): resume the deposed one
        t_cont = time.time()
        os.killpg(p.pid, signal.SIGCONT)
        m, t_rev = c.logs[old].wait(c.revoke_rx, t_cont,
                                    old + " hearing it was deposed", p)
        # let the new leader complete one more checkpoint after the resumption
        c.logs[new].wait(r"Completed checkpoint (\d+) for job " + job, time.time(),
                         "a checkpoint after the deposed leader resumed", c.procs[new])
        late = completed(c.logs[old], job, t_cont)
        if late:
            fail("the deposed %s completed checkpoints after SIGCONT: %s" % (old, late))
        print("SIGCONT of the deposed %s: it heard of its revocation %.2f s later and committed "
              "nothing" % (old, t_rev - t_cont), flush=True)
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    # the old one comes back as the standby
    t_restart = time.time()
    c.start_jm(old)
    c.logs[old].wait(c.follow_rx, t_restart, old + " following again", c.procs[old])
    return new


def intervals(c, until):
    """Each JobManager's leadership intervals from its log: [(start, end, name)]."""
    out = []
    for name in c.jms:
        start = None
        for line in c.logs[name].lines():
            t = stamp(line)
            if t is None:
                continue
            if " ==== " in line and line.endswith(" started"):
                if start is not None:  # killed while leading: its end is unknown here
                    out.append((start, c.ends.get((name, start), t), name))
                start = None
            elif re.search(c.leader_log_rx, line):
                start = t
            elif re.search(c.revoke_rx, line) and start is not None:
                # (a leader stopped or killed acted no more from then on)
                out.append((start, min(t, c.ends.get((name, start), t)), name))
                start = None
        if start is not None:
            out.append((start, until, name))
    return sorted(out)


def from_native_ha(c, out):
    """The job starts on Flink's own Kubernetes HA; that cluster stops (SIGTERM: its HA data
    stays); the same cluster id starts again on libk8sha. Returns the job id and the last
    checkpoint Flink's HA completed."""
    c.write_conf("kubernetes")
    c.start_jm("native-jm")
    c.start_tm()
    job = c.submit(out)
    log = c.logs["native-jm"]
    done = []
    while len(done) < 3:
        m, t = log.wait(r"Completed checkpoint (\d+) for job " + job,
                        done[-1][1] + 0.001 if done else 0.0, "checkpoints on Flink's own HA",
                        c.procs["native-jm"])
        done.append((int(m.group(1)), t))
    for name in ("native-jm", "tm"):
        p = c.procs[name]
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(timeout=BOUND)
    last = max(i for i, _ in completed(log, job))
    print("job %s ran on Flink's own Kubernetes HA (checkpoints up to %d), that cluster stopped"
          % (job, last), flush=True)
    c.write_conf()
    return job, last


def back_to_native(c, job):
    """The cluster stops (SIGTERM: the HA data stays) and starts again on Flink's own
    Kubernetes HA, which recovers from the pointers libk8sha wrote in Flink's format."""
    for name in c.jms + ["tm"]:
        p = c.procs[name]
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(timeout=BOUND)
    # (after every process ended: the leader completes checkpoints until it stops)
    last = max(i for name in c.jms for i, _ in completed(c.logs[name], job))
    t0 = time.time()
    c.write_conf("kubernetes")
    c.start_jm("native-back")
    c.start_tm()
    restored, t_run, first, t_cp = await_running(c, "native-back", job, t0)
    if restored is None or restored < last:
        fail("back to Flink's own HA: it restored %s, libk8sha had completed %d" % (restored, last))
    print("back to Flink's own HA: it recovered the job graph and restored checkpoint %d "
          "(libk8sha wrote it in Flink's format; the last completed: %d), then completed "
          "checkpoint %d" % (restored, last, first), flush=True)


def run(c):
    c.ends = {}
    out = os.path.join(c.work, "output.txt")
    if c.a.switch:
        job, native_last = from_native_ha(c, out)
    for name in c.jms:
        c.start_jm(name)
        c.logs[name].wait(c.leader_log_rx if name == "jm-1" else c.follow_rx,
                          0.0, name + " up", c.procs[name])
    c.start_tm()
    if c.a.switch:
        restored, t_run, first, t_cp = await_running(c, "jm-1", job, 0.0)
        if restored is None or restored < native_last:
            fail("switched to libk8sha: jm-1 restored %s, Flink's own HA had completed %d"
                 % (restored, native_last))
        print("switched to libk8sha: jm-1 recovered the job graph and restored checkpoint %d "
              "(Flink's own HA wrote it; its last: %d), then completed checkpoint %d"
              % (restored, native_last, first), flush=True)
    else:
        job = c.submit(out)
        print("job %s submitted; cluster %s" % (job, c.cluster_id), flush=True)
    lead = leader_of(c, 0.0)[0]
    t_led = leader_of(c, 0.0)[1]
    while len(completed(c.logs[lead], job, t_led)) < 3:  # (a few, before the first failover)
        m, t = c.logs[lead].wait(r"Completed checkpoint (\d+) for job " + job,
                                 max([t_led] + [t2 + 0.001 for _, t2 in
                                                completed(c.logs[lead], job, t_led)]),
                                 "checkpoints before the first failover", c.procs[lead])
    timings = {}

    # kill -9, then SIGTERM, of the leader
    for how in ("kill", "term"):
        failover(c, job, how, timings)

    # the API server restarts while the job runs (shorter than the renew deadline)
    lead = leader_of(c, 0.0)[0]
    before = max(i for i, _ in completed(c.logs[lead], job))
    t0 = time.time()
    c.refuse(0.5)
    m, t = c.logs[lead].wait(r"Completed checkpoint (\d+) for job " + job, t0 + 1.0,
                             "a checkpoint after the API server restart", c.procs[lead])
    print("API server restart: the leader %s went on; checkpoint %d completed %.2f s after "
          "(before: %d)" % (lead, int(m.group(1)), t - t0, before), flush=True)

    # outages longer than the lease: the leader steps down first; the job fails over
    for i in range(c.a.outages):
        lead = leader_of(c, 0.0)[0]
        t0 = time.time()
        c.refuse(LEASE * 2.5)
        m, t_rev = c.logs[lead].wait(c.revoke_rx, t0, lead + " stepping down in outage %d"
                                     % (i + 1), c.procs[lead])
        # what the old leader reported completed: all before its step-down, none after
        last = max(x for x, _ in completed(c.logs[lead], job))
        late = [x for x, t in completed(c.logs[lead], job, t_rev)]
        if late:
            fail("outage %d: %s reported checkpoints %s completed after it stepped down"
                 % (i + 1, lead, late))
        # someone leads again (a leadership begun after the step-down; the last one, when one
        # ended at once) and runs the job from the last completed checkpoint or a later one
        name, restored, t_run = await_new_leadership(c, job, t_rev, "outage %d" % (i + 1))
        if restored is None or restored < last:
            fail("outage %d: %s restored checkpoint %s, but %d had completed" % (i + 1, name,
                                                                                  restored, last))
        print("outage %d (%.1f s): %s stepped down %.2f s in, %s led again and restored "
              "checkpoint %d (the last completed: %d), running %.2f s after the outage began"
              % (i + 1, LEASE * 2.5, lead, t_rev - t0, name, restored, last, t_run - t0),
              flush=True)

    # a leader stopped past its lease, then resumed
    failover(c, job, "stop", timings)

    # never two leaders at once, from both JobManagers' logs
    iv = intervals(c, time.time())
    for (s1, e1, n1), (s2, e2, n2) in zip(iv, iv[1:]):
        if s2 < e1 and n1 != n2:
            fail("two leaders at once: %s %.3f-%.3f and %s %.3f-%.3f" % (n1, s1, e1, n2, s2, e2))
    print("never two leaders at once: %d leaderships checked" % len(iv), flush=True)

    if c.a.back:
        back_to_native(c, job)
    check_output(out)
    for how, ts in timings.items():
        print("%s: to RUNNING %s s; to the first new checkpoint %s s"
              % (how, " ".join("%.2f" % r for r, _ in ts), " ".join("%.2f" % p for _, p in ts)))


def check_output(path):
    """Every line's sum is what the keyed state must hold; no n missing; restarts resume."""
    seen = set()
    prev = -1
    resumes = []
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if len(parts) != 3:
                continue  # (a line cut short by a kill -9 of the TaskManager)
            k, n, s = (int(x) for x in parts)
            if n % 4 != k:
                fail("output line %d: %s: key %d for n %d" % (lineno, line.strip(), k, n))
            count = (n - k) // 4 + 1
            if s != count * (k + n) // 2:
                fail("output line %d: %s: the state did not continue (sum should be %d)"
                     % (lineno, line.strip(), count * (k + n) // 2))
            if n <= prev:
                resumes.append(n)
                if n == 0:
                    fail("output line %d: the source started again from 0" % lineno)
            prev = n
            seen.add(n)
    if not seen:
        fail("no output")
    missing = [n for n in range(max(seen) + 1) if n not in seen]
    if missing:
        fail("output: %d values of n missing, from %d" % (len(missing), missing[0]))
    print("output: %d values, every sum as the state must hold, none missing, %d resumptions "
          "from checkpointed positions" % (len(seen), len(resumes)), flush=True)


if __name__ == "__main__":
    main()
