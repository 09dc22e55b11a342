#!/usr/bin/python3
"""Self time per ATen op from a chrome trace written by torch's legacy profiler
(JEPALAB_TORCH_PROFILE=FILE train_mini_bench ...). Self time = an event's duration minus its
direct children's on the same thread. Usage: bench/profile_summary.py TRACE.json [TOP=25]"""
import collections
import json
import sys


def main():
    events = json.load(open(sys.argv[1]))
    events = events.get("traceEvents", events) if isinstance(events, dict) else events
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 25
    by_thread = collections.defaultdict(list)
    for e in events:
        if e.get("ph") == "X":
            by_thread[e.get("tid")].append(e)
    self_us, calls = collections.Counter(), collections.Counter()
    for evs in by_thread.values():
        evs.sort(key=lambda e: (e["ts"], -e["dur"]))
        stack = []  # [end, name, children_us]
        def pop():
            end, name, child = stack.pop()
            self_us[name] += end[1] - child
            if stack:
                stack[-1][2] += end[1]
        for e in evs:
            while stack and stack[-1][0][0] <= e["ts"]:
                pop()
            stack.append([(e["ts"] + e["dur"], e["dur"]), e["name"], 0.0])
            calls[e["name"]] += 1
        while stack:
            pop()
    total = sum(self_us.values())
    print(f"total self time {total / 1e6:.3f} s over {sum(calls.values())} ops")
    for name, us in self_us.most_common(top):
        print(f"{100 * us / total:6.1f}%  {us / 1e3:9.1f} ms  {calls[name]:8d}  {name}")


if __name__ == "__main__":
    main()
