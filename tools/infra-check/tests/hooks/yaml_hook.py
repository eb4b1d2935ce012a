"""Prints the posix `run` of a hook in azure.yaml: yaml_hook.py FILE project|service NAME (empty if none).
A small reader for this repository's azure.yaml (block mappings only); the fake azd uses it."""
import sys


def hooks(path):
    out = {}
    stack = []
    for raw in open(path, encoding="utf-8"):
        line = raw.split(" #")[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        key, _, value = line.strip().partition(":")
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, key))
        names = [k for _, k in stack]
        if names[-1] == "run" and "posix" in names:
            hooks_at = names.index("hooks")
            scope = "project" if hooks_at == 0 else "service"
            out[(scope, names[hooks_at + 1])] = value.strip()
    return out


if __name__ == "__main__":
    print(hooks(sys.argv[1]).get((sys.argv[2], sys.argv[3]), ""))
