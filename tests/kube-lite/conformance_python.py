#!/usr/bin/python3
"""Conformance cross-check: drive k8sha-kube-lite with the official Python
client (python3-kubernetes) through the kubeconfig the server writes, over
TLS with a bearer token, as against a real cluster.

Usage: conformance_python.py SERVER_BINARY
Exit 77 (skip) only when the kubernetes package cannot be imported.
"""
import datetime
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import urllib.request

try:
    from kubernetes import client, config, watch
    from kubernetes.client.rest import ApiException
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"SKIP: the kubernetes Python package is not importable ({e}); "
          "install python3-kubernetes")
    sys.exit(77)

WAIT = 20  # seconds: a bound against hangs, never a synchronisation delay
NS = "flink"


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def expect_api_error(status, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except ApiException as e:
        if e.status != status:
            fail(f"{fn.__name__}: want {status}, got {e.status}: {e.body}")
        return json.loads(e.body) if e.body else {}
    fail(f"{fn.__name__}: succeeded, want {status}")


def start_server(binary, tmp):
    tokens = os.path.join(tmp, "tokens")
    with open(tokens, "w") as f:
        f.write("reader,reader,configmaps:get|list\n")
    args = [binary, "--port", "0", "--tls", "--token-file", tokens,
            "--admin-token", "py-admin", "--namespace", NS,
            "--write-kubeconfig", os.path.join(tmp, "kc"),
            "--write-ca", os.path.join(tmp, "ca.crt")]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()  # blocks until ready, or EOF if it died
    if not line.startswith("kube-lite listening on https://"):
        proc.kill()
        fail(f"server did not start: {line!r}")
    return proc, line.split()[-1]


def control(url, tmp, path, body):
    ctx = ssl.create_default_context(cafile=os.path.join(tmp, "ca.crt"))
    req = urllib.request.Request(f"{url}/kube-lite/v1/{path}", method="POST",
                                 data=json.dumps(body).encode(),
                                 headers={"Authorization": "Bearer py-admin",
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, context=ctx, timeout=WAIT) as r:
        return json.loads(r.read())


def collect_events(list_fn, n, **kwargs):
    w = watch.Watch()
    events = []
    for ev in w.stream(list_fn, NS, timeout_seconds=WAIT, **kwargs):
        events.append(ev)
        if len(events) == n:
            w.stop()
    return events


def main():
    binary = sys.argv[1]
    tmp = tempfile.mkdtemp()
    proc = None
    try:
        proc, url = start_server(binary, tmp)
        print(f"kubernetes client {__import__('kubernetes').__version__}, server {url}")
        config.load_kube_config(config_file=os.path.join(tmp, "kc"))
        v1 = client.CoreV1Api()
        coord = client.CoordinationV1Api()

        start_rv = v1.list_namespaced_config_map(NS).metadata.resource_version
        cm = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="py", labels={"app": "py"}),
                                data={"k": "v"})
        created = v1.create_namespaced_config_map(NS, cm)
        if created.metadata.uid is None or created.data != {"k": "v"}:
            fail(f"create returned {created}")
        body = expect_api_error(409, v1.create_namespaced_config_map, NS, cm)
        if body.get("reason") != "AlreadyExists":
            fail(f"AlreadyExists expected: {body}")

        # A replace carrying a stale resourceVersion is a 409 Conflict.
        fresh = v1.read_namespaced_config_map("py", NS)
        fresh.data["k"] = "v2"
        v1.replace_namespaced_config_map("py", NS, fresh)
        fresh.data["k"] = "v3"  # still carries the previous resourceVersion
        body = expect_api_error(409, v1.replace_namespaced_config_map, "py", NS, fresh)
        if body.get("reason") != "Conflict" or "has been modified" not in body.get("message", ""):
            fail(f"Conflict expected: {body}")
        v1.patch_namespaced_config_map("py", NS, {"data": {"p": "1"}})

        listed = v1.list_namespaced_config_map(NS, label_selector="app=py")
        if [i.metadata.name for i in listed.items] != ["py"]:
            fail(f"list: {listed.items}")

        status = v1.delete_namespaced_config_map("py", NS)
        if status.status != "Success":
            fail(f"delete returned {status}")
        expect_api_error(404, v1.read_namespaced_config_map, "py", NS)

        # Watching from before the changes replays them in order.
        events = collect_events(v1.list_namespaced_config_map, 4, resource_version=start_rv)
        got = [(e["type"], e["object"].metadata.name) for e in events]
        want = [("ADDED", "py"), ("MODIFIED", "py"), ("MODIFIED", "py"), ("DELETED", "py")]
        if got != want:
            fail(f"watch: got {got}, want {want}")
        rvs = [int(e["object"].metadata.resource_version) for e in events]
        if rvs != sorted(rvs) or len(set(rvs)) != 4:
            fail(f"watch resourceVersions not increasing: {rvs}")
        print(f"watch events: {got}")

        # Leases, with MicroTime renewTime.
        now = datetime.datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=datetime.timezone.utc)
        lease = client.V1Lease(metadata=client.V1ObjectMeta(name="leader"),
                               spec=client.V1LeaseSpec(holder_identity="me",
                                                       lease_duration_seconds=15,
                                                       renew_time=now))
        coord.create_namespaced_lease(NS, lease)
        got_lease = coord.read_namespaced_lease("leader", NS)
        if got_lease.spec.renew_time != now or got_lease.spec.holder_identity != "me":
            fail(f"lease round trip: {got_lease.spec}")

        # After a forced compaction, a watch from an old resourceVersion
        # fails with 410 as against a real apiserver: the client raises
        # ApiException(410) (or hands over the ERROR event).
        control(url, tmp, "compact", {})
        try:
            events = collect_events(v1.list_namespaced_config_map, 1, resource_version=start_rv)
            ev = events[0] if events else None
            if not ev or ev["type"] != "ERROR" or ev["raw_object"].get("code") != 410:
                fail(f"want 410 after compaction, got {ev}")
            print("410 delivered as an ERROR event")
        except ApiException as e:
            if e.status != 410:
                fail(f"want 410 after compaction, got {e.status}")
            print(f"410 raised as ApiException: {e.reason}")

        # A restricted token is refused what its rules lack.
        restricted = client.Configuration.get_default_copy()
        restricted.api_key = {"authorization": "Bearer reader"}
        ro = client.CoreV1Api(client.ApiClient(restricted))
        ro.list_namespaced_config_map(NS)
        body = expect_api_error(403, ro.create_namespaced_config_map, NS, cm)
        if "cannot create resource" not in body.get("message", ""):
            fail(f"403 message: {body}")

        proc.terminate()
        rc = proc.wait(timeout=WAIT)
        proc = None
        if rc != 0:
            fail(f"server exited with {rc} on SIGTERM")
        print("PASS")
    finally:
        if proc:
            proc.kill()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
