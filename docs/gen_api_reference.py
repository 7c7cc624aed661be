#!/usr/bin/env python3
"""Generates the API reference (Markdown) from the public headers' comments.

    gen_api_reference.py INCLUDE_DIR OUTPUT.md     write the reference
    gen_api_reference.py --verify INCLUDE_DIR FILE fail if FILE differs from what would be written
    gen_api_reference.py --check INCLUDE_DIR SYMS  fail if an exported function has no comment,
                                                   or a symbol of the version script SYMS is not
                                                   declared in a header

Every `K8SHA_EXPORT` declaration must be directly preceded by its comment; every header starts
with a comment that says what the module is. Types (typedef ... name;) are listed with the
comment before them when there is one.
"""
import os
import re
import sys

ORDER = ["common.h", "version.h", "errors.h", "config.h", "context.h", "watch.h", "election.h",
         "storage.h", "checkpoint.h", "jobgraph.h", "cleanup.h"]


def clean_comment(text):
    text = re.sub(r"^/\*\*?", "", text.strip())
    text = re.sub(r"\*/$", "", text)
    lines = [re.sub(r"^\s*\* ?", "", l) for l in text.splitlines()]
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines)


TOKEN = re.compile(r"/\*.*?\*/|K8SHA_EXPORT[^;]*;"
                   r"|typedef\s+(?:struct|enum)\s+\w+\s*\{(?:[^{}]|\{[^{}]*\})*\}\s*\w+\s*;"
                   r"|typedef\s[^;{]*;", re.S)


ERRNO_ROW = re.compile(r"/\* (.*?) \*/\s*\\\s*XX\((\w+), (-?\d+), \"([^\"]*)\"\)")


def errno_table(src):
    """The rows of K8SHA_ERRNO_MAP (errors.h), as a Markdown table."""
    rows = ["| code | value | k8sha_strerror() | returned when |", "|---|---|---|---|"]
    for when, name, value, text in ERRNO_ROW.findall(src):
        rows.append("| `K8SHA_%s` | %s | %s | %s |" % (name, value, text, when))
    return "\n".join(rows) if len(rows) > 2 else ""


def parse(path):
    src = open(path).read()
    src_no_macros = re.sub(r"^#\s*define[^\n]*(\\\n[^\n]*)*", lambda m: " " * len(m.group(0)),
                           src, flags=re.M)
    items, last_comment, last_end, first, group_doc = [], None, 0, None, None
    for m in TOKEN.finditer(src_no_macros):
        tok = m.group(0)
        between = src_no_macros[last_end:m.start()]
        if tok.startswith("/*"):
            if first is None:
                first = clean_comment(tok)
            last_comment = (clean_comment(tok), m.end())
        else:
            doc = None
            if last_comment and not src_no_macros[last_comment[1]:m.start()].strip():
                doc = last_comment[0]
            elif group_doc and not between.strip() and "\n\n" not in between:
                doc = group_doc  # a group of declarations under one comment
            decl = re.sub(r"\s+", " ", tok.replace("K8SHA_EXPORT ", "")).strip()
            if tok.startswith("K8SHA_EXPORT"):
                name = re.search(r"(\w+)\s*\(", decl)
                items.append(("function", name.group(1) if name else decl, decl, doc))
                group_doc = doc
            else:
                name = re.search(r"(\w+)\s*;$", decl)
                if name and name.group(1) == "k8sha_errno" and errno_table(src):
                    doc = (doc or "") + "\n\n" + errno_table(src)
                items.append(("type", name.group(1) if name else decl,
                              decl if len(decl) < 160 else decl.split("{")[0] + "{ ... } " +
                              (name.group(1) if name else "") + ";", doc))
            last_comment = None
        if tok.startswith("/*"):
            group_doc = None
        last_end = m.end()
        del between
    return first or "", items


def headers(inc):
    names = sorted(os.listdir(os.path.join(inc, "k8sha")),
                   key=lambda n: (ORDER.index(n) if n in ORDER else 99, n))
    return [os.path.join(inc, "k8sha", n) for n in names if n.endswith(".h") or n.endswith(".h.in")]


def main():
    check = sys.argv[1] == "--check"
    verify = sys.argv[1] == "--verify"
    inc = sys.argv[2] if check or verify else sys.argv[1]
    found = set()
    missing, out = [], ["# libk8sha API reference", "",
                        "Generated from the comments in `include/k8sha/*.h` by "
                        "`docs/gen_api_reference.py include docs/api-reference.md` (a test fails "
                        "when it is out of date; `meson compile docs` with `-Ddocs=true` writes it "
                        "into the build tree). The headers are the authority; the conventions are "
                        "in [the API guide](api-guide.md).", ""]
    for path in headers(inc):
        name = os.path.basename(path).replace(".h.in", ".h")
        intro, items = parse(path)
        out += ["## k8sha/%s" % name, "", intro, ""]
        for kind, ident, decl, doc in items:
            if kind == "function":
                found.add(ident)
            if kind == "function" and not doc:
                missing.append("%s: %s" % (name, ident))
            elif kind == "function" and not re.search(r"\bSince \d+\.\d+", doc):
                missing.append("%s: %s says nothing of the release it came in (Since X.Y)"
                               % (name, ident))
            out += ["### `%s`" % ident, "", "```c", decl, "```", ""]
            if doc:
                out += [doc, ""]
    if check:
        syms = re.findall(r"^\s*(k8sha_\w+);", open(sys.argv[3]).read(), re.M)
        missing += ["%s: exported but not found in a header" % n for n in syms if n not in found]
    if missing:
        print("undocumented public functions:\n  " + "\n  ".join(missing), file=sys.stderr)
        return 1
    if check:
        print("all %d public functions are documented" % len(found))
        return 0
    text = "\n".join(out) + "\n"
    if verify:
        if open(sys.argv[3]).read() != text:
            print("%s is out of date: run docs/gen_api_reference.py include %s" %
                  (sys.argv[3], sys.argv[3]), file=sys.stderr)
            return 1
        print("%s is current" % sys.argv[3])
        return 0
    with open(sys.argv[2], "w") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
