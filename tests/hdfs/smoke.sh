#!/usr/bin/env bash
# WebHDFS as the hdfs backend relies on it, checked with curl against the cluster of minidfs.sh:
#   minidfs.sh [--ha | --kerberos | --httpfs] [--ls-limit N] smoke.sh [N]
# N: the namenode's dfs.ls.limit, so that the pages of LISTSTATUS_BATCH are checked as well.
# Each check states what the server does; a change in Hadoop that the backend would notice
# fails here first. Quiet on success.
# With --kerberos (K8SHA_TEST_HDFS_KERBEROS, the client's principal) every request to the
# namenode is made with SPNEGO (curl --negotiate, the ticket from KRB5_CLIENT_KTNAME's keytab)
# and without user.name; the datanode's hop goes by the delegation token of the redirect.
# With --httpfs (K8SHA_TEST_HDFS_HTTPFS) the server is HttpFS, and the checks are of what HttpFS
# does where it differs from WebHDFS: a CREATE is redirected to HttpFS itself (data=true), which
# wants the bytes as application/octet-stream and answers 201 with its own URL of the file; OPEN
# answers the bytes at once; failures of HDFS other than a missing file (FileAlreadyExists,
# PathIsNotEmptyDirectory) are 500s, not 403s; LISTSTATUS_BATCH lists the whole folder in one
# page, whatever dfs.ls.limit, and ignores startAfter; a request without user.name is a 401.
set -euo pipefail
page=${1:-}
webhdfs=${K8SHA_TEST_HDFS_WEBHDFS:?run under minidfs.sh}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/k8sha-hdfs-smoke.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
principal=${K8SHA_TEST_HDFS_KERBEROS:-}
httpfs=${K8SHA_TEST_HDFS_HTTPFS:-}
# Who answers a CREATE's two requests (in failure messages).
if [ -n "$httpfs" ]; then hop1=HttpFS hop2="HttpFS (data=true)"
else hop1="the namenode" hop2="the datanode"; fi
if [ -n "$principal" ]; then
  user= owner=${principal%%@*} host=localhost auth=(--negotiate -u :)
else
  user='&user.name=k8sha' owner=k8sha host=127.0.0.1 auth=()
fi

fail() { echo "smoke.sh: $*" >&2; [ -s "$tmp/body" ] && head -c 2000 "$tmp/body" >&2 && echo >&2; exit 1; }
# req METHOD URL [CURL ARGS...]: the status in $code (000: no connection), the body in
# $tmp/body, the Location header in $location. Redirects are not followed unless asked (-L).
# With Kerberos, SPNEGO when the server asks for it, unless noauth is set (noauth=1 req ...).
req() {
  local method=$1 url=$2 a=("${auth[@]}")
  shift 2
  [ -z "${noauth:-}" ] || a=()
  code=$(curl -s -X "$method" -o "$tmp/body" -D "$tmp/headers" -w '%{http_code}' "${a[@]}" "$@" \
    "$url") || true
  location=$(sed -n 's/^[Ll]ocation: *//p' "$tmp/headers" 2>/dev/null | tr -d '\r' | tail -1)
}
# json EXPR: EXPR of the body parsed as JSON (d).
json() {
  python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
    "$tmp/body" "$1"
}
expect() { # expect CODE WHAT
  [ "$code" = "$1" ] || fail "$2: status $code, expected $1"
}
expect_exception() { # expect_exception CODE EXCEPTION WHAT: the RemoteException of a failure
  expect "$1" "$3"
  local e
  e=$(json 'd["RemoteException"]["exception"]') || fail "$3: no RemoteException"
  [ "$e" = "$2" ] || fail "$3: $e, expected $2"
}
expect_json() { # expect_json EXPR VALUE WHAT
  local v
  v=$(json "$1") || fail "$3: not JSON with $1"
  [ "$v" = "$2" ] || fail "$3: $1 is $v, expected $2"
}
# The first hop of a data operation: a 307 to a datanode on 127.0.0.1 (not the namenode); with
# Kerberos on localhost, with a delegation token (the datanode takes no SPNEGO). HttpFS (CREATE
# only) redirects to itself: the same operation with data=true.
expect_redirect() { # expect_redirect NAMENODE WHAT
  expect 307 "$2"
  if [ -n "$httpfs" ]; then
    case $location in
      "$1/webhdfs/v1/"*[?\&]data=true*) ;;
      *) fail "$2: redirected to '$location', not to HttpFS itself with data=true" ;;
    esac
    return 0
  fi
  case $location in
    "http://$host:"*/webhdfs/v1/*) ;;
    *) fail "$2: redirected to '$location', not to a datanode on $host" ;;
  esac
  [ "${location%%/webhdfs/*}" != "$1" ] || fail "$2: redirected to the namenode itself"
  if [ -n "$principal" ]; then
    case $location in
      *[?\&]delegation=?*) ;;
      *) fail "$2: redirected to '$location', without a delegation token" ;;
    esac
  fi
}

# create NAMENODE PATH FILE: CREATE without overwrite, its two hops.
create() {
  req PUT "$1/webhdfs/v1$2?op=CREATE&overwrite=false$user"
  expect_redirect "$1" "CREATE $2 at $hop1"
  req PUT "$location" --data-binary "@$3" -H 'Content-Type: application/octet-stream'
  expect 201 "CREATE $2 at $hop2"
  if [ -n "$httpfs" ]; then
    # HttpFS: its own URL of the file, in the Location header and as JSON.
    [ "$location" = "$1/webhdfs/v1$2" ] ||
      fail "CREATE $2: HttpFS's Location is '$location', not $1/webhdfs/v1$2"
    expect_json 'd["Location"]' "$1/webhdfs/v1$2" "CREATE $2 at HttpFS"
    return 0
  fi
  case $location in
    hdfs://*"$2") ;;
    *) fail "CREATE $2: the datanode's Location is '$location', not an hdfs:// URL of the file" ;;
  esac
}
# expect_content NAMENODE PATH FILE: OPEN, its redirect, then the bytes; from HttpFS the bytes at
# once: with a Content-Length when they fit in its server's response buffer (under 32 KiB),
# else chunked, without one (no length to check a short read against).
expect_content() {
  req GET "$1/webhdfs/v1$2?op=OPEN$user"
  if [ -n "$httpfs" ]; then
    expect 200 "OPEN $2 at HttpFS (no redirect)"
    local length size
    length=$(sed -n 's/^[Cc]ontent-[Ll]ength: *//p' "$tmp/headers" | tr -d '\r' | tail -1)
    size=$(wc -c < "$3")
    if [ "$size" -lt 32768 ]; then
      [ "$length" = "$size" ] ||
        fail "OPEN $2 at HttpFS: Content-Length '$length', the file has $size bytes"
    else
      [ -z "$length" ] && grep -qi '^Transfer-Encoding: chunked' "$tmp/headers" ||
        fail "OPEN $2 at HttpFS: $size bytes not chunked, or with a Content-Length ($length)"
    fi
    cmp -s "$tmp/body" "$3" || fail "OPEN $2: not the bytes written"
    return 0
  fi
  expect_redirect "$1" "OPEN $2"
  case $location in *offset=0*) ;; *) fail "OPEN $2: redirect without offset=0: $location" ;; esac
  req GET "$1/webhdfs/v1$2?op=OPEN$user" -L
  expect 200 "OPEN $2 (following the redirect)"
  cmp -s "$tmp/body" "$3" || fail "OPEN $2: not the bytes written"
}

{ printf 'k8sha\0\377\r\n'; seq 1 20000; } > "$tmp/data" # about 100 KB, not all text
printf 'other' > "$tmp/other"

nn=$webhdfs
# --- Kerberos: nothing without SPNEGO, user.name is no way in, no ticket no entry.
if [ -n "$principal" ]; then
  noauth=1 req GET "$nn/webhdfs/v1/?op=GETFILESTATUS"
  expect 401 "GETFILESTATUS without SPNEGO"
  grep -qi '^WWW-Authenticate: Negotiate' "$tmp/headers" ||
    fail "GETFILESTATUS without SPNEGO: a 401 without WWW-Authenticate: Negotiate"
  noauth=1 req GET "$nn/webhdfs/v1/?op=GETFILESTATUS&user.name=k8sha"
  expect 401 "GETFILESTATUS with user.name, without SPNEGO"
  noauth=1 req PUT "$nn/webhdfs/v1/smoke/denied?op=CREATE&overwrite=false"
  expect 401 "CREATE without SPNEGO"
  KRB5_CLIENT_KTNAME=$tmp/no.keytab KRB5CCNAME=FILE:$tmp/no.ccache \
    req GET "$nn/webhdfs/v1/?op=GETFILESTATUS"
  expect 401 "GETFILESTATUS with --negotiate, but neither a keytab nor a ticket"
  req GET "$nn/webhdfs/v1/?op=GETFILESTATUS"
  expect 200 "GETFILESTATUS with SPNEGO"
fi

# --- Writing, reading, failing as documented.
create "$nn" /smoke/dir/file "$tmp/data" # (the parent folders are made)
expect_content "$nn" /smoke/dir/file "$tmp/data"
# Its owner: user.name's, or with Kerberos the principal's short name.
req GET "$nn/webhdfs/v1/smoke/dir/file?op=GETFILESTATUS$user"
expect 200 "GETFILESTATUS"
expect_json 'd["FileStatus"]["owner"], d["FileStatus"]["type"]' "('$owner', 'FILE')" "GETFILESTATUS"
if [ -n "$httpfs" ]; then
  # The bytes as application/octet-stream only (the backend sends that): else a 400 with no
  # body, and no file; curl's own type for a body is refused too.
  req PUT "$nn/webhdfs/v1/smoke/dir/typeless?op=CREATE&data=true&overwrite=false$user" \
    --data-binary "@$tmp/other" -H 'Content-Type:'
  expect 400 "CREATE's bytes at HttpFS without Content-Type"
  req PUT "$nn/webhdfs/v1/smoke/dir/typeless?op=CREATE&data=true&overwrite=false$user" \
    --data-binary "@$tmp/other"
  expect 400 "CREATE's bytes at HttpFS as application/x-www-form-urlencoded"
  req GET "$nn/webhdfs/v1/smoke/dir/typeless?op=GETFILESTATUS$user"
  expect_exception 404 FileNotFoundException "GETFILESTATUS after CREATE without Content-Type"
  # Simple authentication, no anonymous user: without user.name a 401 (an HTML page).
  req GET "$nn/webhdfs/v1/smoke/dir/file?op=GETFILESTATUS"
  expect 401 "GETFILESTATUS at HttpFS without user.name"
  # An empty file: the bytes' request with no bytes.
  create "$nn" /smoke/dir/empty /dev/null
  expect_content "$nn" /smoke/dir/empty /dev/null
fi
if [ -n "$principal" ]; then
  # With SPNEGO a user.name is not refused, but no one's but the principal's either.
  user='&user.name=k8sha' create "$nn" /smoke/dir/named "$tmp/other"
  req GET "$nn/webhdfs/v1/smoke/dir/named?op=GETFILESTATUS"
  expect_json 'd["FileStatus"]["owner"]' "$owner" "CREATE with SPNEGO and user.name=k8sha"
fi
# overwrite=false on an existing file: the namenode still redirects; the datanode refuses (403).
# HttpFS redirects as well, then refuses with a 500.
req PUT "$nn/webhdfs/v1/smoke/dir/file?op=CREATE&overwrite=false$user"
expect_redirect "$nn" "CREATE of an existing file at $hop1"
req PUT "$location" --data-binary "@$tmp/other" -H 'Content-Type: application/octet-stream'
if [ -n "$httpfs" ]; then
  expect_exception 500 FileAlreadyExistsException "CREATE of an existing file at $hop2"
else
  expect_exception 403 FileAlreadyExistsException "CREATE of an existing file at the datanode"
fi
expect_content "$nn" /smoke/dir/file "$tmp/data" # unchanged
# A missing file: 404 from the namenode itself, no redirect.
req GET "$nn/webhdfs/v1/smoke/dir/missing?op=OPEN$user"
expect_exception 404 FileNotFoundException "OPEN of a missing file"
req GET "$nn/webhdfs/v1/smoke/dir/missing?op=GETFILESTATUS$user"
expect_exception 404 FileNotFoundException "GETFILESTATUS of a missing file"
req GET "$nn/webhdfs/v1/smoke/missing?op=LISTSTATUS_BATCH$user"
expect_exception 404 FileNotFoundException "LISTSTATUS_BATCH of a missing folder"

# --- Listing in pages: startAfter is the last name of the page before.
names="a b c d e f g"
for n in $names; do create "$nn" "/smoke/list/$n" "$tmp/other"; done
total=$(echo $names | wc -w)
# listed WHAT: the page in the body is the whole folder, in order, with no entries remaining.
listed() {
  expect_json '[s["pathSuffix"] for s in d["DirectoryListing"]["partialListing"]["FileStatuses"]["FileStatus"]], d["DirectoryListing"]["remainingEntries"]' \
    "([$(printf "'%s', " $names | sed 's/, $//')], 0)" "$1"
}
if [ -n "$httpfs" ]; then
  # HttpFS: the whole folder in one page, more names than dfs.ls.limit, none remaining...
  req GET "$nn/webhdfs/v1/smoke/list?op=LISTSTATUS_BATCH$user"
  expect 200 "LISTSTATUS_BATCH of /smoke/list at HttpFS"
  listed "LISTSTATUS_BATCH of /smoke/list at HttpFS: the whole folder at once"
  # ... and startAfter is ignored: the whole folder again, even after the last name. (A
  # client only sends it after a page that said more remain, which HttpFS never says.)
  for after in c g; do
    req GET "$nn/webhdfs/v1/smoke/list?op=LISTSTATUS_BATCH&startAfter=$after$user"
    expect 200 "LISTSTATUS_BATCH after '$after' at HttpFS"
    listed "LISTSTATUS_BATCH after '$after' at HttpFS: startAfter ignored"
  done
  # LISTSTATUS, the backend's way with servers without batches: the same names.
  req GET "$nn/webhdfs/v1/smoke/list?op=LISTSTATUS$user"
  expect 200 "LISTSTATUS of /smoke/list at HttpFS"
  expect_json '" ".join(s["pathSuffix"] for s in d["FileStatuses"]["FileStatus"])' "$names" \
    "LISTSTATUS of /smoke/list at HttpFS"
fi
seen=() after= pages=0
while [ -z "$httpfs" ]; do
  req GET "$nn/webhdfs/v1/smoke/list?op=LISTSTATUS_BATCH${after:+&startAfter=$after}$user"
  expect 200 "LISTSTATUS_BATCH of /smoke/list after '$after'"
  got=$(json '" ".join(s["pathSuffix"] for s in d["DirectoryListing"]["partialListing"]["FileStatuses"]["FileStatus"])')
  remaining=$(json 'd["DirectoryListing"]["remainingEntries"]')
  pages=$((pages + 1))
  read -r -a batch <<< "$got"
  [ ${#batch[@]} -gt 0 ] || fail "LISTSTATUS_BATCH after '$after': an empty page"
  if [ -n "$page" ] && [ ${#batch[@]} -gt "$page" ]; then
    fail "LISTSTATUS_BATCH: ${#batch[@]} entries in a page, dfs.ls.limit is $page"
  fi
  seen+=("${batch[@]}")
  [ "$remaining" = $((total - ${#seen[@]})) ] ||
    fail "LISTSTATUS_BATCH after '$after': remainingEntries $remaining, ${#seen[@]} of $total seen"
  [ "$remaining" != 0 ] || break
  after=${batch[-1]}
  [ $pages -le "$total" ] || fail "LISTSTATUS_BATCH does not end"
done
if [ -z "$httpfs" ]; then
  [ "${seen[*]}" = "$names" ] ||
    fail "LISTSTATUS_BATCH listed '${seen[*]}', expected '$names' in order"
  if [ -n "$page" ]; then
    [ $pages = $(((total + page - 1) / page)) ] ||
      fail "LISTSTATUS_BATCH: $pages pages of at most $page"
  fi
  # After the last name: an empty page, not an error.
  req GET "$nn/webhdfs/v1/smoke/list?op=LISTSTATUS_BATCH&startAfter=g$user"
  expect 200 "LISTSTATUS_BATCH after the last name"
  expect_json 'len(d["DirectoryListing"]["partialListing"]["FileStatuses"]["FileStatus"]), d["DirectoryListing"]["remainingEntries"]' \
    "(0, 0)" "LISTSTATUS_BATCH after the last name"
fi
# Of a file: the file itself, with an empty pathSuffix.
req GET "$nn/webhdfs/v1/smoke/dir/file?op=LISTSTATUS_BATCH$user"
expect 200 "LISTSTATUS_BATCH of a file"
expect_json '[(s["pathSuffix"], s["type"], s["length"]) for s in d["DirectoryListing"]["partialListing"]["FileStatuses"]["FileStatus"]]' \
  "[('', 'FILE', $(wc -c < "$tmp/data"))]" "LISTSTATUS_BATCH of a file"

# --- Deleting: a boolean, false when there was nothing to delete.
req DELETE "$nn/webhdfs/v1/smoke/dir/file?op=DELETE$user"
expect 200 "DELETE"
expect_json 'd' "{'boolean': True}" "DELETE"
req DELETE "$nn/webhdfs/v1/smoke/dir/file?op=DELETE$user"
expect 200 "DELETE of a missing file"
expect_json 'd' "{'boolean': False}" "DELETE of a missing file"
req GET "$nn/webhdfs/v1/smoke/dir/file?op=OPEN$user"
expect_exception 404 FileNotFoundException "OPEN after DELETE"
req DELETE "$nn/webhdfs/v1/smoke/list?op=DELETE$user"
if [ -n "$httpfs" ]; then # (HttpFS: a 500)
  expect_exception 500 PathIsNotEmptyDirectoryException "DELETE of a folder with files, not recursive"
else
  expect_exception 403 PathIsNotEmptyDirectoryException "DELETE of a folder with files, not recursive"
fi
req DELETE "$nn/webhdfs/v1/smoke?op=DELETE&recursive=true$user"
expect_json 'd' "{'boolean': True}" "DELETE recursive"

[ -n "${K8SHA_TEST_HDFS_NAMENODES:-}" ] || exit 0

# --- HA: the standby refuses, a failover moves the service, a stopped namenode is gone.
control=${K8SHA_TEST_HDFS_CONTROL:?}
active= standby= active_id= standby_id=
for entry in $K8SHA_TEST_HDFS_NAMENODES; do
  if [ "${entry#*=}" = "$webhdfs" ]; then active=${entry#*=} active_id=${entry%%=*}
  else standby=${entry#*=} standby_id=${entry%%=*}; fi
done
[ -n "$active" ] && [ -n "$standby" ] || fail "K8SHA_TEST_HDFS_NAMENODES: '$K8SHA_TEST_HDFS_NAMENODES'"
# ctl COMMAND [ARG] EXPECTED: the control command's whole answer must be EXPECTED.
ctl() {
  local want=$3 answer
  rm -f "$tmp/body"
  answer=$("$control" "$1" ${2:+"$2"} 2>&1) || fail "control $1${2:+ $2} failed: $answer"
  [ "$answer" = "$want" ] || fail "control $1${2:+ $2} answered '$answer', expected '$want'"
}
# expect_standby NAMENODE WHAT: it answers, but only that it is a standby.
expect_standby() {
  req GET "$1/webhdfs/v1/ha/file?op=OPEN$user"
  expect_exception 403 StandbyException "OPEN at $2"
  req GET "$1/webhdfs/v1/ha?op=LISTSTATUS_BATCH$user"
  expect_exception 403 StandbyException "LISTSTATUS_BATCH at $2"
  req DELETE "$1/webhdfs/v1/ha/none?op=DELETE$user"
  expect_exception 403 StandbyException "DELETE at $2"
}

create "$active" /ha/file "$tmp/data"
expect_standby "$standby" "the standby"
# CREATE at the standby succeeds: the standby redirects all the same, naming the nameservice
# (namenoderpcaddress=NS), and the datanode's client finds the active namenode. A standby is
# told apart by reads and by DELETE, not by CREATE.
create "$standby" /ha/via-standby "$tmp/other"
case $location in hdfs://"${K8SHA_TEST_HDFS_DEFAULT_FS#hdfs://}"/*) ;;
  *) fail "CREATE at the standby: the datanode's Location '$location' is not in the nameservice" ;;
esac
expect_content "$active" /ha/via-standby "$tmp/other"

ctl failover "" "active $standby_id"$'\n'ok
expect_standby "$active" "the namenode that was active"
expect_content "$standby" /ha/file "$tmp/data"
create "$standby" /ha/other "$tmp/other"

# A stopped namenode does not answer at all.
ctl stop-nn "$active_id" ok
req GET "$active/webhdfs/v1/ha/file?op=OPEN$user"
expect 000 "OPEN at a stopped namenode"
expect_content "$standby" /ha/file "$tmp/data"
# Started again, it is a standby; failing over to it, it has everything.
ctl restart-nn "$active_id" "nn $active_id standby"$'\n'ok
expect_standby "$active" "the restarted namenode"
ctl failover "" "active $active_id"$'\n'ok
expect_content "$active" /ha/file "$tmp/data"
expect_content "$active" /ha/other "$tmp/other"
expect_content "$active" /ha/via-standby "$tmp/other"
expect_standby "$standby" "the namenode that was active"
