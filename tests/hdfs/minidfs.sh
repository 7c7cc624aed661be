#!/usr/bin/env bash
# Runs a program with a real HDFS: Hadoop's MiniDFSCluster (MiniDfs.java, one JVM) with WebHDFS,
# every server on 127.0.0.1 on a free port, storage in a scratch folder; then stops it:
#   minidfs.sh [--ha | --kerberos | --httpfs] [--ls-limit N] [--set KEY=VALUE]... PROGRAM [ARGS...]
# --ha: two namenodes of one nameservice sharing their edits, the first active, the second
# standby. --ls-limit N: the namenode lists N entries a batch (dfs.ls.limit; Hadoop's default is
# 1000), so that a listing of more than N entries takes several LISTSTATUS_BATCH requests.
# --set KEY=VALUE: any other property of the cluster (e.g. for benchmarks of a tuned namenode).
# --kerberos: a Kerberos-secured cluster (one namenode) and its KDC (Hadoop's MiniKdc, in the same
# JVM, realm EXAMPLE.COM): WebHDFS takes SPNEGO, not user.name, as client@EXAMPLE.COM, whose
# keytab the program is given; every server is on localhost and named so (the SPNEGO target of a
# URL's host localhost is HTTP/localhost, the namenode's HTTP principal). Plain HTTP; the
# datanode's URL in a redirect carries a delegation token, and the datanode takes that.
# --httpfs: one namenode, and HttpFS (Hadoop's REST gateway to HDFS; 3.4.2, the newest on Maven
# Central, on the cluster's 3.4.3 jars) in the same JVM, on 127.0.0.1 on a free port, in front of
# it, simple authentication: HttpFS serves the WebHDFS API under /webhdfs/v1 itself (a CREATE's
# redirect names HttpFS, with data=true; OPEN answers the bytes at once) and reaches HDFS over RPC
# as the JVM's user, a proxy user of the request's user.name. The program sees HttpFS only:
# hdfs-site.xml's dfs.namenode.http-address is HttpFS's, as a deployment that points clients at
# HttpFS has it.
#
# The program is given:
#   HADOOP_CONF_DIR              a folder with core-site.xml (fs.defaultFS) and hdfs-site.xml (the
#                                namenodes' addresses; in HA the nameservice and its namenodes)
#   HADOOP_USER_NAME             k8sha (unset with --kerberos: the user is the principal's)
#   K8SHA_TEST_HDFS_DEFAULT_FS   fs.defaultFS: hdfs://127.0.0.1:PORT, or hdfs://NAMESERVICE in HA
#   K8SHA_TEST_HDFS_WEBHDFS      the active namenode's HTTP address, http://127.0.0.1:PORT
#                                (with --httpfs HttpFS's, http://127.0.0.1:PORT)
#   K8SHA_TEST_HDFS_NAMENODES    (HA) every namenode as ID=http://127.0.0.1:PORT, space-separated
#   K8SHA_TEST_HDFS_HTTPFS       1 with --httpfs (unset otherwise): WebHDFS's API is HttpFS's
# and with --kerberos, where both addresses are on localhost, not 127.0.0.1, and core-site.xml
# has hadoop.security.authentication=kerberos (hdfs-site.xml dfs.namenode.kerberos.principal):
#   K8SHA_TEST_HDFS_KERBEROS     the client's principal, client@EXAMPLE.COM (unset otherwise)
#   KRB5_CONFIG                  the KDC's krb5.conf (its KDC on localhost, over TCP)
#   KRB5_CLIENT_KTNAME           the client's keytab: MIT GSS-API gets the client's ticket from it
#                                on its own, no kinit (e.g. curl --negotiate -u :)
#   KRB5CCNAME                   FILE:SCRATCH/ccache, the credential cache, in the scratch folder
#   K8SHA_TEST_HDFS_CONTROL      a command that drives the cluster and returns when it is done:
#                                `$K8SHA_TEST_HDFS_CONTROL failover` (HA; prints `active ID`),
#                                `stop-nn ID`, `restart-nn ID`, `status`; it prints the launcher's
#                                answer and exits 0 on `ok`, 1 on `error MESSAGE` (on stderr)
# Its exit status is this script's. Hadoop's classpath is resolved once per version of pom.xml
# into ${XDG_CACHE_HOME:-~/.cache}/libk8sha/hadoop-<version>, where the launcher is compiled too.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
usage() {
  [ $# -eq 0 ] || echo "minidfs.sh: $*" >&2
  echo "usage: minidfs.sh [--ha | --kerberos | --httpfs] [--ls-limit N] [--set KEY=VALUE]..." \
    "PROGRAM [ARGS...]" >&2
  exit 2
}
launcher_args=()
ha=false
kerberos=false
httpfs=false
while [ $# -gt 0 ]; do
  case $1 in
    --ha) ha=true; launcher_args+=(--ha); shift ;;
    --kerberos) kerberos=true; shift ;;
    --httpfs) httpfs=true; shift ;;
    --ls-limit) [ $# -ge 2 ] || usage; launcher_args+=(--ls-limit "$2"); shift 2 ;;
    --set) [ $# -ge 2 ] || usage; launcher_args+=(--set "$2"); shift 2 ;;
    --) shift; break ;;
    -*) usage ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || usage
if $ha && $kerberos; then usage "--kerberos is of one namenode: not with --ha"; fi
if $httpfs && { $ha || $kerberos; }; then
  usage "--httpfs is of one namenode and simple authentication: not with --ha or --kerberos"
fi

# The classpath, resolved once per version of pom.xml (a changed pom is resolved again).
version=$(sed -n 's:.*<hadoop.version>\(.*\)</hadoop.version>.*:\1:p' "$here/pom.xml")
cache=${XDG_CACHE_HOME:-$HOME/.cache}/libk8sha/hadoop-$version
mkdir -p "$cache"
pom_sum=$(sha256sum < "$here/pom.xml" | cut -c1-16)
if [ ! -s "$cache/classpath-$pom_sum" ]; then
  tmp=$(mktemp "$cache/classpath.XXXXXX")
  mvn -q -B -f "$here/pom.xml" dependency:build-classpath -Dmdep.outputFile="$tmp" \
    > "$cache/maven.log" 2>&1 || { echo "minidfs.sh: resolving Hadoop $version failed:" >&2;
                                   tail -20 "$cache/maven.log" >&2; rm -f "$tmp"; exit 1; }
  mv "$tmp" "$cache/classpath-$pom_sum"
fi
classpath=$(cat "$cache/classpath-$pom_sum")

# The launcher, compiled once per version of its source and of the classpath (other versions
# stay: another checkout's run may be using one; each is some tens of KB).
sum=$(cat "$here/MiniDfs.java" "$here/pom.xml" | sha256sum | cut -c1-16)
classes=$cache/launcher-$sum
if [ ! -f "$classes/MiniDfs.class" ]; then
  tmp=$(mktemp -d "$cache/compile.XXXXXX")
  javac -nowarn -d "$tmp" -cp "$classpath" "$here/MiniDfs.java" > "$cache/javac.log" 2>&1 ||
    { echo "minidfs.sh: compiling MiniDfs.java failed:" >&2; cat "$cache/javac.log" >&2;
      rm -rf "$tmp"; exit 1; }
  mv -T "$tmp" "$classes" 2>/dev/null || rm -rf "$tmp" # (another run got there first)
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/k8sha-hdfs.XXXXXX")
if $kerberos; then mkdir "$work/krb"; launcher_args+=(--kerberos "$work/krb"); fi
if $httpfs; then mkdir "$work/httpfs"; launcher_args+=(--httpfs "$work/httpfs"); fi
mkfifo "$work/in"
: > "$work/out"
# The launcher reads commands from the FIFO "in" (held open here, so that it sees the end of its
# input when this script is done, even killed) and answers in the file "out". Without the
# --add-opens the cluster starts, but every WebHDFS request fails with a 500. C1 only: up
# sooner and 30 MB smaller, for a server that lives a minute.
(cd "$work" && exec java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
   --add-opens java.base/java.lang=ALL-UNNAMED -Djava.net.preferIPv4Stack=true \
   -Dlog4j.configuration="file:$here/log4j.properties" -Dk8sha.hdfs.log="$work/cluster.log" \
   -cp "$classes:$classpath" \
   MiniDfs "${launcher_args[@]}" "$work/dfs" < "$work/in" > "$work/out" 2>> "$work/cluster.log") &
pid=$!
exec 3> "$work/in"
stop() {
  exec 3>&- # the end of its input: the launcher shuts the cluster down and exits
  for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill "$pid" 2>/dev/null && for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap stop EXIT
log_tail() { echo "--- the cluster's log" >&2; tail -50 "$work/cluster.log" >&2 || true; }

# Ready when it says so; a bound, not a pace.
ready=false
for _ in $(seq 1200); do
  grep -q '^ready$' "$work/out" && { ready=true; break; }
  if grep -q '^error' "$work/out"; then
    echo "minidfs.sh: the cluster did not start: $(grep '^error' "$work/out")" >&2; log_tail; exit 1
  fi
  kill -0 "$pid" 2>/dev/null || { echo "minidfs.sh: the cluster's JVM exited" >&2; log_tail; exit 1; }
  sleep 0.1
done
$ready || { echo "minidfs.sh: the cluster was not up within 120 s" >&2; log_tail; exit 1; }

declare -A rpc http state
ids=() ns= krb5conf= clientkeytab= principal= nnprincipal= httpfs_url=
while read -r kind a b c d; do
  case $kind in
    rpc) rpc[$b]=$c; ids+=("$b") ;;
    webhdfs) http[$b]=$c; state[$b]=$d ;;
    nameservice) ns=$a ;;
    krb5conf) krb5conf=$a ;;
    clientkeytab) clientkeytab=$a ;;
    principal) principal=$a ;;
    nnprincipal) nnprincipal=$a ;;
    httpfs) httpfs_url=$a ;;
  esac
done < "$work/out"
if $kerberos && { [ -z "$krb5conf" ] || [ -z "$clientkeytab" ] || [ -z "$principal" ] ||
                  [ -z "$nnprincipal" ]; }; then
  echo "minidfs.sh: the launcher did not say where its Kerberos files are" >&2; cat "$work/out" >&2
  exit 1
fi

if $httpfs && [ -z "$httpfs_url" ]; then
  echo "minidfs.sh: the launcher did not say where HttpFS is" >&2; cat "$work/out" >&2; exit 1
fi

mkdir "$work/conf"
property() { printf '  <property><name>%s</name><value>%s</value></property>\n' "$1" "$2"; }
active=
for id in "${ids[@]}"; do [ "${state[$id]}" = active ] && active=$id; done
[ -n "$active" ] || { echo "minidfs.sh: no namenode is active" >&2; cat "$work/out" >&2; exit 1; }
# The program's WebHDFS: the active namenode's, or with --httpfs HttpFS (the namenode's own HTTP
# address is then named nowhere).
webhdfs=${http[$active]}
if $httpfs; then webhdfs=$httpfs_url; fi
if $ha; then
  default_fs=hdfs://$ns
  namenodes=
  for id in "${ids[@]}"; do namenodes="$namenodes${namenodes:+ }$id=${http[$id]}"; done
  { echo '<configuration>'
    property dfs.nameservices "$ns"
    property "dfs.ha.namenodes.$ns" "$(IFS=,; echo "${ids[*]}")"
    for id in "${ids[@]}"; do
      property "dfs.namenode.rpc-address.$ns.$id" "${rpc[$id]}"
      property "dfs.namenode.http-address.$ns.$id" "${http[$id]#http://}"
    done
    property "dfs.client.failover.proxy.provider.$ns" \
      org.apache.hadoop.hdfs.server.namenode.ha.ConfiguredFailoverProxyProvider
    echo '</configuration>'
  } > "$work/conf/hdfs-site.xml"
else
  default_fs=hdfs://${rpc[$active]}
  { echo '<configuration>'
    property dfs.namenode.rpc-address "${rpc[$active]}"
    property dfs.namenode.http-address "${webhdfs#http://}"
    if $kerberos; then property dfs.namenode.kerberos.principal "$nnprincipal"; fi
    echo '</configuration>'
  } > "$work/conf/hdfs-site.xml"
fi
{ echo '<configuration>'
  property fs.defaultFS "$default_fs"
  if $kerberos; then property hadoop.security.authentication kerberos; fi
  echo '</configuration>'
} > "$work/conf/core-site.xml"

# The control command: one command at a time (a lock), written to the launcher's input, then
# the launcher's answer: the lines it appends to "out" up to `ok` or `error ...`.
cat > "$work/control" <<CONTROL
#!/usr/bin/env bash
# $work/control COMMAND [ARG]: failover, stop-nn ID, restart-nn ID or status (see minidfs.sh).
set -euo pipefail
[ \$# -ge 1 ] || { echo "usage: \$0 failover | stop-nn ID | restart-nn ID | status" >&2; exit 2; }
exec 9> "$work/control.lock"
flock 9
from=\$(( \$(wc -l < "$work/out") + 1 ))
printf '%s\n' "\$*" 1<> "$work/in"
for _ in \$(seq 2400); do
  answer=\$(tail -n "+\$from" "$work/out")
  case \${answer##*$'\n'} in
    ok) printf '%s\n' "\$answer"; exit 0 ;;
    error*) printf '%s\n' "\$answer" >&2; exit 1 ;;
  esac
  kill -0 $pid 2>/dev/null || { echo "control: the cluster's JVM is gone" >&2; exit 1; }
  sleep 0.05
done
echo "control: no answer to \$* within 120 s" >&2
exit 1
CONTROL
chmod +x "$work/control"

export HADOOP_CONF_DIR=$work/conf
export K8SHA_TEST_HDFS_DEFAULT_FS=$default_fs K8SHA_TEST_HDFS_WEBHDFS=$webhdfs
export K8SHA_TEST_HDFS_CONTROL=$work/control
if $ha; then export K8SHA_TEST_HDFS_NAMENODES=$namenodes; fi
if $httpfs; then export K8SHA_TEST_HDFS_HTTPFS=1; else unset K8SHA_TEST_HDFS_HTTPFS; fi
if $kerberos; then
  # The user is the principal's (client), not one named by the program.
  unset HADOOP_USER_NAME
  export K8SHA_TEST_HDFS_KERBEROS=$principal KRB5_CONFIG=$krb5conf
  export KRB5_CLIENT_KTNAME=$clientkeytab KRB5CCNAME=FILE:$work/ccache
else
  export HADOOP_USER_NAME=k8sha
  unset K8SHA_TEST_HDFS_KERBEROS
fi
set +e
"$@" 3>&-
rc=$?
set -e
if [ $rc -ne 0 ]; then log_tail; fi
exit $rc
