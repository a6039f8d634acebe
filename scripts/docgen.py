"""docgen.py - what the docs generators share: write a generated file, or
with --check compare it and print the diff (gen_suite.py, gen_report_docs.py)."""

import difflib
import sys


def write_or_check(path, new, check, name):
    """Writes new to path unless it is already there; with check, returns 1
    and prints a unified diff when path differs from new. Returns 0 else."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if check:
        if new != old:
            sys.stdout.writelines(difflib.unified_diff(
                old.splitlines(keepends=True), new.splitlines(keepends=True), name, "generated"))
            print("%s is stale: run `make docs`" % name, file=sys.stderr)
            return 1
        return 0
    if new != old:
        path.write_text(new, encoding="utf-8")
    return 0
