#!/usr/bin/env python3
"""config_examples.py: every key of the settings tables is in the example configs.

store/store.toml and pipeline/pipeline.toml are meant to show every key with
its default.  This reads the keys from the services' own tables (the output of
build/tools/config-reference, the same text the README's reference is) and
fails, naming the key and the file, when one is missing, so a key added to a
table cannot be forgotten in the example.

What counts as present: a line `key = ...` under its `[section]` header, set
or commented out (`# key = ...`); a whole section may be commented out,
header and all (`# [security]`).  A `[[providers]]` key counts when it is in
at least one `[[providers]]` table of the example, set or commented out, so
keys that apply only to some provider types can be shown commented in the
table of a type they do not apply to.

Usage: config_examples.py CONFIG_REFERENCE_BINARY SOURCE_ROOT
"""
import re
import subprocess
import sys

HEADER = re.compile(r"^\s*(?:#\s*)?\[(\[?)\s*([A-Za-z0-9_.]+)\s*\]?\]\s*(?:#.*)?$")
KEY = re.compile(r"^\s*(?:#\s*)?([A-Za-z0-9_]+)\s*=")


def reference(binary):
    """{service: {"main": [keys], "arrays": {array: [keys]}}} from the generator."""
    out = subprocess.run([binary], check=True, capture_output=True, text=True).stdout
    services, current, table = {}, None, None
    for line in out.splitlines():
        m = re.match(r"^### (\S+) \(`([^`]+)`", line)
        if m:
            current = services.setdefault(m.group(2), {"main": [], "arrays": {}})
            table = current["main"]
            continue
        m = re.match(r"^#### `\[\[(\w+)\]\]`", line)
        if m:
            table = current["arrays"].setdefault(m.group(1), [])
            continue
        m = re.match(r"^\| `([^`]+)` \|", line)
        if m and table is not None:
            table.append(m.group(1))
    return services


def example_keys(path):
    """({"section.key"}, {array: {key}}) as the example has them."""
    main, arrays = set(), {}
    section, array = "", None
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = HEADER.match(line)
            if m:
                if m.group(1):  # [[array]]
                    array, section = m.group(2), ""
                    arrays.setdefault(array, set())
                else:
                    array, section = None, m.group(2)
                continue
            m = KEY.match(line)
            if not m:
                continue
            if array:
                arrays[array].add(m.group(1))
            elif section:
                main.add(section + "." + m.group(1))
    return main, arrays


def main():
    binary, root = sys.argv[1], sys.argv[2]
    failures = 0
    for name, ref in sorted(reference(binary).items()):
        missing = 0
        path = {"store.toml": "store/store.toml", "pipeline.toml": "pipeline/pipeline.toml"}[name]
        have, have_arrays = example_keys(f"{root}/{path}")
        for key in ref["main"]:
            if key not in have:
                print(f"FAIL {path}: no line for {key} (set it, or '# {key.split('.', 1)[1]} = ...' "
                      f"under [{key.split('.', 1)[0]}])")
                missing += 1
        for array, keys in ref["arrays"].items():
            for key in keys:
                if key not in have_arrays.get(array, set()):
                    print(f"FAIL {path}: no [[{array}]] table has {key} (set or commented out)")
                    missing += 1
        total = len(ref["main"]) + sum(len(k) for k in ref["arrays"].values())
        print(f"{'ok  ' if not missing else 'FAIL'} {path}: {total} keys in the table, "
              f"{missing} missing")
        failures += missing
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
