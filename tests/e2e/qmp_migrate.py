#!/usr/bin/env python3
"""qmp_migrate.py: drive a live migration between two QEMUs over QMP
(UNIX sockets), for tests/e2e/run-migration.sh. Standard library only.

  qmp_migrate.py migrate --src SRC.qmp --dst DST.qmp --uri unix:PATH
                 --expect completed|failed|cancelled [--cancel] [--timeout S]
      The destination runs with -incoming defer: it is told the URI
      (migrate-incoming), then the source migrates. With --cancel the
      source's bandwidth is cut so the migration stays active, and it is
      cancelled (migrate_cancel). Waits for the source's MIGRATION event
      with a final status and, after "completed", for the destination's
      RESUME. Exit status 0 when the final status is the one expected.
  qmp_migrate.py status SOCK     prints query-status's "status"
  qmp_migrate.py quit SOCK       asks QEMU to quit
"""
import argparse
import json
import socket
import sys
import time


class QMP:
    def __init__(self, path, timeout):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock.connect(path)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)  # the socket appears when QEMU is up
        self.buf = b""
        self.events = []
        self.name = path
        self._read()  # greeting
        self.cmd("qmp_capabilities")

    def _read(self, timeout=60.0):
        self.sock.settimeout(timeout)
        while b"\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("%s: QMP closed" % self.name)
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def cmd(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            reply = self._read()
            if "event" in reply:
                self.events.append(reply)
                continue
            if "error" in reply:
                raise RuntimeError("%s: %s: %s" % (self.name, name, reply["error"]))
            return reply.get("return")

    def wait_event(self, name, pred, timeout):
        deadline = time.monotonic() + timeout
        while True:
            for i, ev in enumerate(self.events):
                if ev["event"] == name and pred(ev.get("data", {})):
                    del self.events[: i + 1]
                    return ev
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("%s: no %s event within %ss" % (self.name, name, timeout))
            try:
                ev = self._read(timeout=left)
            except socket.timeout:
                continue
            if "event" in ev:
                self.events.append(ev)


FINAL = ("completed", "failed", "cancelled")


# Page data, not the RAM's setup (its block list is a few hundred bytes).
PAGES_COPIED = 256 << 10


def wait_pages_copied(src, timeout):
    """Waits until the source copies guest pages. "active" alone is not
    enough: a cancel that lands while the RAM's setup is still writing can
    end the migration as "failed" (the setup's write meets the cancel's
    shutdown of the socket: "Unable to write to socket: Broken pipe"), seen
    once in eleven full runs of the suite, QEMU 10.0 under TCG."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = src.cmd("query-migrate")
        if info.get("status") != "active":
            return
        if info.get("ram", {}).get("transferred", 0) >= PAGES_COPIED:
            return
        time.sleep(0.02)


def migrate(a):
    src = QMP(a.src, 30)
    dst = QMP(a.dst, 30) if a.dst else None
    # return-path: the destination tells the source whether it loaded
    # everything; without it the source calls a migration the destination
    # refused "completed" and stays paused.
    for side in (src, dst):
        if side:
            side.cmd("migrate-set-capabilities",
                     capabilities=[{"capability": "events", "state": True},
                                   {"capability": "return-path", "state": True}])
    if dst:
        dst.cmd("migrate-incoming", uri=a.uri)
    if a.cancel:
        # 1 MiB/s: guest RAM takes minutes, so the migration is still
        # active when it is cancelled.
        src.cmd("migrate-set-parameters", **{"max-bandwidth": 1 << 20})
    t0 = time.monotonic()
    src.cmd("migrate", uri=a.uri)
    if a.cancel:
        src.wait_event("MIGRATION", lambda d: d.get("status") == "active", a.timeout)
        wait_pages_copied(src, a.timeout)
        src.cmd("migrate_cancel")
    ev = src.wait_event("MIGRATION", lambda d: d.get("status") in FINAL, a.timeout)
    status = ev["data"]["status"]
    took = time.monotonic() - t0
    info = src.cmd("query-migrate")
    print("qmp_migrate: source says %s after %.1fs (%s)" % (status, took, json.dumps(
        {k: info.get(k) for k in ("total-time", "downtime", "error-desc") if k in info})))
    if status == "completed" and dst:
        dst.wait_event("RESUME", lambda d: True, a.timeout)
        print("qmp_migrate: destination %s" % dst.cmd("query-status")["status"])
    if status == "completed":
        # the source stays paused (postmigrate) until it is quit
        print("qmp_migrate: source %s" % src.cmd("query-status")["status"])
    else:
        # a failed or cancelled migration: the source runs on
        deadline = time.monotonic() + a.timeout
        while src.cmd("query-status")["status"] != "running":
            if time.monotonic() > deadline:
                print("qmp_migrate: the source did not run on")
                return 1
            time.sleep(0.05)
        print("qmp_migrate: source running again")
    return 0 if status == a.expect else 1


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="what", required=True)
    m = sub.add_parser("migrate")
    m.add_argument("--src", required=True)
    m.add_argument("--dst")
    m.add_argument("--uri", required=True)
    m.add_argument("--expect", choices=FINAL, required=True)
    m.add_argument("--cancel", action="store_true")
    m.add_argument("--timeout", type=float, default=180)
    for name in ("status", "quit"):
        s = sub.add_parser(name)
        s.add_argument("sock")
    a = p.parse_args()
    if a.what == "migrate":
        return migrate(a)
    q = QMP(a.sock, 30)
    if a.what == "status":
        print(q.cmd("query-status")["status"])
    else:
        try:
            q.cmd("quit")
        except EOFError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
