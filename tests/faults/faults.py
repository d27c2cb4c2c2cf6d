# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fault suite (make faults): the certificate role on a lab of its own, under faults.

Run by tests/faults/run.sh inside the network namespace cf-faults, after `lab.sh up` there. The
suite starts a Pebble of its own (40% badNonce, validation delays, no authz reuse) behind the
fault proxy (proxy.py) and runs the role (fleet.yml) once per fault, then a resume run when the
fault run did not succeed. After every fault it checks:
  - the run succeeded, or its failures carry a message naming the cause;
  - every node serves a certificate for every name that verifies against Pebble's root;
  - each certificate got one order at the CA (the proxy records every order Pebble created,
    checked against the "Added order" lines of Pebble's log);
  - no token, TXT record or temporary file is left behind.
It prints a table of the figures, writes it to $FAULTS_RESULTS (Markdown), greps every -vvv log
for secrets, and exits non-zero when a check failed.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import typing as t
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from proxy import FaultProxy, Rule  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LAB_DIR = os.environ.get("LAB_DIR", "/var/tmp/cf-faults")
WORK = os.path.join(LAB_DIR, "faults")
STORE = os.path.join(WORK, "store")
LOGS = os.path.join(WORK, "logs")
PEBBLE_BIN = os.environ.get("FAULTS_PEBBLE_BIN", "/var/cache/certfleet-lab/pebble-v2.10.3/pebble")
PEBBLE_PORT, PEBBLE_MGMT, PROXY_PORT = 14010, 15010, 14100
DIRECTORY = "https://127.0.0.1:%d/dir" % PROXY_PORT
CA_BUNDLE = os.path.join(LAB_DIR, "ca", "lab-ca.pem")
ROOT_PEM = os.path.join(WORK, "pebble-root.pem")
PEBBLE_LOG = os.path.join(WORK, "pebble.log")
NODES = {"web1": "127.0.0.11", "web2": "127.0.0.12", "web3": "127.0.0.13"}
DNS = "127.0.0.5"
CERTS = [
    {"name": "faults-a.example.test", "identifiers": ["faults-a.example.test", "www.faults-a.example.test"]},
    {"name": "faults-b.example.test", "identifiers": ["faults-b.example.test"], "challenge": "dns-01"},
]
PLAYBOOK = os.path.join(ROOT, "tests", "faults", "fleet.yml")
SSH_WRAPPER = os.path.join(ROOT, "tests", "faults", "ssh-wrapper.sh")
VENV_BIN = os.environ.get("FAULTS_VENV_BIN", os.path.dirname(sys.executable))
# The role's install task (block names are not printed, task names are).
INSTALL_TASK = "TASK [certfleet.acme.certificate : The certificate files and nginx server blocks are installed"
TEMP_PATTERNS = (re.compile(r"\.tmp$"), re.compile(r"^\.partial-"), re.compile(r"^\.ansible_tmp"))


# ---------------------------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------------------------
def descendants(root: int) -> t.List[int]:
    """Every pid that has ROOT as an ancestor (ansible-core puts workers in sessions of their own)."""
    children: t.Dict[int, t.List[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as handle:
                stat = handle.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def kill_tree(root: int) -> int:
    """SIGKILL ROOT and all its descendants until none is left; return how many were killed."""
    killed: t.Set[int] = set()
    for _attempt in range(20):
        pids = [p for p in descendants(root) if p not in killed and os.path.exists("/proc/%d" % p)]
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            killed.add(pid)
    return len(killed)


# ---------------------------------------------------------------------------------------------
# Pebble of the suite's own and the proxy in front of it
# ---------------------------------------------------------------------------------------------
def start_pebble() -> subprocess.Popen:
    with open(os.path.join(LAB_DIR, "pebble", "pebble.json")) as handle:
        config = json.load(handle)
    config["pebble"]["listenAddress"] = "127.0.0.1:%d" % PEBBLE_PORT
    config["pebble"]["managementListenAddress"] = "127.0.0.1:%d" % PEBBLE_MGMT
    path = os.path.join(WORK, "pebble.json")
    with open(path, "w") as handle:
        json.dump(config, handle)
    env = dict(os.environ, PEBBLE_WFE_NONCEREJECT="40", PEBBLE_VA_SLEEPTIME="2", PEBBLE_AUTHZREUSE="0",
               PEBBLE_ALTERNATE_ROOTS="0")
    for name in ("PEBBLE_VA_NOSLEEP", "PEBBLE_VA_ALWAYS_VALID", "PEBBLE_CHAIN_LENGTH"):
        env.pop(name, None)
    log = open(PEBBLE_LOG, "ab")
    proc = subprocess.Popen([PEBBLE_BIN, "-config", path, "-dnsserver", DNS + ":53"], env=env, stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    ctx = ssl.create_default_context(cafile=CA_BUNDLE)
    for _attempt in range(100):
        try:
            with urllib.request.urlopen("https://127.0.0.1:%d/roots/0" % PEBBLE_MGMT, context=ctx, timeout=2) as r:
                root = r.read()
            with open(ROOT_PEM, "wb") as handle:
                handle.write(root)
            return proc
        except OSError:
            time.sleep(0.2)
    raise SystemExit("faults: Pebble did not start (see %s)" % PEBBLE_LOG)


def pebble_orders() -> int:
    with open(PEBBLE_LOG, errors="replace") as handle:
        return sum(1 for line in handle if "Added order" in line)


# ---------------------------------------------------------------------------------------------
# One run of the role
# ---------------------------------------------------------------------------------------------
class Run:
    """ansible-playbook fleet.yml -vvv in a session of its own; output in LOGS/<label>.log."""

    counter = 0

    def __init__(self, label: str, certs: t.List[dict], store_ssh: str = "", reload_cmd: t.Optional[dict] = None,
                 node_ssh: str = "", env: t.Optional[dict] = None) -> None:
        Run.counter += 1
        self.label = label
        self.log = os.path.join(LOGS, "%02d-%s.log" % (Run.counter, label))
        extra = {"faults_lab_dir": LAB_DIR, "faults_directory_url": DIRECTORY, "faults_pebble_root": ROOT_PEM,
                 "faults_store_dir": STORE, "faults_certificates": certs, "faults_store_ssh": store_ssh,
                 "faults_node_ssh": node_ssh, "faults_reload_cmd": reload_cmd or {}}
        self.env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
                        ANSIBLE_CALLBACK_RESULT_FORMAT="json",
                        ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".build", "collections"),
                        ANSIBLE_CONFIG=os.path.join(ROOT, "tests", "ansible.cfg"),
                        # never the shared lab's ssh masters: same addresses, other namespace
                        ANSIBLE_SSH_CONTROL_PATH_DIR=os.path.join(WORK, "cp"),
                        PATH=VENV_BIN + os.pathsep + os.environ.get("PATH", ""), **(env or {}))
        self.argv = [os.path.join(VENV_BIN, "ansible-playbook"), "-vvv", "-i", os.path.join(LAB_DIR, "inventory.yml"),
                     PLAYBOOK, "-e", json.dumps(extra)]
        self.proc: t.Optional[subprocess.Popen] = None
        self.lines: t.List[str] = []
        self.killed = 0
        self.started = 0.0
        self.seconds = 0.0
        self.watchers: t.List[t.Callable[[str], None]] = []

    def start(self) -> "Run":
        self.started = time.time()
        self.proc = subprocess.Popen(self.argv, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True, cwd=ROOT, text=True,
                                     errors="replace")
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        with open(self.log, "w") as log:
            for line in self.proc.stdout:
                log.write("%6.1f %s" % (time.time() - self.started, line))
                self.lines.append(line)
                for watcher in list(self.watchers):
                    watcher(line)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None and not self.killed:
            self.killed = kill_tree(self.proc.pid)

    def wait(self, timeout: float = 300) -> "Run":
        assert self.proc is not None
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            self.proc.wait()
            self.lines.append("faults: run timed out after %d s\n" % timeout)
        self.reader.join(10)
        self.seconds = time.time() - self.started
        return self

    @property
    def rc(self) -> int:
        return -9 if self.killed else (self.proc.returncode if self.proc else -1)

    @property
    def ok(self) -> bool:
        return self.rc == 0

    def recap(self) -> t.Dict[str, t.Dict[str, int]]:
        out = {}
        for line in self.lines:
            m = re.match(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", line)
            if m:
                out[m.group(1)] = {"ok": int(m.group(2)), "changed": int(m.group(3)),
                                   "unreachable": int(m.group(4)), "failed": int(m.group(5))}
        return out

    def messages(self) -> t.List[str]:
        """The msg of every failed or unreachable host result, one line each, without duplicates."""
        out: t.List[str] = []
        for i, line in enumerate(self.lines):
            m = re.match(r"^(fatal|failed): \[([^\]]+)\]", line)
            if not m:
                continue
            for follow in self.lines[i:i + 400]:
                mm = re.match(r'^\s*"msg": "(.*)",?\s*$', follow)
                if mm:
                    msg = "%s: %s" % (m.group(2), json.loads('"%s"' % mm.group(1)).splitlines()[0] if mm.group(1) else "")
                    if msg not in out:
                        out.append(msg)
                    break
        return out


# ---------------------------------------------------------------------------------------------
# What the fleet looks like
# ---------------------------------------------------------------------------------------------
def served() -> t.Dict[str, t.Optional[str]]:
    """(node, name) -> serial of a certificate that verifies for the name against Pebble's root."""
    out: t.Dict[str, t.Optional[str]] = {}
    ctx = ssl.create_default_context(cafile=ROOT_PEM)
    for node, ip in NODES.items():
        for cert in CERTS:
            for name in cert["identifiers"]:
                key = "%s %s" % (node, name)
                try:
                    with socket.create_connection((ip, 443), timeout=5) as sock:
                        with ctx.wrap_socket(sock, server_hostname=name) as tls:
                            out[key] = tls.getpeercert()["serialNumber"]
                except (OSError, ssl.SSLError):
                    out[key] = None
    return out


def leftovers() -> t.List[str]:
    found = []
    for node in NODES:
        prefix = os.path.join(LAB_DIR, "nodes", node)
        found += ["token %s" % p for p in glob.glob(os.path.join(prefix, "www", ".well-known", "acme-challenge", "*"))]
        for top in ("tls", "conf.d", "www"):
            found += ["temp %s" % p for p in walk(os.path.join(prefix, top))]
    found += ["temp %s" % p for p in walk(STORE)]
    for cert in CERTS:
        for name in cert["identifiers"]:
            txt = subprocess.run(["dig", "@" + DNS, "_acme-challenge." + name, "TXT", "+short", "+time=2"], check=False,
                                 capture_output=True, text=True).stdout.strip()
            if txt:
                found.append("TXT _acme-challenge.%s %s" % (name, txt))
    return found


def walk(top: str) -> t.List[str]:
    out = []
    for base, dirs, files in os.walk(top):
        for entry in dirs + files:
            if any(p.search(entry) for p in TEMP_PATTERNS):
                out.append(os.path.join(base, entry))
    return out


# ---------------------------------------------------------------------------------------------
# Faults
# ---------------------------------------------------------------------------------------------
class Suite:
    def __init__(self, proxy: FaultProxy) -> None:
        self.proxy = proxy
        self.rows: t.List[t.Dict[str, t.Any]] = []
        self.runs: t.List[Run] = []

    def run(self, label: str, force: bool = True, **kwargs: t.Any) -> Run:
        certs = [dict(c, force=True) if force else dict(c) for c in CERTS]
        run = Run(label, certs, **kwargs)
        self.runs.append(run)
        return run

    def fault(self, name: str, expect: str, body: t.Callable[[], t.List[Run]], resume: bool = True,
              orders_expected: int = 1, expect_also: str = "", count: int = 0) -> None:
        """Run BODY (the runs under the fault), then a resume run when the last did not succeed; check."""
        print("faults: --- %s" % name, flush=True)
        orders_before = len(self.proxy.orders)
        pebble_before = pebble_orders()
        self.proxy.take_injected()
        started = time.time()
        runs = body()
        injected = self.proxy.take_injected()
        self.proxy.set_rules([])
        problems: t.List[str] = []
        messages = [m for r in runs for m in r.messages()]
        faulted = runs[-1]
        if resume and not all(r.ok for r in runs):
            runs.append(self.run(name + "-resume", force=False).start().wait())
        final = runs[-1]
        if not final.ok:
            problems.append("the last run failed (rc %s): %s" % (final.rc, "; ".join(final.messages()[:3])))
        for r in runs:
            if not r.ok and not r.killed and not r.messages():
                problems.append("%s failed without a message" % r.label)
        for pattern in filter(None, (expect, expect_also)):
            if not faulted.ok and not any(re.search(pattern, m) for m in messages):
                problems.append("no message names the cause (/%s/): %s" % (pattern, [m[:150] for m in messages[:3]]))
        serving = served()
        broken = sorted(k for k, v in serving.items() if v is None)
        if broken:
            problems.append("not serving a working certificate: %s" % ", ".join(broken))
        orders = self.proxy.orders[orders_before:]
        per_cert = {c["name"]: sum(1 for o in orders if o["identifiers"] == sorted(c["identifiers"])) for c in CERTS}
        pebble_count = pebble_orders() - pebble_before
        if pebble_count != len(orders):
            problems.append("Pebble logged %d orders, the proxy saw %d" % (pebble_count, len(orders)))
        if any(n != orders_expected for n in per_cert.values()):
            problems.append("orders per certificate %s, expected %d" % (per_cert, orders_expected))
        left = leftovers()
        if left:
            problems.append("left behind: %s" % ", ".join(left[:5]))
        row = {"fault": name, "injected": count or len(injected) or sum(1 for r in runs if r.killed) or 1,
               "runs": " ".join("%s" % ("ok" if r.ok else ("kill" if r.killed else "rc%s" % r.rc)) for r in runs),
               "orders": per_cert, "leftovers": len(left), "message": (messages or [""])[0][:110],
               "seconds": round(time.time() - started), "survived": not problems, "problems": problems,
               "faults": injected}
        self.rows.append(row)
        verdict = "survived" if not problems else "FAILED"
        print("faults: %s: %s (%ds) %s" % (name, verdict, row["seconds"], "; ".join(problems)), flush=True)

    # -- the individual faults -----------------------------------------------------------------
    def plain(self) -> t.List[Run]:
        return [self.run("issue").start().wait()]

    def proxy_rules(self, rules: t.List[Rule]) -> t.Callable[[], t.List[Run]]:
        def body() -> t.List[Run]:
            self.proxy.set_rules(rules)
            return [self.run("proxy").start().wait()]
        return body

    def kill_when(self, label: str, arm: t.Callable[[Run, t.Callable[[], None]], None]) -> t.Callable[[], t.List[Run]]:
        def body() -> t.List[Run]:
            run = self.run(label)
            fired = threading.Event()

            def fire() -> None:
                if not fired.is_set():
                    fired.set()
                    run.kill()
            arm(run, fire)
            run.start().wait()
            self.proxy.listeners = []
            return [run]
        return body

    def on_proxy(self, predicate: t.Callable[[str, str, int], bool], delay: float = 0.0):
        def arm(run: Run, fire: t.Callable[[], None]) -> None:
            def listener(method: str, path: str, status: int) -> None:
                if predicate(method, path, status):
                    threading.Timer(delay, fire).start()
            self.proxy.listeners = [listener]
        return arm

    def on_orders(self, count: int, delay: float):
        """Kill DELAY seconds after the CA answered COUNT newOrder requests of this run."""
        def arm(run: Run, fire: t.Callable[[], None]) -> None:
            first = len(self.proxy.orders)
            self.on_proxy(lambda m, p, s: "/order-plz" in p and s == 201 and len(self.proxy.orders) - first >= count,
                          delay)(run, fire)
        return arm

    @staticmethod
    def on_line(pattern: str, delay: float):
        def arm(run: Run, fire: t.Callable[[], None]) -> None:
            run.watchers.append(lambda line: threading.Timer(delay, fire).start() if pattern in line else None)
        return arm

    @staticmethod
    def on_store_write(run: Run, fire: t.Callable[[], None]) -> None:
        """Kill as soon as a partial version (the set being written) appears in the store."""
        def poll() -> None:
            dirs = [os.path.join(STORE, "certs", c["name"], "versions") for c in CERTS]
            while run.proc is None or run.proc.poll() is None:
                for d in dirs:
                    try:
                        if any(e.startswith(".partial-") for e in os.listdir(d)):
                            fire()
                            return
                    except OSError:
                        pass
                time.sleep(0.0005)
        threading.Thread(target=poll, daemon=True).start()

    def concurrent(self) -> t.List[Run]:
        # Both certificates are missing from the store (the nodes keep serving theirs): every one
        # of the four runs finds them due; one order each must come out of it.
        for cert in CERTS:
            shutil.rmtree(os.path.join(STORE, "certs", cert["name"]), ignore_errors=True)
        runs = [self.run("concurrent-%d" % i, force=False) for i in range(4)]
        for r in runs:
            r.start()
        return [r.wait() for r in runs]

    def node_faults(self) -> t.List[Run]:
        """web3 becomes unreachable when the install starts; web2's nginx reload fails."""
        state = os.path.join(WORK, "ssh-node")
        shutil.rmtree(state, ignore_errors=True)
        os.makedirs(state)
        down = os.path.join(state, "down")
        run = self.run("node-faults", node_ssh=SSH_WRAPPER,
                       reload_cmd={"web2": "/bin/sh -c 'echo fault suite: reload refused >&2; exit 1'"},
                       env={"FAULTS_SSH_STATE": state, "FAULTS_SSH_DOWN_HOST": NODES["web3"]})
        run.watchers.append(lambda line: open(down, "w").close() if INSTALL_TASK in line else None)
        run.start().wait()
        if os.path.exists(down):
            os.unlink(down)
        return [run]

    def store_unreachable(self) -> t.List[Run]:
        state = os.path.join(WORK, "ssh-store")
        shutil.rmtree(state, ignore_errors=True)
        os.makedirs(state)
        # The store host goes down at the third run of the order module (validation).
        return [self.run("store-down", store_ssh=SSH_WRAPPER,
                         env={"FAULTS_SSH_STATE": state, "FAULTS_SSH_FAIL_AT": "3"}).start().wait()]

    def disk_full(self) -> t.List[Run]:
        saved = STORE + ".saved"
        shutil.rmtree(saved, ignore_errors=True)
        shutil.copytree(STORE, saved, symlinks=True)
        used = int(subprocess.run(["du", "-sk", saved], capture_output=True, text=True, check=True).stdout.split()[0])
        size = "size=%dk,mode=0700" % (used * 2 + 256)
        subprocess.run(["mount", "-t", "tmpfs", "-o", size, "faults-store", STORE], check=True)
        try:
            shutil.copytree(saved, STORE, symlinks=True, dirs_exist_ok=True)
            filler = os.path.join(STORE, "filler")
            try:
                with open(filler, "wb") as handle:
                    while True:
                        handle.write(b"\0" * 4096)
                        handle.flush()
            except OSError:
                pass  # the disk is full
            runs = [self.run("disk-full").start().wait()]
            os.unlink(filler)
            runs.append(self.run("disk-full-resume", force=False).start().wait())
            shutil.rmtree(saved)
            shutil.copytree(STORE, saved, symlinks=True)
        finally:
            subprocess.run(["umount", STORE], check=True)
        shutil.rmtree(STORE)
        os.rename(saved, STORE)
        return runs

    def corrupt_store(self) -> t.List[Run]:
        a = os.path.join(STORE, "certs", CERTS[0]["name"], "current")
        b = os.path.join(STORE, "certs", CERTS[1]["name"], "current")
        meta = os.path.join(a, "meta.json")
        with open(meta, "r+") as handle:
            handle.truncate(max(1, os.path.getsize(meta) // 2))
        other = subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
                               capture_output=True, check=True).stdout
        with open(os.path.join(b, "privkey.pem"), "wb") as handle:
            handle.write(other)
        return [self.run("corrupt", force=False).start().wait()]


def secret_hits() -> t.List[str]:
    """Secrets of the lab and of the store, searched in every -vvv log."""
    needles: t.Dict[str, str] = {}
    with open(os.path.join(LAB_DIR, "secrets.yml")) as handle:
        for line in handle:
            m = re.match(r"^(lab_tsig_secret|lab_eab_hmac_key|lab_pdns_api_key):\s*['\"]?([^'\"\s]+)", line)
            if m:
                needles[m.group(1)] = m.group(2)
    for base, _dirs, files in os.walk(os.path.join(LAB_DIR, "nodes")):
        for name in files:
            if name.endswith(".pem") or name.endswith(".key"):
                add_key_needles(needles, os.path.join(base, name))
    for base, _dirs, files in os.walk(STORE):
        for name in files:
            add_key_needles(needles, os.path.join(base, name))
    hits = []
    for log in sorted(glob.glob(os.path.join(LOGS, "*.log"))):
        with open(log, errors="replace") as handle:
            text = handle.read()
        if "PRIVATE KEY" in text:
            hits.append("%s: PRIVATE KEY" % os.path.basename(log))
        for what, needle in needles.items():
            if needle in text:
                hits.append("%s: %s" % (os.path.basename(log), what))
    return hits


def add_key_needles(needles: t.Dict[str, str], path: str) -> None:
    try:
        with open(path, errors="replace") as handle:
            text = handle.read()
    except OSError:
        return
    for m in re.finditer(r"-----BEGIN [A-Z ]*PRIVATE KEY-----\n(.{40})", text):
        needles["private key %s" % path] = m.group(1)
    if path.endswith(".json") and '"d"' in text:  # a JWK account key
        m = re.search(r'"d":\s*"([^"]{20})', text)
        if m:
            needles["account key %s" % path] = m.group(1)


def table(rows: t.List[dict], hits: t.List[str]) -> str:
    lines = ["| fault | faults injected | runs | orders per certificate | leftovers | survived | "
             "message of the faulted run |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append("| %s | %s | %s | %s | %d | %s | %s |" % (
            r["fault"], r["injected"], r["runs"], " ".join("%s=%d" % (k.split(".")[0], v) for k, v in r["orders"].items()),
            r["leftovers"], "yes" if r["survived"] else "NO: " + "; ".join(r["problems"]),
            r["message"].replace("|", "\\|")))
    survived = sum(1 for r in rows if r["survived"])
    injected = sum(r["injected"] for r in rows)
    lines.append("")
    for r in rows:
        if r["faults"]:
            lines.append("- %s: %s" % (r["fault"], "; ".join(r["faults"])))
    lines.append("")
    lines.append("Faults injected: %d in %d scenarios; survived: %d of %d; secrets in the -vvv logs: %d%s" % (
        injected, len(rows), survived, len(rows), len(hits), (" (" + ", ".join(hits[:5]) + ")") if hits else ""))
    return "\n".join(lines)


def main() -> int:
    started = time.time()
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(LOGS)
    os.makedirs(os.path.join(WORK, "cp"))
    pebble = start_pebble()
    proxy = FaultProxy(("127.0.0.1", PROXY_PORT), ("127.0.0.1", PEBBLE_PORT),
                       os.path.join(LAB_DIR, "ca", "pebble-server.pem"), os.path.join(LAB_DIR, "ca", "pebble-server.key"),
                       CA_BUNDLE).start()
    suite = Suite(proxy)
    only = set(filter(None, os.environ.get("FAULTS_ONLY", "").split(",")))
    try:
        steps: t.List[t.Tuple[str, str, t.Callable[[], t.List[Run]], dict]] = [
            ("badNonce 40% + validation delays", "", suite.plain, {}),
            ("CA errors: 503/429 with Retry-After, 500/502 without, dropped connections", "", suite.proxy_rules([
                Rule("newOrder 503 Retry-After: 1", "/order-plz", "status", status=503, retry_after="1"),
                Rule("authz 429 Retry-After: 1", "/authZ/", "status", status=429, retry_after="1"),
                Rule("challenge 502", "/chalZ/", "status", status=502),
                Rule("finalize 500 after the CA acted", "/finalize-order/", "status_after", status=500),
                Rule("order 500", "/my-order/", "status", status=500),
                Rule("nonce dropped", "/nonce-plz", "drop", method="HEAD"),
                Rule("certificate dropped", "/certZ/", "drop"),
            ]), {}),
            ("CA answers slower than the request timeout (4 s)", "", suite.proxy_rules([
                Rule("newOrder answered after 6 s", "/order-plz", "slow_after", delay=6),
                Rule("finalize answered after 6 s", "/finalize-order/", "slow_after", delay=6),
                Rule("challenge answer dropped after the CA acted", "/chalZ/", "drop_after"),
            ]), {}),
            ("kill -9 after the orders", "", suite.kill_when("kill-orders", suite.on_orders(len(CERTS), 1.0)), {}),
            ("kill -9 during validation", "", suite.kill_when("kill-validation", suite.on_proxy(
                lambda m, p, s: "/chalZ/" in p and s == 200)), {}),
            ("kill -9 during the store write", "", suite.kill_when("kill-store", suite.on_store_write), {}),
            ("kill -9 during install", "", suite.kill_when("kill-install", suite.on_line(
                INSTALL_TASK, 0.8)), {}),
            ("four concurrent runs", "", suite.concurrent, {"resume": False, "count": 4}),
            ("web3 unreachable mid-deploy, reload fails on web2", r"web3.*(?i:unreachable|refused)",
             suite.node_faults, {"expect_also": r"web2.*reload", "count": 2}),
            ("store host unreachable", r"store host", suite.store_unreachable, {}),
            ("store disk full (a small tmpfs, filled)", r"(?i)no space left", suite.disk_full, {"resume": False}),
            ("corrupt store: truncated meta.json, key not matching", r"(?i)meta|match|corrupt", suite.corrupt_store,
             {"count": 2}),
        ]
        for name, expect, body, opts in steps:
            if only and not any(o in name for o in only) and name != steps[0][0]:
                continue
            try:
                suite.fault(name, expect, body, **opts)
            except Exception as exc:  # noqa: BLE001 - one broken fault must not lose the table
                suite.rows.append({"fault": name, "injected": 0, "runs": "", "orders": {}, "leftovers": 0,
                                   "message": "", "survived": False, "faults": [],
                                   "problems": ["the suite itself failed: %s" % exc]})
    finally:
        proxy.stop()
        pebble.terminate()
        pebble.wait(10)
    hits = secret_hits()
    text = table(suite.rows, hits)
    print(text)
    print("faults: %d runs in %d s; logs in %s" % (len(suite.runs), time.time() - started, LOGS))
    results = os.environ.get("FAULTS_RESULTS")
    if results:
        with open(results, "w") as handle:
            handle.write(text + "\n")
    return 0 if all(r["survived"] for r in suite.rows) and not hits else 1


if __name__ == "__main__":
    sys.exit(main())
