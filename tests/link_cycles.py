#!/usr/bin/env python3
"""link_cycles: no two source files of the services call each other in a circle.

Reads the static libraries given on the command line with nm: every object
file (one per .c) defines some symbols and uses others; a file that uses a
symbol another file defines depends on it.  Any strongly connected group of
two or more files (A uses B, B uses ... A) is printed and fails the test.
A circle means the split into files does not follow the layers of the code:
move what both use into a file below them (as common/toml_base.c does for
the TOML reader).
"""
import collections
import subprocess
import sys


def members(lib):
    """(object name, nm lines) for every member of a static library."""
    out = subprocess.run(["nm", "-A", lib], capture_output=True, text=True, check=True).stdout
    per = collections.defaultdict(list)
    for line in out.splitlines():
        # "lib.a:member.o:" then the symbol line
        parts = line.split(":", 2)
        if len(parts) < 3:
            continue
        per[parts[0] + ":" + parts[1]].append(parts[2].split())
    return per


def main(libs):
    defs, uses = {}, collections.defaultdict(set)
    for lib in libs:
        for obj, lines in members(lib).items():
            uses[obj]
            for f in lines:
                if len(f) == 3 and f[1] in "TDBRC":
                    defs[f[2]] = obj
                elif len(f) == 2 and f[0] == "U":
                    uses[obj].add(f[1])
    graph = {o: {defs[u] for u in us if u in defs and defs[u] != o} for o, us in uses.items()}
    index, low, stack, on, groups, counter = {}, {}, [], set(), [], [0]

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            visit(v)
    edges = sum(len(t) for t in graph.values())
    print(f"{len(graph)} object files, {edges} dependencies between them, {len(groups)} circles")
    for g in groups:
        print("circle: " + " <-> ".join(o.split(":")[1] for o in g))
    return 1 if groups else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
