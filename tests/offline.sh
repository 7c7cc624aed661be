#!/bin/sh
# Runs a command in the network namespace it was started in (`unshare -n tests/offline.sh CMD`)
# with the loopback interface up and nothing else: the tests' own servers on 127.0.0.1 work, and
# anything that would reach the network fails.
set -e
ip link set lo up
exec "$@"
