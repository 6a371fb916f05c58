#!/usr/bin/env python3
"""bench_report.py: the tables of scripts/bench.sh, one per goal.

    scripts/bench_report.py DIR     reads DIR/raw.jsonl, prints the tables,
                                    writes DIR/results.json (scale mode:
                                    DIR/scale.json)

raw.jsonl holds what `virtiofs-client bench --json` appends (one object per
result; "scale" objects in scale mode) and bench.sh's "meta" and "load"
lines. Figures are medians over the rounds. "best peer" is, per cell, the
faster of QEMU's C daemon and the Rust one (ops/s), or the lower (CPU per
op, memory per item). The goals are GOALS below: change them there.
"""
import json
import os
import statistics
import sys

# The goals, each with the text its table prints.
# The goals ("Lead on speed, not parity"): metadata >= 1.5x the
# best peer with daemon CPU per op <= 0.67x the best peer's; 4 KiB reads
# >= 1.2x at every depth; 1 MiB reads and writes >= 0.9x native pinned;
# four queues >= 1.8x one on every workload. Flatness and memory are ours.
GOALS = {
    "metadata": ((1.5, 0.67), ">= 1.5x best peer, CPU <= 0.67x"),
    "smallread": (1.2, ">= 1.2x best peer"),
    "largeio": ((0.0, 0.9), ">= 0.9x native"),
    "queues": (1.8, "q4 >= 1.8x q1"),
    "flat": (1.25, "CPU/op <= 1.25x smallest"),
    "memory": (1.0, "B/item <= best peer"),
}
PEERS = ("qemu", "rust")
META_WL = ("getattr", "lookup", "create", "readdirplus", "readdir")
META_CELLS = ((1, "pinned"), (16, "pinned"), (1, "unpinned"), (16, "unpinned"))
READ_CELLS = ((1, "pinned"), (16, "pinned"), (16, "unpinned"))
QUEUE_WL = ("getattr", "lookup", "create", "readdirplus", "readdir", "randread",
            "seqread", "seqwrite")
QUEUES = (1, 2, 4, 8)


def load(path):
    rows, loads, meta = [], [], {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                o = json.loads(line)
            except ValueError:
                continue
            if "meta" in o:
                meta = o["meta"]
            elif "load" in o:
                loads.append(o["load"])
            else:
                rows.append(o)
    return rows, loads, meta


def med(vals):
    vals = [v for v in vals if v is not None and v >= 0]
    return statistics.median(vals) if vals else None


def fmt(v, f="{:.0f}"):
    return "n/a" if v is None else f.format(v)


def latfmt(c):
    if not c or c.get("p50_us") is None:
        return "n/a"
    return f"{c['p50_us']:.0f}/{c['p99_us']:.0f}"


def ratio(a, b):
    return a / b if a and b else None


class Main:
    """Medians of the main run, per (daemon, workload, depth, queues, placement)."""

    def __init__(self, rows):
        groups = {}
        for r in rows:
            if "workload" not in r:
                continue
            key = (r["daemon"], r["workload"], r["depth"], r["queues"], r["placement"])
            groups.setdefault(key, []).append(r)
        self.cells = {}
        for key, g in groups.items():
            c = {f: med([x.get(f) for x in g])
                 for f in ("ops_s", "mib_s", "p50_us", "p99_us", "cpu_us_op")}
            c["errors"] = sum(x.get("errors", 0) for x in g)
            c["samples_ops_s"] = [x["ops_s"] for x in g]
            c["rounds"] = len(g)
            self.cells[key] = c

    def get(self, who, wl, d, q, pl):
        if who == "native":
            q = 0
        return self.cells.get((who, wl, d, q, pl))

    def val(self, who, wl, d, q, pl, f="ops_s"):
        c = self.get(who, wl, d, q, pl)
        return c.get(f) if c else None


def load_note(loads, pred):
    l1 = [x["load1"] for x in loads if pred(x)]
    if not l1:
        return "load average: not recorded"
    return (f"load average (1 min) at the start of its {len(l1)} cells: "
            f"{min(l1):.2f}-{max(l1):.2f}, median {statistics.median(l1):.2f}")


def table(title, goal, note, header, rows, loadline):
    print(f"\n== {title} ==")
    for n in note:
        print(f"   {n}")
    print(f"   {loadline}")
    real = [r for r in rows if r is not None]
    widths = [max([len(str(h))] + [len(str(r[i])) for r in real])
              for i, h in enumerate(header)]
    line = "  ".join(f"{h:<{w}}" if i == 0 else f"{h:>{w}}"
                     for i, (h, w) in enumerate(zip(header, widths)))
    print(line)
    print("-" * len(line))
    for r in rows:
        if r is None:
            print()
            continue
        print("  ".join(f"{str(v):<{w}}" if i == 0 else f"{str(v):>{w}}"
                        for i, (v, w) in enumerate(zip(r, widths))))


def met(ok):
    return "n/a" if ok is None else ("met" if ok else "not met")


def best_peer(m, wl, d, q, pl, f="ops_s", low=False):
    vals = [(m.val(p, wl, d, q, pl, f), p) for p in PEERS]
    vals = [(v, p) for v, p in vals if v is not None and v >= 0]
    if not vals:
        return None, None
    return (min if low else max)(vals)


def main_report(rows, loads, meta, dest):
    m = Main(rows)
    out = {"meta": meta, "goals": {k: v[1] for k, v in GOALS.items()}, "tables": {}}
    q1 = lambda x: x["queues"] in (0, 1) and x["daemon"] != "ours-packed"

    def peer_row(wl, d, pl, g, gt, native=False):
        o = m.get("ours", wl, d, 1, pl)
        bp, bpn = best_peer(m, wl, d, 1, pl)
        r = ratio(o and o["ops_s"], bp)
        g_ops, g_cpu = g if isinstance(g, tuple) else (g, None)
        cpu = "/".join(fmt(m.val(w, wl, d, 1, pl, "cpu_us_op"), "{:.2f}")
                       for w in ("ours",) + PEERS)
        bc, _ = best_peer(m, wl, d, 1, pl, "cpu_us_op", low=True)
        rc = ratio(o and o["cpu_us_op"], bc)
        ok = None if r is None else r >= g_ops
        if ok is not None and g_cpu is not None:
            ok = ok and rc is not None and rc <= g_cpu
        line = [wl, d, pl, fmt(o and o["ops_s"]),
                fmt(m.val("qemu", wl, d, 1, pl)), fmt(m.val("rust", wl, d, 1, pl))]
        if native:
            line.append(fmt(m.val("native", wl, d, 0, pl)))
        line += [fmt(r, "{:.2f}x") + (f" {bpn}" if bpn else ""), latfmt(o),
                 latfmt(m.get("qemu", wl, d, 1, pl)), latfmt(m.get("rust", wl, d, 1, pl)),
                 cpu, fmt(rc, "{:.2f}"), gt, met(ok)]
        errs = sum((m.get(w, wl, d, 1, pl) or {}).get("errors", 0) for w in ("ours",) + PEERS)
        if errs:
            line[-1] += f" (errors {errs})"
        rec = {"workload": wl, "depth": d, "placement": pl, "queues": 1,
               "best_peer": bpn, "ratio_best_peer": r, "cpu_ratio_best_peer": rc,
               "goal": g, "met": ok}
        for w in ("ours",) + PEERS + (("native",) if native else ()):
            rec[w] = m.get(w, wl, d, 1, pl)
        return line, rec

    # Metadata
    g, gt = GOALS["metadata"]
    lines, recs = [], []
    for wl in META_WL:
        for d, pl in META_CELLS:
            line, rec = peer_row(wl, d, pl, g, gt)
            lines.append(line)
            recs.append(rec)
        lines.append(None)
    out["tables"]["metadata"] = recs
    table("Metadata: one queue, depth 1 and 16, pinned and free", gt,
          ["op/s: ours and each peer's; ours/best: over the faster peer (named); CPU: daemon "
           "CPU us per op, ours/qemu/rust; CPU o/best: ours over the lower peer's (< 1: cheaper).",
           "readdirplus/readdir: op = one entry (latency per request); create: CREATE timed, "
           "its RELEASE and FORGET in the CPU."],
          ["workload", "dep", "placement", "ours op/s", "qemu op/s", "rust op/s",
           "ours/best", "ours p50/p99 us", "qemu p50/p99", "rust p50/p99",
           "CPU us/op o/q/r", "CPU o/best", "goal", "met"], lines[:-1], load_note(loads, q1))

    # Small reads
    g, gt = GOALS["smallread"]
    lines, recs = [], []
    for d, pl in READ_CELLS:
        line, rec = peer_row("randread", d, pl, g, gt, native=True)
        lines.append(line)
        recs.append(rec)
    out["tables"]["smallread"] = recs
    table("Small reads: 4 KiB READ at random offsets, one queue", gt,
          ["native: pread on the host (depth d = min(d, CPUs) threads)."],
          ["workload", "dep", "placement", "ours op/s", "qemu op/s", "rust op/s",
           "native op/s", "ours/best", "ours p50/p99 us", "qemu p50/p99", "rust p50/p99",
           "CPU us/op o/q/r", "CPU o/best", "goal", "met"], lines, load_note(loads, q1))

    # Large I/O
    (gb, gn), gt = GOALS["largeio"]
    lines, recs = [], []
    for wl in ("seqread", "seqwrite"):
        d, pl = 1, "pinned"
        o = m.get("ours", wl, d, 1, pl)
        bp, bpn = best_peer(m, wl, d, 1, pl, "mib_s")
        nat = m.val("native", wl, d, 0, pl, "mib_s")
        rb = ratio(o and o["mib_s"], bp)
        rn = ratio(o and o["mib_s"], nat)
        ok = None if rb is None or rn is None else (rb >= gb and rn >= gn)
        cpu = "/".join(fmt(m.val(w, wl, d, 1 if w != "native" else 0, pl, "cpu_us_op"), "{:.0f}")
                       for w in ("ours",) + PEERS + ("native",))
        lines.append([wl, d, pl, fmt(o and o["mib_s"]), fmt(m.val("qemu", wl, d, 1, pl, "mib_s")),
                      fmt(m.val("rust", wl, d, 1, pl, "mib_s")), fmt(nat),
                      fmt(rb, "{:.2f}x") + (f" {bpn}" if bpn else ""), fmt(rn, "{:.2f}x"),
                      latfmt(o), cpu, gt, met(ok)])
        rec = {"workload": wl, "depth": d, "placement": pl, "best_peer": bpn,
               "ratio_best_peer": rb, "ratio_native": rn, "met": ok}
        for w in ("ours",) + PEERS + ("native",):
            rec[w] = m.get(w, wl, d, 1, pl)
        recs.append(rec)
    out["tables"]["largeio"] = recs
    table("Large reads and writes: 1 MiB, depth 1, pinned, against native syscalls", gt,
          ["MiB/s over one pass of the file; CPU: us per MiB, ours/qemu/rust/native (native: "
           "the client's own syscalls)."],
          ["workload", "dep", "placement", "ours MiB/s", "qemu MiB/s", "rust MiB/s",
           "native MiB/s", "ours/best", "ours/native", "ours p50/p99 us",
           "CPU us/MiB o/q/r/n", "goal", "met"], lines, load_note(loads, q1))

    # Queue scaling
    g, gt = GOALS["queues"]
    lines, recs = [], []
    for wl in QUEUE_WL:
        vals = [m.val("ours", wl, 16, q, "unpinned") for q in QUEUES]
        if not any(vals):
            continue
        rs = [ratio(v, vals[0]) for v in vals[1:]]
        q4 = rs[QUEUES.index(4) - 1]
        ok = None if q4 is None else q4 >= g
        cpu = "/".join(fmt(m.val("ours", wl, 16, q, "unpinned", "cpu_us_op"), "{:.2f}")
                       for q in QUEUES)
        p99 = "/".join(fmt(m.val("ours", wl, 16, q, "unpinned", "p99_us")) for q in QUEUES)
        lines.append([wl] + [fmt(v) for v in vals] + [" ".join(fmt(r, "{:.2f}") for r in rs),
                                                      cpu, p99, gt, met(ok)])
        recs.append({"workload": wl, "depth": 16, "placement": "unpinned",
                     "ours": {q: m.get("ours", wl, 16, q, "unpinned") for q in QUEUES},
                     "ratio_q1": dict(zip(QUEUES[1:], rs)), "met": ok})
    out["tables"]["queues"] = recs
    table("Queue scaling: ours, depth 16, unpinned, 1/2/4/8 request queues", gt,
          ["op/s (seqread/seqwrite: MiB/s); QEMU's daemon has one queue and Rust 1.13.2 does "
           "not start with more: ours only.",
           "On 2 CPUs the client takes one: more queues can spread the daemon's work, not "
           "double it."],
          ["workload", "q1 op/s", "q2 op/s", "q4 op/s", "q8 op/s", "q2 q4 q8 / q1",
           "CPU us/op q1/q2/q4/q8", "p99 us q1/q2/q4/q8", "goal", "met"], lines,
          load_note(loads, lambda x: x["daemon"] == "ours" and x["placement"] == "unpinned"))

    # Packed vs split (ours)
    lines, recs = [], []
    packed_cells = sorted({(r["workload"], r["depth"], r["queues"], r["placement"])
                           for r in rows if r.get("daemon") == "ours-packed"},
                          key=lambda c: (c[0], c[3] != "pinned", c[1]))
    for wl, d, q, pl in packed_cells:
        s, p = m.get("ours", wl, d, q, pl), m.get("ours-packed", wl, d, q, pl)
        r = ratio(p and p["ops_s"], s and s["ops_s"])
        lines.append([wl, d, q, pl, fmt(s and s["ops_s"]), fmt(p and p["ops_s"]),
                      fmt(r, "{:.2f}"), latfmt(s), latfmt(p),
                      fmt(s and s["cpu_us_op"], "{:.2f}"), fmt(p and p["cpu_us_op"], "{:.2f}")])
        recs.append({"workload": wl, "depth": d, "queues": q, "placement": pl,
                     "split": s, "packed": p, "ratio_ops": r})
    out["tables"]["packed_vs_split"] = recs
    if lines:
        table("Ring layout: ours on packed virtqueues vs split ones", "none (a comparison)",
              ["ratio = packed/split ops/s."],
              ["workload", "dep", "q", "placement", "split op/s", "packed op/s", "ratio",
               "split p50/p99 us", "packed p50/p99", "split CPU", "packed CPU"], lines,
              load_note(loads, lambda x: x["daemon"] in ("ours", "ours-packed")
                        and x["queues"] == 1))
    # DAX window vs the queue (ours)
    lines, recs = [], []
    for wl in ("seqread", "seqwrite", "randread", "reread"):
        for pl in ("pinned", "unpinned"):
            d = 1
            f = "ops_s" if wl == "randread" else "mib_s"
            q, x = m.get("ours", wl, d, 1, pl), m.get("ours-dax", wl, d, 1, pl)
            if not x:
                continue
            r = ratio(x and x[f], q and q[f])
            unit = "op/s" if wl == "randread" else "MiB/s"
            lines.append([wl, pl, unit, fmt(q and q[f]), fmt(x and x[f]), fmt(r, "{:.2f}x"),
                          fmt(m.val("qemu", wl, d, 1, pl, f)), fmt(m.val("rust", wl, d, 1, pl, f)),
                          fmt(m.val("native", wl, d, 0, pl, f)), latfmt(q), latfmt(x),
                          fmt(q and q["cpu_us_op"], "{:.2f}"), fmt(x and x["cpu_us_op"], "{:.2f}")])
            recs.append({"workload": wl, "depth": d, "placement": pl, "queue": q, "dax": x,
                         "ratio": r, "qemu": m.get("qemu", wl, d, 1, pl),
                         "rust": m.get("rust", wl, d, 1, pl),
                         "native": m.get("native", wl, d, 0, pl)})
    out["tables"]["dax_vs_queue"] = recs
    if lines:
        table("DAX window vs the queue: ours, depth 1 (1 MiB sequential, 4 KiB random, "
              "1 MiB re-reads of a hot 64 MiB)", "none (a comparison)",
              ["queue: READ/WRITE requests; dax: loads and stores through a 1 GiB window "
               "(--dax=shmem), 2 MiB ranges set up on demand; ratio = dax/queue. CPU: daemon "
               "CPU us per op (dax: SETUPMAPPING/REMOVEMAPPING only)."],
              ["workload", "placement", "unit", "queue", "dax", "dax/queue", "qemu", "rust",
               "native", "queue p50/p99 us", "dax p50/p99", "queue CPU", "dax CPU"], lines,
              load_note(loads, lambda x: x["daemon"] in ("ours", "ours-dax")
                        and x["queues"] == 1))
    out["loads"] = loads
    with open(dest, "w") as f:
        json.dump(out, f, indent=1)
    return out


def scale_report(rows, loads, meta, dest):
    by = {}
    for r in rows:
        if "scale" in r:
            by.setdefault((r["daemon"], r["scale"], r["phase"]), []).append(r)
    daemons = [d for d in ("ours", "rust", "qemu")
               if any(k[0] == d for k in by)]
    out = {"meta": meta, "goals": {k: GOALS[k][1] for k in ("flat", "memory")}, "tables": {}}
    gf, gft = GOALS["flat"]
    gm, gmt = GOALS["memory"]

    def stopped(r):
        return f" ({r['error']})" if r.get("error") else ""

    def peer_mem(part, phase, size):
        vals = [(r["bytes_per_item"], d) for d in daemons if d != "ours"
                for r in by.get((d, part, phase), []) if r["size"] == size
                and r["bytes_per_item"] >= 0 and not r.get("error")]
        return min(vals) if vals else (None, None)

    # (a) inodes
    lines, recs = [], []
    for d in daemons:
        grow = {r["size"]: r for r in by.get((d, "inodes", "grow"), [])}
        hold = {r["size"]: r for r in by.get((d, "inodes", "hold"), [])}
        base = None
        for size in sorted(grow):
            gr, ho = grow[size], hold.get(size)
            cost = ho["cpu_us_op"] if ho and ho["cpu_us_op"] >= 0 else None
            if base is None:
                base = cost
            x = ratio(cost, base)
            bm, bmn = peer_mem("inodes", "grow", size)
            okf = None if d != "ours" or x is None else x <= gf
            okm = (None if d != "ours" or bm is None or gr.get("error")
                   else gr["bytes_per_item"] <= bm * gm)
            lines.append([d, size, f"{gr['reached']}{stopped(gr)}", fmt(gr["rss_kib"] / 1024, "{:.1f}"),
                          fmt(gr["bytes_per_item"]), fmt(gr["ops_s"]), fmt(gr["cpu_us_op"], "{:.2f}"),
                          fmt(ho and ho["ops_s"]) + (f" ({ho['errors']} errors)"
                                                     if ho and ho.get("errors") else ""),
                          latfmt(ho), fmt(cost, "{:.2f}"),
                          fmt(x, "{:.2f}x"), gft if d == "ours" else "", met(okf),
                          gmt if d == "ours" else "",
                          met(okm) + (f" ({bmn} {bm:.0f})" if okm is not None else "")])
            recs.append({"daemon": d, "size": size, "grow": gr, "hold": ho,
                         "cost_vs_smallest": x, "flat_met": okf, "memory_met": okm,
                         "best_peer_bytes": bm, "best_peer": bmn})
        lines.append(None)
    out["tables"]["inodes"] = recs
    table("Inodes looked up and held: memory per inode and lookup cost against size",
          f"ours: {gft}; {gmt}",
          ["grow: LOOKUPs of new names (depth 16) up to the size; hold: LOOKUPs of held names "
           "at random for the run time; B/inode: anonymous RSS added over the inodes held.",
           "reached < size: the daemon refused more (errno given; fd-based inodes stop near "
           "RLIMIT_NOFILE, 20,000 hard here)."],
          ["daemon", "size", "reached", "RSS MiB", "B/inode", "grow op/s", "grow CPU us",
           "hold op/s", "hold p50/p99 us", "hold CPU us/op", "x smallest", "goal", "met",
           "goal", "met"],
          lines[:-1], load_note(loads, lambda x: x["placement"] == "scale-inodes"))

    # (b) listing
    lines, recs = [], []
    for d in daemons:
        for phase in ("readdirplus", "readdir"):
            base = None
            for r in sorted(by.get((d, "list", phase), []), key=lambda r: r["size"]):
                cost = r["cpu_us_op"] if r["cpu_us_op"] >= 0 else None
                if base is None:
                    base = cost
                x = ratio(cost, base)
                okf = None if d != "ours" or x is None else x <= gf
                us = r["secs"] * 1e6 / r["reached"] if r["reached"] else None
                lines.append([d, phase, r["size"], f"{r['reached']}{stopped(r)}", fmt(r["ops_s"]),
                              fmt(us, "{:.2f}"), fmt(cost, "{:.2f}"), latfmt(r),
                              fmt(x, "{:.2f}x"), gft if d == "ours" else "", met(okf)])
                recs.append({"daemon": d, "op": phase, "size": r["size"], "result": r,
                             "us_per_entry": us, "cost_vs_smallest": x, "flat_met": okf})
        lines.append(None)
    out["tables"]["list"] = recs
    table("A directory listed: cost per entry against its size", f"ours: {gft}",
          ["one pass, depth 1, 4 KiB buffers; READDIRPLUS's lookups forgotten after each reply. "
           "us/entry: wall time; CPU: the daemon's per entry; p50/p99 per request."],
          ["daemon", "op", "entries", "listed", "entries/s", "us/entry", "CPU us/entry",
           "p50/p99 us", "x smallest", "goal", "met"],
          lines[:-1], load_note(loads, lambda x: x["placement"] == "scale-list"))

    # (c) handles
    lines, recs = [], []
    for d in daemons:
        base = None
        for r in sorted(by.get((d, "handles", "open"), []), key=lambda r: r["size"]):
            cost = r["cpu_us_op"] if r["cpu_us_op"] >= 0 else None
            if base is None:
                base = cost
            x = ratio(cost, base)
            bm, bmn = peer_mem("handles", "open", r["size"])
            okf = None if d != "ours" or x is None else x <= gf
            okm = (None if d != "ours" or bm is None or r.get("error")
                   else r["bytes_per_item"] <= bm * gm)
            lines.append([d, r["size"], f"{r['reached']}{stopped(r)}", fmt(r["ops_s"]),
                          fmt(cost, "{:.2f}"), latfmt(r), fmt(r["bytes_per_item"]),
                          fmt(r["rss_kib"] / 1024, "{:.1f}"), fmt(x, "{:.2f}x"),
                          gft if d == "ours" else "", met(okf), gmt if d == "ours" else "",
                          met(okm) + (f" ({bmn} {bm:.0f})" if okm is not None else "")])
            recs.append({"daemon": d, "size": r["size"], "open": r, "cost_vs_smallest": x,
                         "flat_met": okf, "memory_met": okm})
        lines.append(None)
    out["tables"]["handles"] = recs
    table("Open handles held: open cost and memory against count", f"ours: {gft}; {gmt}",
          ["OPEN (depth 16) of names looked up just before; B/handle: anonymous RSS the OPENs "
           "added over the handles held.",
           "Every handle is a file descriptor in all three daemons: 100,000 cannot fit under "
           "RLIMIT_NOFILE's hard 20,000 (ours also caps handles at a quarter of it)."],
          ["daemon", "handles", "reached", "open op/s", "CPU us/op", "p50/p99 us", "B/handle",
           "RSS MiB", "x smallest", "goal", "met", "goal", "met"],
          lines[:-1], load_note(loads, lambda x: x["placement"] == "scale-handles"))
    out["loads"] = loads
    with open(dest, "w") as f:
        json.dump(out, f, indent=1)


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    d = sys.argv[1]
    rows, loads, meta = load(os.path.join(d, "raw.jsonl"))
    q = " (quick)" if meta.get("quick") else ""
    if meta.get("mode") == "scale":
        how = "one round, a fresh daemon process per part and daemon, one after the other"
    else:
        how = (f"medians of {meta.get('rounds', '?')} round(s), the daemons' order rotating "
               "every round")
    print(f"\nvirtio-fs daemons, {meta.get('mode', 'main')} run{q}: {how}; "
          f"{meta.get('cpus', '?')} CPUs, kernel {meta.get('kernel', '?')}, "
          f"RLIMIT_NOFILE hard {meta.get('nofile_hard', '?')}.")
    for k in ("ours", "qemu", "rust"):
        if meta.get(k):
            print(f"  {k}: {meta[k]}  [{meta.get(k + '_args', '')}]")
    if meta.get("mode") == "scale":
        dest = os.path.join(d, "scale.json")
        scale_report(rows, loads, meta, dest)
    else:
        dest = os.path.join(d, "results.json")
        main_report(rows, loads, meta, dest)
    print(f"\nJSON: {dest} (raw samples: {os.path.join(d, 'raw.jsonl')})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
