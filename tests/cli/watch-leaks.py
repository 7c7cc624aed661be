#!/usr/bin/env python3
"""`k8sha watch` leaks nothing per event: it prints a run of events (ConfigMaps with and without
annotations added, changed and deleted, a re-list), is stopped with SIGTERM, and its leak checker
must report no definite leak. The checker is LeakSanitizer when k8sha is built with
AddressSanitizer, else valgrind (memcheck, definite leaks are errors); without either the test is
skipped (exit 77). Every wait is on the watch's own output, bounded.
usage: watch-leaks.py K8SHA KUBE_LITE SOURCE_ROOT [VALGRIND]"""
import json, os, select, signal, subprocess, sys, tempfile, urllib.request

k8sha, kubelite, src = sys.argv[1:4]
valgrind = sys.argv[4] if len(sys.argv) > 4 and sys.argv[4] else None
BOUND_S = 120  # per awaited line; valgrind is slow


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def built_with_asan(path):
    with open(path, "rb") as f:
        return b"__asan_init" in f.read()


class Lines:
    """The lines a child writes to a pipe, awaited with a bound."""

    def __init__(self, pipe, what):
        self.fd, self.what, self.buf, self.seen = pipe.fileno(), what, b"", []

    def until(self, pred, why):
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                text = line.decode()
                self.seen.append(text)
                if pred(text):
                    return text
            ready, _, _ = select.select([self.fd], [], [], BOUND_S)
            if not ready:
                fail("%s: no %s within %d s; it printed:\n%s"
                     % (self.what, why, BOUND_S, "\n".join(self.seen[-50:])))
            chunk = os.read(self.fd, 65536)
            if not chunk:
                fail("%s ended before %s; it printed:\n%s"
                     % (self.what, why, "\n".join(self.seen[-50:])))
            self.buf += chunk


def main():
    asan = built_with_asan(k8sha)
    if not asan and not valgrind:
        print("SKIP: k8sha is built without AddressSanitizer and valgrind is missing")
        sys.exit(77)
    tmp = tempfile.mkdtemp(prefix="k8sha-watch-leaks-")
    kc = os.path.join(tmp, "kc")
    kl = subprocess.Popen([kubelite, "--port", "0", "--namespace", "flink",
                           "--write-kubeconfig", kc],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    watch = None
    try:
        line = Lines(kl.stdout, "kube-lite").until(lambda l: "listening on" in l, "ready line")
        url = line.split("listening on ")[1].split()[0]
        api = url + "/api/v1/namespaces/flink/configmaps"

        def call(method, path, body=None, ctype="application/json"):
            req = urllib.request.Request(api + path, method=method,
                                         data=json.dumps(body).encode() if body else None,
                                         headers={"Content-Type": ctype})
            with urllib.request.urlopen(req, timeout=30) as r:
                return json.load(r)

        labels = {"app": "cluster1337", "configmap-type": "high-availability"}

        def create(name, annotated):
            meta = {"name": name, "labels": labels}
            if annotated:
                meta["annotations"] = {"note": "a"}
            call("POST", "", {"metadata": meta, "data": {"k": "0"}})

        def patch(name, body):
            call("PATCH", "/" + name, body, "application/merge-patch+json")

        # Present before the watch starts: listed.
        create("cm-0", False)
        create("cm-1", True)

        env = dict(os.environ)
        cmd = [k8sha, "watch", "-c", os.path.join(src, "examples/config/flink-conf.yaml"),
               "-D", "kubernetes.config.file=" + kc, "--json"]
        if asan:
            env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":detect_leaks=1").lstrip(":")
            checker = "LeakSanitizer"
        else:
            cmd = [valgrind, "--quiet", "--leak-check=full", "--show-leak-kinds=definite",
                   "--errors-for-leak-kinds=definite", "--error-exitcode=99",
                   "--suppressions=" + os.path.join(src, "tests/valgrind.supp")] + cmd
            checker = "valgrind"
        err_path = os.path.join(tmp, "stderr")
        with open(err_path, "w") as err:
            watch = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, env=env)
        out = Lines(watch.stdout, "k8sha watch")

        def await_event(kind, name, check=lambda ev: True):
            def match(text):
                ev = json.loads(text)
                return ev["type"] == kind and ev.get("name") == name and check(ev)
            return json.loads(out.until(match, "%s %s" % (kind, name)))

        out.until(lambda l: json.loads(l)["type"] == "SYNCED", "SYNCED")
        events = 0
        for i in range(2, 8):
            create("cm-%d" % i, i % 2 == 1)
            await_event("ADDED", "cm-%d" % i)
            events += 1
        for i in range(8):
            patch("cm-%d" % i, {"data": {"k": str(i + 1)}})
            await_event("MODIFIED", "cm-%d" % i, lambda ev, v=str(i + 1): ev["data"].get("k") == v)
            events += 1
        # Annotations appear on a ConfigMap that had none, and go from one that had them.
        patch("cm-0", {"metadata": {"annotations": {"leader": "x"}}})
        await_event("MODIFIED", "cm-0", lambda ev: ev["annotations"].get("leader") == "x")
        patch("cm-1", {"metadata": {"annotations": None}})
        await_event("MODIFIED", "cm-1", lambda ev: ev["annotations"].get("note", 1) is None)
        events += 2
        for i in range(0, 8, 3):
            call("DELETE", "/cm-%d" % i)
            await_event("DELETED", "cm-%d" % i)
            events += 1
        # History gone while watches fail: the next watch meets 410 and lists again.
        def control(method, path, body=None):
            req = urllib.request.Request(url + "/kube-lite/v1/" + path, method=method,
                                         data=json.dumps(body).encode() if body else b"{}")
            urllib.request.urlopen(req, timeout=30).read()
        synced = sum(1 for l in out.seen if '"type":"SYNCED"' in l)
        control("POST", "faults", {"verbs": ["watch"], "code": 500, "count": 100000})
        control("POST", "watches/close")
        create("cm-8", False)
        control("POST", "compact")
        control("DELETE", "faults")
        await_event("ADDED", "cm-8")
        out.until(lambda l: json.loads(l)["type"] == "SYNCED"
                  and sum(1 for s in out.seen if '"type":"SYNCED"' in s) > synced,
                  "SYNCED after the re-list")
        events += 2

        watch.send_signal(signal.SIGTERM)
        try:
            rc = watch.wait(timeout=BOUND_S)
        except subprocess.TimeoutExpired:
            fail("k8sha watch did not exit within %d s of SIGTERM" % BOUND_S)
        with open(err_path) as f:
            stderr = f.read()
        if rc != 0 or "LeakSanitizer" in stderr or "definitely lost" in stderr:
            fail("k8sha watch exited %d after %d events; %s said:\n%s"
                 % (rc, events, checker, stderr[-6000:]))
        print("%d events, SIGTERM, exit 0: no leak reported by %s" % (events, checker))
    finally:
        if watch and watch.poll() is None:
            watch.kill()
            watch.wait()
        kl.terminate()
        kl.wait()
        subprocess.run(["rm", "-rf", tmp])


main()
