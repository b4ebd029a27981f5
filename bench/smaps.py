#!/usr/bin/env python3
"""smaps.py [-v] PID [LABEL]: where a process's resident memory goes.

Reads /proc/PID/smaps_rollup and /proc/PID/smaps (root or the same user) and
prints one line per group of mappings with Rss, Pss, Private_Clean and
Private_Dirty.  Private_Dirty (and anonymous memory generally) is what the
process alone costs and cannot give back without swap; Private_Clean pages of
a library are file pages no other process happens to map right now (the
kernel can drop and re-read them), and they become shared as soon as another
process maps the same library:

  binary       the executable's own file mappings
  lib NAME     each shared library (text is shared with other processes, so
               its Pss is small; its private part is relocations and data)
  [heap]       the main malloc heap (brk)
  arena        glibc malloc arenas of other threads (anonymous mappings at
               64 MiB-aligned addresses, the arena heap size)
  stack T      a thread's stack (the mapping holding the thread's stack
               pointer, from /proc/PID/task/T/syscall), named by its comm
  [stack]      the main thread's stack
  anon         other anonymous memory (large malloc blocks, ZeroMQ and
               libpq buffers above the mmap threshold, ...)
  other        vdso, vvar, ...

Libraries with less than 32 KiB private dirty are summed in the last line
only, unless -v.  Figures in KiB.  Used by bench/memory.sh.
"""
import collections
import os
import re
import sys

ARENA_ALIGN = 64 << 20
verbose = False


def thread_stacks(pid):
    """{stack pointer: thread name} for every thread of pid."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                comm = f.read().strip()
            with open(f"/proc/{pid}/task/{tid}/syscall") as f:
                fields = f.read().split()
        except OSError:
            continue
        # "nr arg1..arg6 sp pc" while blocked in a call, "running" otherwise
        if len(fields) >= 9:
            out[int(fields[-2], 16)] = f"{comm}/{tid}"
    return out


def mappings(pid):
    head = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \d+\s*(.*)$")
    cur = None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            m = head.match(line)
            if m:
                if cur:
                    yield cur
                cur = {"start": int(m.group(1), 16), "end": int(m.group(2), 16),
                       "perms": m.group(3), "path": m.group(4).strip()}
                continue
            key, _, rest = line.partition(":")
            parts = rest.split()
            if len(parts) == 2 and parts[1] == "kB":
                cur[key] = int(parts[0])
    if cur:
        yield cur


def classify(m, exe, stacks, main_tid):
    path = m["path"]
    if path == exe:
        return "binary"
    if path.startswith("/"):
        return "lib " + os.path.basename(path)
    if path == "[heap]":
        return "[heap]"
    if path == "[stack]":
        return "[stack]"
    if path:
        return "other"
    for sp, name in stacks.items():
        if m["start"] <= sp < m["end"]:
            return "stack " + name
    if m["start"] % ARENA_ALIGN == 0 and "rw" in m["perms"]:
        return "arena"
    return "anon"


def main():
    args = [a for a in sys.argv[1:] if a != "-v"]
    global verbose
    verbose = "-v" in sys.argv[1:]
    pid = int(args[0])
    label = args[1] if len(args) > 1 else str(pid)
    exe = os.readlink(f"/proc/{pid}/exe")
    stacks = thread_stacks(pid)
    groups = collections.OrderedDict()
    for m in mappings(pid):
        g = classify(m, exe, stacks, pid)
        if g.startswith("stack ") and g.endswith(f"/{pid}"):
            g = "[stack]"
        acc = groups.setdefault(g, collections.Counter())
        acc["Rss"] += m.get("Rss", 0)
        acc["Pss"] += m.get("Pss", 0)
        acc["Clean"] += m.get("Private_Clean", 0)
        acc["Dirty"] += m.get("Private_Dirty", 0)
        acc["Size"] += m.get("Size", 0)
        acc["n"] += 1
    roll = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            key, _, rest = line.partition(":")
            parts = rest.split()
            if len(parts) == 2 and parts[1] == "kB":
                roll[key] = int(parts[0])
    private = roll.get("Private_Clean", 0) + roll.get("Private_Dirty", 0)
    print(f"== {label} (pid {pid}, {len(stacks)} threads): Rss {roll.get('Rss', 0)} KiB, "
          f"Pss {roll.get('Pss', 0)} KiB, private {private} KiB "
          f"(clean {roll.get('Private_Clean', 0)}, dirty {roll.get('Private_Dirty', 0)}), "
          f"shared {roll.get('Shared_Clean', 0) + roll.get('Shared_Dirty', 0)} KiB")
    libs = collections.Counter()
    rows = []
    for g, acc in groups.items():
        if g.startswith("lib "):
            for k in ("Rss", "Pss", "Clean", "Dirty"):
                libs[k] += acc[k]
        rows.append((g, acc))
    rows.sort(key=lambda r: (-r[1]["Dirty"], -r[1]["Rss"]))
    print(f"   {'group':34} {'Rss':>7} {'Pss':>7} {'P_Clean':>7} {'P_Dirty':>7} {'mapped':>8}")
    shown = 0
    for g, acc in rows:
        if acc["Rss"] == 0 and not g.startswith("stack"):
            continue
        if g.startswith("lib ") and acc["Dirty"] < 32 and not verbose:
            continue
        shown += 1
        print(f"   {g:34} {acc['Rss']:7d} {acc['Pss']:7d} {acc['Clean']:7d} {acc['Dirty']:7d} "
              f"{acc['Size']:8d}")
    print(f"   {'(all shared libraries, ' + str(sum(1 for g in groups if g.startswith('lib '))) + ')':34} "
          f"{libs['Rss']:7d} {libs['Pss']:7d} {libs['Clean']:7d} {libs['Dirty']:7d}")


if __name__ == "__main__":
    main()
