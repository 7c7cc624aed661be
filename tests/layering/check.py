#!/usr/bin/env python3
"""The modules of lib/ depend on each other one way only. Order, from the leaves up:

    util      lib/core/* but the context: allocator, timer, log, base64, file I/O, backoff, ...
    layout    lib/layout: Flink's serialized handles (a grammar parser)
    config    lib/config
    kube      lib/kube: the Kubernetes client
    storage   lib/storage: blob backends
    election  lib/election
    store     lib/store
    context   lib/core/ctx.c, ctx_entry.c, ctx_priv.h: the context that wires them

An `#include "dir/file.h"` in lib/ may name a header of its own module or of one below it. The
includes that still run the other way are listed in known-violations.txt, each to go as the
code is reorganised: this check fails on an include against the order that is not listed there
(a new one), and on a listed one that no longer exists (take it off the list).

    check.py LIB_DIR KNOWN_LIST
"""
import os
import re
import sys

ORDER = ["util", "layout", "config", "kube", "storage", "election", "store", "context"]
CONTEXT = {"core/ctx.c", "core/ctx_entry.c", "core/ctx_priv.h"}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([a-z_]+/[A-Za-z0-9_.]+)"', re.M)


def module(rel):
    if rel in CONTEXT:
        return "context"
    top = rel.split("/", 1)[0]
    return "util" if top == "core" else top


def main():
    lib, known_path = sys.argv[1], sys.argv[2]
    found = set()
    unknown_modules = set()
    for d, _, files in os.walk(lib):
        for name in files:
            if not name.endswith((".c", ".h")):
                continue
            path = os.path.join(d, name)
            rel = os.path.relpath(path, lib)
            with open(path, encoding="utf-8") as f:
                text = f.read()
            for inc in INCLUDE.findall(text):
                if inc.startswith("k8sha/"):
                    continue  # the public headers: below everything
                a, b = module(rel), module(inc)
                for m in (a, b):
                    if m not in ORDER:
                        unknown_modules.add(m)
                if a in ORDER and b in ORDER and ORDER.index(a) < ORDER.index(b):
                    found.add("%s -> %s" % (rel, inc))
    if unknown_modules:
        print("layering: modules without a place in the order: %s (add them to ORDER in %s)"
              % (", ".join(sorted(unknown_modules)), __file__))
        return 1
    with open(known_path, encoding="utf-8") as f:
        known = {line.strip() for line in f if line.strip() and not line.startswith("#")}
    new, gone = sorted(found - known), sorted(known - found)
    for v in new:
        print("layering: %s includes a module above its own (order: %s)" % (v, " < ".join(ORDER)))
    for v in gone:
        print("layering: %s is listed in %s but no longer there: take it off the list"
              % (v, known_path))
    print("layering: %d includes against the order remain, all listed" % len(found)
          if not new and not gone else "layering: FAILED")
    return 1 if new or gone else 0


if __name__ == "__main__":
    sys.exit(main())
