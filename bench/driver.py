#!/usr/bin/env python3
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""certfleet.acme benchmark driver, started by bench/run.sh (which sets up the peers' venv).

The matrix: for every node count K in BENCH_NODES and every size N in BENCH_SIZES, the role
(case "role": target nginx, the whole path a user runs) issues N certificates (one name each) for
K lab web nodes, runs again with nothing due, and renews 10% of them (force). In the same run, per
K: the Ansible+SSH floor (bench/baseline.yml) and the minimal-play floor (no facts, one no-op per
step of the role); per (K, N): the ACME floor (bench/floor.py). At the peer sizes
(BENCH_PEER_SIZES, on BENCH_PEER_NODES nodes) also "role-files" (target files), community.crypto
and certbot. The wall time of each run is measured around the whole command. Medians, fits and
ratio lines go to stdout and bench/results.md. Exit status 1 when any run or check failed.

The lab must have at least max(BENCH_NODES) nodes (LAB_NODES=K lab.sh up); for a cell with fewer
nodes the driver writes an inventory of the first K and puts HAProxy's other servers into
maintenance (restored at the end), so every validation reaches one of the K.

Environment: BENCH_SIZES ("1 50 500"), BENCH_NODES ("3 20"), BENCH_REPEATS (1),
BENCH_PEER_SIZES ("50"), BENCH_PEER_NODES (3), BENCH_CASES (role role-files community.crypto
certbot floor; also "playbook", bench/certfleet.yml), BENCH_QUICK ("1": sizes "1 5", nodes "3",
peer size 5, peers left out unless BENCH_CASES names them), BENCH_PROFILE ("1": one extra
profiled run of the role per cell, not in the medians), BENCH_FORKS (forks of every Ansible
run, default 25), BENCH_RUN_TIMEOUT (seconds per run, 1800), BENCH_RESULTS (bench/results.md),
LAB_DIR (/var/tmp/certfleet-lab).
"""

from __future__ import annotations

import datetime
import glob
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
import typing as t

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
WORK = os.path.join(BENCH, ".work")
PEERS = os.path.join(WORK, "venv-peers")
MAIN_VENV = os.path.join(ROOT, ".venv")
LAB_DIR = os.environ.get("LAB_DIR", "/var/tmp/certfleet-lab")
DIRECTORY_URL = "https://127.0.0.1:14000/dir"
CA_BUNDLE = os.path.join(LAB_DIR, "ca", "lab-ca.pem")
SSH_KEY = os.path.join(LAB_DIR, "ssh", "id_ed25519")
LAB_INVENTORY = os.path.join(LAB_DIR, "inventory.yml")
LAB_VARS = os.path.join(LAB_DIR, "lab-vars.yml")
RESULTS = os.environ.get("BENCH_RESULTS") or os.path.join(BENCH, "results.md")
LEAD_START = "<!-- lead-analysis:start (kept by bench/driver.py when results.md is rewritten) -->"
LEAD_END = "<!-- lead-analysis:end -->"

CASES = {  # name -> short key (certificate names bN.bench-<key>.example.test, directories)
    "role": "rl",
    "role-files": "rf",
    "playbook": "cf",
    "community.crypto": "cc",
    "certbot": "cb",
    "floor": "fl",
}


def log(msg: str) -> None:
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def web_nodes() -> t.List[t.Tuple[str, str, str]]:
    """(name, address, prefix) of every web node of the lab, from $LAB_DIR/lab-vars.yml."""
    import yaml
    with open(LAB_VARS) as handle:
        nodes = yaml.safe_load(handle)["lab_web_nodes"]
    return [(name, nodes[name], os.path.join(LAB_DIR, "nodes", name))
            for name in sorted(nodes, key=lambda n: int(n[3:]))]


ALL_NODES = web_nodes()
NODES = ALL_NODES  # the nodes of the current cell (use_nodes)
INVENTORY = LAB_INVENTORY


def use_nodes(count: int) -> None:
    """Make the first `count` lab nodes the cell's fleet: an inventory with only them, HAProxy's
    other servers in maintenance (so every validation reaches one of them)."""
    import yaml
    global NODES, INVENTORY
    if count > len(ALL_NODES):
        raise SystemExit("the lab has %d web nodes, the matrix wants %d: LAB_NODES=%d lab.sh up"
                         % (len(ALL_NODES), count, count))
    NODES = ALL_NODES[:count]
    with open(LAB_INVENTORY) as handle:
        inv = yaml.safe_load(handle)
    hosts = inv["all"]["children"]["web"]["hosts"]
    inv["all"]["children"]["web"]["hosts"] = {n: hosts[n] for n, _a, _p in NODES}
    INVENTORY = os.path.join(WORK, "inventory-%d.yml" % count)
    os.makedirs(WORK, exist_ok=True)
    with open(INVENTORY, "w") as handle:
        yaml.safe_dump(inv, handle, default_flow_style=False)
    for index, (name, _address, _prefix) in enumerate(ALL_NODES):
        for backend in ("web_http", "web_h2c"):
            lb_cmd("set server %s/%s state %s" % (backend, name, "ready" if index < count else "maint"))


def lb_cmd(command: str) -> str:
    return sh(["bash", os.path.join(ROOT, "tests", "lab", "lab.sh"), "lb-cmd", command])


def names_for(case: str, count: int) -> t.List[str]:
    return ["b%d.bench-%s.example.test" % (i, CASES[case]) for i in range(1, count + 1)]


def case_work(case: str) -> str:
    return os.path.join(WORK, "cases", CASES[case])


def node_subdir(case: str) -> str:
    return "bench/" + CASES[case]


# -- environment and commands ----------------------------------------------------------------
def base_env(cp_dir: str) -> t.Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "BENCH_", "CERTBOT_"))}
    env.update({
        "ANSIBLE_CONFIG": os.path.join(ROOT, "tests", "ansible.cfg"),
        "ANSIBLE_SSH_CONTROL_PATH_DIR": cp_dir,
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "LAB_DIR": LAB_DIR,
        # Every node of the largest cell in one batch (tests/ansible.cfg has 10).
        "ANSIBLE_FORKS": os.environ.get("BENCH_FORKS", "25"),
    })
    return env


def main_env(cp_dir: str) -> t.Dict[str, str]:
    env = base_env(cp_dir)
    env["PATH"] = os.path.join(MAIN_VENV, "bin") + os.pathsep + env.get("PATH", "")
    env["ANSIBLE_COLLECTIONS_PATH"] = os.path.join(ROOT, ".build", "collections")
    return env


def peers_env(cp_dir: str) -> t.Dict[str, str]:
    env = base_env(cp_dir)
    env["PATH"] = os.path.join(PEERS, "bin") + os.pathsep + env.get("PATH", "")
    # Only the collections that come with the `ansible` package (community.crypto among them).
    empty = os.path.join(WORK, "empty-collections")
    os.makedirs(empty, exist_ok=True)
    env["ANSIBLE_COLLECTIONS_PATH"] = empty
    return env


class Run(object):
    """One timed command (or sequence of commands) with its log."""

    counter = 0

    def __init__(self, label: str) -> None:
        Run.counter += 1
        self.label = label
        self.log_path = os.path.join(WORK, "logs", label + ".log")
        self.cp_dir = os.path.join(WORK, "cp", str(Run.counter))  # short: ssh socket paths are limited
        shutil.rmtree(self.cp_dir, ignore_errors=True)
        os.makedirs(self.cp_dir)
        os.makedirs(os.path.dirname(self.log_path), exist_ok=True)
        self.seconds = 0.0
        self.error: t.Optional[str] = None

    def execute(self, commands: t.List[t.List[str]], env: t.Dict[str, str], timeout: float) -> bool:
        """Run the commands one after the other; the wall time covers all of them."""
        with open(self.log_path, "w") as out:
            started = time.monotonic()
            for cmd in commands:
                out.write("$ %s\n" % " ".join(cmd))
                out.flush()
                try:
                    proc = subprocess.run(cmd, env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out,
                                          stderr=subprocess.STDOUT, check=False,
                                          timeout=max(1.0, timeout - (time.monotonic() - started)))
                except subprocess.TimeoutExpired:
                    self.error = "timed out after %.0f s" % timeout
                    break
                if proc.returncode != 0:
                    self.error = "exit status %d (%s)" % (proc.returncode, os.path.basename(cmd[0]))
                    break
            self.seconds = time.monotonic() - started
        self.close_ssh()
        return self.error is None

    def close_ssh(self) -> None:
        """End the ssh master connections this run opened (each run starts with cold ssh)."""
        for sock in glob.glob(os.path.join(self.cp_dir, "*")):
            subprocess.run(["ssh", "-o", "ControlPath=" + sock, "-O", "exit", "bench"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=False, timeout=30)
        shutil.rmtree(self.cp_dir, ignore_errors=True)

    def output(self) -> str:
        with open(self.log_path, errors="replace") as handle:
            return handle.read()


def write_vars(case: str, names: t.List[str], force: t.Sequence[str] = ()) -> str:
    work = case_work(case)
    os.makedirs(work, exist_ok=True)
    path = os.path.join(work, "vars.json")
    certificates = [{"name": n, "identifiers": [n], "force": n in force} for n in names]
    with open(path, "w") as handle:
        json.dump({"bench_names": names, "bench_work": work, "bench_node_subdir": node_subdir(case),
                   "bench_certificates": certificates, "bench_target": "files" if case == "role-files" else "nginx",
                   "bench_conf_file": conf_file(case), "bench_lab_vars": LAB_VARS}, handle)
    return path


def conf_file(case: str) -> str:
    return "bench-%s.conf" % CASES[case]


def renewed(names: t.List[str]) -> t.List[str]:
    """The names the renewal phase forces: 10% of the certificates, at least one."""
    return names[:max(1, len(names) // 10)]


def prepare(case: str, names: t.List[str]) -> None:
    """Directories community.crypto's pattern expects to exist (created untimed; see its playbook)."""
    if case != "community.crypto":
        return
    for sub in ("keys", "csrs", "certs"):
        os.makedirs(os.path.join(case_work(case), sub), mode=0o700, exist_ok=True)
    for _node, _address, prefix in NODES:
        for name in names:
            os.makedirs(os.path.join(prefix, node_subdir(case), name), exist_ok=True)


def commands_for(case: str, phase: str, names: t.List[str], run: Run) -> t.Tuple[t.List[t.List[str]], t.Dict[str, str]]:
    if case in ("role", "role-files"):
        force = renewed(names) if phase == "renew" else []
        return [["ansible-playbook", "-i", INVENTORY, os.path.join(BENCH, "certfleet-role.yml"),
                 "-e", "@" + write_vars(case, names, force)]], main_env(run.cp_dir)
    if case == "playbook":
        return [["ansible-playbook", "-i", INVENTORY, os.path.join(BENCH, "certfleet.yml"), "-e", "@" + write_vars(case, names)]], \
            main_env(run.cp_dir)
    if case == "community.crypto":
        return [["ansible-playbook", "-i", INVENTORY, os.path.join(BENCH, "community-crypto.yml"),
                 "-e", "@" + write_vars(case, names)]], peers_env(run.cp_dir)
    if case == "certbot":
        work = case_work(case)
        env = peers_env(run.cp_dir)
        env.update({
            "REQUESTS_CA_BUNDLE": CA_BUNDLE,
            "BENCH_NODES": " ".join("%s=%s" % (address, prefix) for _name, address, prefix in NODES),
            "BENCH_SSH_KEY": SSH_KEY,
            "BENCH_CP_DIR": run.cp_dir,
            "BENCH_NODE_SUBDIR": node_subdir(case),
        })
        dirs = ["--config-dir", os.path.join(work, "config"), "--work-dir", os.path.join(work, "work"),
                "--logs-dir", os.path.join(work, "logs")]
        certbot = os.path.join(PEERS, "bin", "certbot")
        hooks = os.path.join(BENCH, "certbot")
        if phase == "rerun":
            return [[certbot, "renew", "--no-random-sleep-on-renew", "--non-interactive"] + dirs], env
        return [[certbot, "certonly", "--manual", "--preferred-challenges", "http",
                 "--manual-auth-hook", os.path.join(hooks, "auth-hook.sh"),
                 "--manual-cleanup-hook", os.path.join(hooks, "cleanup-hook.sh"),
                 "--deploy-hook", os.path.join(hooks, "deploy-hook.sh"),
                 "-d", name, "--cert-name", name, "--server", DIRECTORY_URL,
                 "--agree-tos", "--register-unsafely-without-email", "--non-interactive"] + dirs
                for name in names], env
    if case == "floor":
        cmd = [os.path.join(MAIN_VENV, "bin", "python"), os.path.join(BENCH, "floor.py"),
               "--directory-url", DIRECTORY_URL, "--ca-bundle", CA_BUNDLE,
               "--collections", os.path.join(ROOT, ".build", "collections"), "--case-subdir", node_subdir(case)]
        for _name, _address, prefix in NODES:
            cmd += ["--node-prefix", prefix]
        return [cmd + names], main_env(run.cp_dir)
    raise ValueError(case)


# -- clean state and checks ------------------------------------------------------------------
def thumbprints(case: str) -> t.List[str]:
    """base64url JWK thumbprints of the case's ACME account keys (to find its token files)."""
    import josepy as jose
    from cryptography.hazmat.primitives import serialization
    work = case_work(case)
    jwks = []
    for path in glob.glob(os.path.join(work, "store", "accounts", "*", "*", "key.pem")) + \
            glob.glob(os.path.join(work, "account.key")):
        with open(path, "rb") as handle:
            key = serialization.load_pem_private_key(handle.read(), password=None)
        jwks.append(jose.JWK.load(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption())))
    for path in glob.glob(os.path.join(work, "config", "accounts", "**", "private_key.json"), recursive=True):
        with open(path) as handle:
            jwks.append(jose.JWK.json_loads(handle.read()))
    return [jose.b64encode(jwk.public_key().thumbprint()).decode() for jwk in jwks]


def remove_tokens(case: str) -> int:
    """Remove the case's http-01 token files from every web root; return how many were left."""
    prints = thumbprints(case)
    removed = 0
    if not prints:
        return 0
    for _name, _address, prefix in ALL_NODES:
        for path in glob.glob(os.path.join(prefix, "www", ".well-known", "acme-challenge", "*")):
            try:
                with open(path) as handle:
                    content = handle.read(1024).strip()
            except OSError:
                continue
            if any(content.endswith("." + tp) for tp in prints):
                try:
                    os.unlink(path)
                    removed += 1
                except FileNotFoundError:
                    pass
    return removed


def clean(case: str) -> int:
    """Start state of a case: no tokens, no store/keys/certbot dirs, no files on the nodes (and
    for the role, no server blocks of its own: conf file removed, nginx reloaded)."""
    left = remove_tokens(case)
    shutil.rmtree(case_work(case), ignore_errors=True)
    for _name, _address, prefix in ALL_NODES:
        shutil.rmtree(os.path.join(prefix, node_subdir(case)), ignore_errors=True)
        conf = os.path.join(prefix, "conf.d", conf_file(case))
        if os.path.exists(conf):
            os.unlink(conf)
            sh(["nginx", "-p", prefix, "-c", "conf/nginx.conf", "-s", "reload"])
    return left


def served_files(case: str, names: t.List[str]) -> t.Tuple[t.Dict[str, str], t.List[str]]:
    """Check key and full chain of every name on every node; return name -> serial, problems."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    serials: t.Dict[str, str] = {}
    problems = []
    for name in names:
        seen = set()
        for node, _address, prefix in NODES:
            base = os.path.join(prefix, node_subdir(case), name)
            try:
                with open(os.path.join(base, "fullchain.pem"), "rb") as handle:
                    cert = x509.load_pem_x509_certificates(handle.read())[0]
                with open(os.path.join(base, "privkey.pem"), "rb") as handle:
                    key = serialization.load_pem_private_key(handle.read(), password=None)
            except (OSError, ValueError) as exc:
                problems.append("%s on %s: %s" % (name, node, exc))
                continue
            sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            if name not in sans.get_values_for_type(x509.DNSName):
                problems.append("%s on %s: certificate is for %s" % (name, node, sans.get_values_for_type(x509.DNSName)))
            spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            if cert.public_key().public_bytes(*spki) != key.public_key().public_bytes(*spki):
                problems.append("%s on %s: key does not match the certificate" % (name, node))
            seen.add("%x" % cert.serial_number)
        if len(seen) > 1:
            problems.append("%s: the nodes have different certificates" % name)
        if seen:
            serials[name] = sorted(seen)[0]
    return serials, problems


RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def recap_changed(output: str) -> t.Dict[str, int]:  # noqa: D103
    return {m.group(1): int(m.group(3)) for m in RECAP.finditer(output)}


# -- one case, one size, one repeat ----------------------------------------------------------
def run_case(case: str, count: int, rep: int, timeout: float, profile: bool = False) -> t.Dict[str, t.Any]:
    names = names_for(case, count)
    tag = "%s-n%d-k%d-%s" % (CASES[case], count, len(NODES), "profile" if profile else "r%d" % rep)
    out: t.Dict[str, t.Any] = {"errors": []}
    clean(case)
    prepare(case, names)
    phases = ["issue"] if case == "floor" else ["issue", "rerun", "renew"] if case in ("role", "role-files") \
        else ["issue", "rerun"]
    serials: t.Dict[str, str] = {}
    for phase in phases:
        run = Run("%s-%s" % (tag, phase))
        commands, env = commands_for(case, phase, names, run)
        if profile:
            env["ANSIBLE_CALLBACK_PLUGINS"] = os.path.join(BENCH, "callback_plugins")
            env["ANSIBLE_CALLBACKS_ENABLED"] = "bench_profile"
            env["BENCH_PROFILE_FILE"] = os.path.join(WORK, "logs", "%s-%s.profile.json" % (tag, phase))
        ok = run.execute(commands, env, timeout)
        out[phase] = run.seconds
        out[phase + "_log"] = run.log_path
        if not ok:
            out["errors"].append("%s %s: %s (log %s)" % (case, phase, run.error, os.path.relpath(run.log_path, ROOT)))
            out[phase] = None
            break
        now, problems = served_files(case, names)
        if phase == "issue":
            serials = now
        elif phase == "renew":
            want = set(renewed(names))
            replaced = set(n for n in names if now.get(n) != serials.get(n))
            if replaced != want:
                problems.append("the renewal replaced %d certificates, not the %d forced" % (len(replaced), len(want)))
        elif now != serials:
            problems.append("the re-run replaced certificates on the nodes")
        if case in ("role", "role-files", "playbook", "community.crypto") and phase == "rerun":
            changed = {h: c for h, c in recap_changed(run.output()).items() if c}
            if changed:
                problems.append("the re-run reported changes (%s)" % ", ".join("%s changed=%d" % i for i in sorted(changed.items())))
        if case == "floor":
            try:
                out["floor"] = json.loads(run.output().strip().splitlines()[-1])
            except (ValueError, IndexError):
                pass
        if problems:
            out["errors"].append("%s %s: %s" % (case, phase, "; ".join(problems[:5])))
            out[phase] = None
            break
        what = "profile" if profile else "run %d" % rep
        log("%-16s N=%-3d K=%-2d %-7s %-6s %7.2f s" % (case, count, len(NODES), what, phase, run.seconds))
        if profile:
            out[phase + "_profile"] = env["BENCH_PROFILE_FILE"]
    left = clean(case)
    if left and case != "community.crypto":  # community.crypto's pattern leaves its tokens, by design
        out["errors"].append("%s left %d token files on the nodes" % (case, left))
    return out


def run_baseline(timeout: float) -> t.Optional[float]:
    """The Ansible+SSH floor of the current inventory."""
    run = Run("baseline-k%d" % len(NODES))
    ok = run.execute([["ansible-playbook", "-i", INVENTORY, os.path.join(BENCH, "baseline.yml")]], main_env(run.cp_dir), timeout)
    return run.seconds if ok else None


def role_steps() -> int:
    """Tasks of the role's main path (main.yml's imports and includes, not rollback.yml): the number of
    no-op tasks in the minimal-play floor."""
    import yaml

    def count(tasks: t.List[t.Dict[str, t.Any]]) -> int:
        total = 0
        for task in tasks or []:
            if "block" in task:
                total += count(task["block"]) + count(task.get("always", []))
            elif task.get("ansible.builtin.import_tasks") or task.get("ansible.builtin.include_tasks") not in (None, "rollback.yml"):
                name = task.get("ansible.builtin.import_tasks") or task["ansible.builtin.include_tasks"]
                with open(os.path.join(ROOT, "roles", "certificate", "tasks", name)) as handle:
                    total += count(yaml.safe_load(handle))
            elif "ansible.builtin.include_tasks" not in task:
                total += 1
        return total

    with open(os.path.join(ROOT, "roles", "certificate", "tasks", "main.yml")) as handle:
        return count(yaml.safe_load(handle))


def run_minimal(timeout: float) -> t.Optional[float]:
    """The minimal-play floor: no facts, the pings, one no-op (set_fact, controller-side like the
    role's fleet_plan steps) per step of the role, on every node."""
    steps = role_steps()
    path = os.path.join(WORK, "minimal-play.yml")
    tasks = "".join("    - name: Step %d\n      ansible.builtin.set_fact:\n        bench_step: %d\n" % (i, i)
                    for i in range(1, steps + 1))
    with open(path, "w") as handle:
        handle.write("# Written by bench/driver.py (run_minimal): the minimal-play floor, %d steps.\n"
                     "- name: Store host\n  hosts: store\n  gather_facts: false\n  tasks:\n"
                     "    - name: Ping the store host\n      ansible.builtin.ping:\n"
                     "- name: Nodes\n  hosts: web\n  gather_facts: false\n  tasks:\n"
                     "    - name: Ping every node\n      ansible.builtin.ping:\n%s" % (steps, tasks))
    run = Run("minimal-k%d" % len(NODES))
    ok = run.execute([["ansible-playbook", "-i", INVENTORY, path]], main_env(run.cp_dir), timeout)
    return run.seconds if ok else None


# -- description of the machine --------------------------------------------------------------
def sh(cmd: t.List[str]) -> str:
    try:
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, timeout=60,
                              check=False).stdout.strip()
    except OSError:
        return ""


def versions(python: str, packages: t.List[str]) -> t.Dict[str, str]:
    code = ("import importlib.metadata as m, json, sys\n"
            "out = {}\n"
            "for p in sys.argv[1:]:\n"
            "    try:\n        out[p] = m.version(p)\n"
            "    except m.PackageNotFoundError:\n        out[p] = 'not installed'\n"
            "print(json.dumps(out))")
    try:
        return json.loads(sh([python, "-c", code] + packages))
    except ValueError:
        return {}


def machine() -> t.List[t.Tuple[str, str]]:
    with open("/proc/meminfo") as handle:
        mem_kb = int(re.search(r"MemTotal:\s+(\d+)", handle.read()).group(1))
    with open("/proc/cpuinfo") as handle:
        model = re.search(r"model name\s*:\s*(.*)", handle.read())
    main_py = os.path.join(MAIN_VENV, "bin", "python")
    peers_py = os.path.join(PEERS, "bin", "python")
    mine = versions(main_py, ["ansible-core", "acme", "josepy", "cryptography", "requests"])
    peers = versions(peers_py, ["ansible", "ansible-core", "certbot", "acme", "cryptography"])
    cc_manifest = glob.glob(os.path.join(PEERS, "lib", "python*", "site-packages", "ansible_collections",
                                         "community", "crypto", "MANIFEST.json"))
    cc_version = "not installed"
    if cc_manifest:
        with open(cc_manifest[0]) as handle:
            cc_version = json.load(handle)["collection_info"]["version"]
    pebble = sh(["dpkg-query", "-W", "-f", "${Version}", "pebble"]) or "unknown"
    pebble_env = ""
    try:
        with open(os.path.join(LAB_DIR, "pebble", "pebble.pid")) as handle:
            pid = handle.read().strip()
        with open("/proc/%s/environ" % pid, "rb") as handle:
            pebble_env = " ".join(sorted(e.decode() for e in handle.read().split(b"\0") if e.startswith(b"PEBBLE_")))
    except OSError:
        pass
    return [
        ("CPU", "%s, %s cores (nproc)" % (model.group(1).strip() if model else "unknown", sh(["nproc"]))),
        ("memory", "%.1f GiB" % (mem_kb / 1024.0 / 1024.0)),
        ("system", "%s %s, %s" % (platform.system(), platform.release(), sh(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]))),
        ("Python", sh([main_py, "-c", "import platform; print(platform.python_version())"])),
        ("certfleet side", "ansible-core %s, acme %s, josepy %s, cryptography %s" % (
            mine.get("ansible-core"), mine.get("acme"), mine.get("josepy"), mine.get("cryptography"))),
        ("peers (bench/.work/venv-peers)", "ansible %s (ansible-core %s, community.crypto %s), certbot %s (acme %s), cryptography %s" % (
            peers.get("ansible"), peers.get("ansible-core"), cc_version, peers.get("certbot"), peers.get("acme"),
            peers.get("cryptography"))),
        ("Pebble", "%s (Debian package), %s, %s" % (pebble, DIRECTORY_URL, pebble_env or "environment not readable")),
    ]


def loadavg() -> str:
    with open("/proc/loadavg") as handle:
        return " ".join(handle.read().split()[:3])


# -- report ----------------------------------------------------------------------------------
def median(values: t.List[t.Optional[float]]) -> t.Optional[float]:
    good = [v for v in values if v is not None]
    return statistics.median(good) if good and len(good) == len(values) else None


def fmt(value: t.Optional[float], digits: int = 2) -> str:
    return "-" if value is None else "%.*f" % (digits, value)


def linear_fit(points: t.List[t.Tuple[int, float]]) -> t.Optional[t.Tuple[float, float]]:
    """Least squares t = a + b * N over the medians; None with fewer than two sizes."""
    if len(points) < 2:
        return None
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mx) ** 2 for x in xs)
    if not var:
        return None
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / var
    return my - b * mx, b


def profile_table(path: str, wall: t.Optional[float]) -> t.List[str]:
    try:
        with open(path) as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return ["(no profile: %s)" % os.path.relpath(path, ROOT)]
    lines = ["| task | wall s | hosts (status) | slowest host s |", "|---|---:|---|---:|"]
    in_tasks = 0.0
    for task in data["tasks"]:
        if task["end"] is None:
            continue
        wall_task = task["end"] - task["start"]
        in_tasks += wall_task
        hosts = task["hosts"]
        per_host = [h["end"] - h["start"] for h in hosts.values() if h.get("end") is not None and h.get("start") is not None]
        statuses = sorted(set(h.get("status", "?") for h in hosts.values()))
        slowest = fmt(max(per_host) if per_host else None)
        row = (task["name"].replace("|", "/"), wall_task, len(hosts), ", ".join(statuses), slowest)
        lines.append("| %s | %.2f | %d (%s) | %s |" % row)
    lines.append("| *between tasks (play set-up, templating, strategy)* | %.2f | | |" % (data["total"] - in_tasks))
    acme = [s for task in data["tasks"] for s in task.get("acme_seconds", [])]
    if wall is not None:
        lines.append("| *ansible-playbook start-up and exit* | %.2f | | |" % (wall - data["total"]))
        lines.append("| **total wall** | **%.2f** | | |" % wall)
    if acme:
        lines += ["", "Inside `order state=valid`: %d orders, each %.3f s median, %.3f s max from answer to stored "
                  "chain (up to 8 at a time, the module's default concurrency)." % (len(acme), statistics.median(acme), max(acme))]
    return lines


METHOD = os.path.join(BENCH, "method.md")  # how the cases are run, included in results.md

LEAD_TEMPLATE = """\
## Where certfleet's time goes (lead: fill in after the full run)

*To be written from the full `make bench` run on a quiet machine.* Data to use, all produced by
the run above:

1. **Per task**: the profiled certfleet runs (tables above, one per N, callback
   `bench/callback_plugins/bench_profile.py`): wall time per task (first host start to last host
   end), the slowest host, time between tasks, and ansible-playbook start-up/exit (total wall minus
   the callback's span).
2. **Ansible + SSH floor**: `bench/baseline.yml` (one `ping` on the store host, one on every node
   over cold ssh): what any playbook run costs before real work.
3. **ACME floor**: the floor case (same protocol work, no Ansible, no ssh), and the order module's
   own `seconds` per certificate (line under each profiled fresh-issuance table).
4. **Scaling with certificates**: the fitted `a + b*N` per case (table above); certfleet's task
   count is constant in N (one call per node per step), so its `b` should be the ACME floor's
   per-certificate cost plus module argument size; community.crypto's and certbot's `b` include a
   module run / process start per certificate (and per node for the copies).
5. **Scaling with nodes**: certfleet makes 3 calls per node per fresh run (challenge present,
   absent, install) and 1 on a re-run; they run in parallel over `forks`, so the per-node cost is
   the slowest host's ssh + module start-up plus the controller's CPU for each extra worker (2
   cores here). Compare the "slowest host" column with the task wall time; to measure it directly,
   run the profiled certfleet playbook with `--limit store,web1` / `store,web1,web2` for the
   re-run (the fresh run needs all three nodes because the load balancer spreads the validations).

Text:

- Fresh issuance at N=50: ... s = start-up ... + ACME ... + node tasks ... + other ...
- Re-run at N=50: ...
- Scaling: ...
"""


PHASES = ("issue", "rerun", "renew")
PHASE_TITLE = {"issue": "fresh issuance", "rerun": "re-run, nothing due", "renew": "renewal of 10%"}


def fit_plane(points: t.List[t.Tuple[int, int, float]]) -> t.Optional[t.Tuple[float, float, float]]:
    """Least squares t = a + b*N + c*K (fixed cost, per certificate, per node) over (N, K, t);
    None unless both N and K take two values or more."""
    if len(set(p[0] for p in points)) < 2 or len(set(p[1] for p in points)) < 2:
        return None
    rows = [(1.0, float(n), float(k)) for n, k, _v in points]
    ys = [v for _n, _k, v in points]
    ata = [[sum(r[i] * r[j] for r in rows) for j in range(3)] for i in range(3)]
    aty = [sum(r[i] * y for r, y in zip(rows, ys)) for i in range(3)]
    # Gaussian elimination with partial pivoting on the 3x3 normal equations.
    m = [ata[i] + [aty[i]] for i in range(3)]
    for col in range(3):
        pivot = max(range(col, 3), key=lambda r: abs(m[r][col]))
        if abs(m[pivot][col]) < 1e-12:
            return None
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(3):
            if r != col:
                f = m[r][col] / m[col][col]
                m[r] = [x - f * y for x, y in zip(m[r], m[col])]
    return m[0][3] / m[0][0], m[1][3] / m[1][1], m[2][3] / m[2][2]


def write_results(ctx: t.Dict[str, t.Any], table: t.List[str], floors: t.List[str], fits: t.List[str],
                  ratio_lines: t.List[str], errors: t.List[str], profiles: t.Dict[t.Tuple[str, int, int], t.Dict[str, t.Any]]) -> None:
    lead = LEAD_TEMPLATE
    if os.path.exists(RESULTS):
        with open(RESULTS) as handle:
            old = handle.read()
        if LEAD_START in old and LEAD_END in old:
            lead = old.split(LEAD_START, 1)[1].split(LEAD_END, 1)[0].strip("\n") + "\n"
    lines = ["# Benchmark: the certfleet.acme certificate role at fleet scale, its floors and its peers", "",
             "Written by `bench/run.sh` (`make bench`); do not edit by hand except the section between the",
             "`lead-analysis` markers, which is kept when the file is rewritten.", "",
             "- run: %s to %s (UTC); BENCH_SIZES=\"%s\", BENCH_NODES=\"%s\", BENCH_REPEATS=%d, peers at N=%s on %d nodes; "
             "cases: %s; forks %s" % (ctx["started"], ctx["finished"], " ".join(map(str, ctx["sizes"])),
                                      " ".join(map(str, ctx["nodes"])), ctx["repeats"],
                                      " ".join(map(str, ctx["peer_sizes"])), ctx["peer_nodes"], ", ".join(ctx["cases"]),
                                      os.environ.get("BENCH_FORKS", "25")),
             "- load average (1, 5, 15 min) at start: %s; at end: %s" % ctx["load"], "", "## Machine", "",
             "| | |", "|---|---|"]
    lines += ["| %s | %s |" % row for row in ctx["machine"]]
    lines += ["", "## Results", "", "Median wall time in seconds (runs that counted).", ""] + table + [""]
    lines += ["### Floors (same run)", ""] + floors + [""]
    if fits:
        lines += ["### Fit", "", "Least squares over the cells' medians, t = a + b*N + c*K (N certificates, K nodes).", "",
                  "| case | run | a: fixed s | b: s per certificate | c: s per node |", "|---|---|---:|---:|---:|"] + fits + [""]
    lines += ["```"] + ratio_lines + ["```", ""]
    if errors:
        lines += ["## Failures", ""] + ["- " + e for e in errors] + [""]
    with open(METHOD) as handle:
        lines += [handle.read().split("-->", 1)[1].strip("\n"), ""]
    if profiles:
        lines += ["## Profiled runs (one extra run of the role per cell, not in the medians)", "",
                  "Callback `bench/callback_plugins/bench_profile.py`: a task's wall time runs from its start to",
                  "its end on the last host; \"slowest host\" is the longest single host (module transfer, ssh,",
                  "execution); the last rows are the time outside tasks.", ""]
        for (case, n, k) in sorted(profiles, key=lambda c: (c[2], c[1])):
            prof = profiles[(case, n, k)]
            for phase in PHASES:
                if prof.get(phase + "_profile"):
                    lines += ["### %s, N=%d, K=%d nodes, %s" % (case, n, k, PHASE_TITLE[phase]), ""]
                    lines += profile_table(prof[phase + "_profile"], prof.get(phase)) + [""]
    lines += [LEAD_START, lead.rstrip("\n"), LEAD_END, ""]
    lines += ["Logs of every run: `bench/.work/logs/` (not committed).", ""]
    with open(RESULTS, "w") as handle:
        handle.write("\n".join(lines))


def ratio(num: t.Optional[float], den: t.Optional[float], digits: int = 2) -> str:
    return fmt(num / den, digits) if num is not None and den else "n/a"


def main() -> int:
    quick = os.environ.get("BENCH_QUICK") == "1"
    sizes = [int(s) for s in os.environ.get("BENCH_SIZES", "1 5" if quick else "1 50 500").split()]
    node_counts = [int(s) for s in os.environ.get("BENCH_NODES", "3" if quick else "3 20").split()]
    repeats = int(os.environ.get("BENCH_REPEATS", "1"))
    peer_sizes = [int(s) for s in os.environ.get("BENCH_PEER_SIZES", "5" if quick else "50").split()]
    peer_nodes = int(os.environ.get("BENCH_PEER_NODES", "3"))
    default_cases = "role role-files floor" if quick else "role role-files community.crypto certbot floor"
    cases = os.environ.get("BENCH_CASES", default_cases).split()
    unknown = [c for c in cases if c not in CASES]
    if unknown or not sizes or not node_counts or repeats < 1:
        raise SystemExit("bad settings: unknown cases %s, sizes %s, nodes %s, repeats %d" % (unknown, sizes, node_counts, repeats))
    timeout = float(os.environ.get("BENCH_RUN_TIMEOUT", "1800"))
    profile = os.environ.get("BENCH_PROFILE", "1") == "1"
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")
    load_start = loadavg()
    log("sizes %s, nodes %s, repeats %d, cases %s, peers at N=%s K=%d, lab %s (%d nodes)" % (
        sizes, node_counts, repeats, cases, peer_sizes, peer_nodes, LAB_DIR, len(ALL_NODES)))
    machine_rows = machine()
    for row in machine_rows:
        log("%s: %s" % row)

    # (case, N, K) -> list of per-repeat results; floors per K
    results: t.Dict[t.Tuple[str, int, int], t.List[t.Dict[str, t.Any]]] = {}
    profiles: t.Dict[t.Tuple[str, int, int], t.Dict[str, t.Any]] = {}
    base: t.Dict[int, t.List[t.Optional[float]]] = {}
    minimal: t.Dict[int, t.List[t.Optional[float]]] = {}
    errors: t.List[str] = []
    try:
        for k in node_counts:
            use_nodes(k)
            for rep in range(1, repeats + 1):
                base.setdefault(k, []).append(run_baseline(timeout))
                minimal.setdefault(k, []).append(run_minimal(timeout))
                log("floors K=%d run %d: Ansible+SSH %s s, minimal play (%d steps) %s s" % (
                    k, rep, fmt(base[k][-1]), role_steps(), fmt(minimal[k][-1])))
            for n in sizes:
                cell_cases = [c for c in cases if c in ("role", "floor")
                              or (n in peer_sizes and k == peer_nodes)]
                for rep in range(1, repeats + 1):
                    shift = (rep - 1) % len(cell_cases)
                    for case in cell_cases[shift:] + cell_cases[:shift]:
                        res = run_case(case, n, rep, timeout)
                        results.setdefault((case, n, k), []).append(res)
                        errors += res["errors"]
                if profile and "role" in cases:
                    prof = run_case("role", n, 0, timeout, profile=True)
                    profiles[("role", n, k)] = prof
                    errors += prof["errors"]
    finally:
        for case in cases:  # leave nothing on the nodes
            clean(case)
        for _node, _address, prefix in ALL_NODES:
            try:
                os.rmdir(os.path.join(prefix, "bench"))
            except OSError:  # not empty (another user of bench/ on the node) or gone
                pass
        if len(ALL_NODES) > 1:
            use_nodes(len(ALL_NODES))  # every HAProxy server back in service

    def med(case: str, n: int, k: int, phase: str) -> t.Optional[float]:
        runs = results.get((case, n, k))
        return median([r.get(phase) for r in runs]) if runs else None

    def cell(case: str, n: int, k: int, phase: str) -> str:
        runs = results.get((case, n, k))
        if not runs or (case == "floor" and phase != "issue"):
            return "-"
        values = [r.get(phase) for r in runs]
        good = len([v for v in values if v is not None])
        m = median(values)
        return "%s (%d/%d)" % (fmt(m), good, len(values)) if m is not None else "FAILED (%d/%d)" % (good, len(values))

    bmed = {k: median(v) for k, v in base.items()}
    mmed = {k: median(v) for k, v in minimal.items()}
    table = ["| K nodes | N | case | fresh issuance s | re-run s | renewal 10% s | re-run / Ansible+SSH floor |",
             "|---:|---:|---|---:|---:|---:|---:|"]
    for k in node_counts:
        for n in sizes:
            for case in cases:
                if (case, n, k) in results:
                    table.append("| %d | %d | %s | %s | %s | %s | %s |" % (
                        k, n, case, cell(case, n, k, "issue"), cell(case, n, k, "rerun"), cell(case, n, k, "renew"),
                        ratio(med(case, n, k, "rerun"), bmed.get(k)) if case != "floor" else "-"))
    floors = ["| K nodes | Ansible+SSH floor s (`bench/baseline.yml`) | minimal play s (%d no-op steps) |" % role_steps(),
              "|---:|---:|---:|"]
    floors += ["| %d | %s | %s |" % (k, fmt(bmed.get(k)), fmt(mmed.get(k))) for k in node_counts]
    fits = []
    for case in ("role",):
        for phase in PHASES:
            pts = [(n, k, med(case, n, k, phase)) for k in node_counts for n in sizes]
            fit = fit_plane([p for p in pts if p[2] is not None])
            if fit:
                fits.append("| %s | %s | %.2f | %.4f | %.3f |" % (case, phase, fit[0], fit[1], fit[2]))
    for name, meds in (("Ansible+SSH floor", bmed), ("minimal play", mmed)):
        pts = [(k, v) for k, v in meds.items() if v is not None]
        if len(pts) >= 2:
            line = linear_fit(pts)
            fits.append("| %s | - | %.2f | - | %.3f |" % (name, line[0], line[1]))
    ratio_lines = []
    for n in peer_sizes:
        for phase in ("issue", "rerun"):
            ratio_lines.append("ratio %s N=%d: %s" % (phase, n, ratio(med("community.crypto", n, peer_nodes, phase),
                                                                      med("role", n, peer_nodes, phase), 1)))
            ratio_lines.append("ratio-files %s N=%d: %s" % (phase, n, ratio(med("community.crypto", n, peer_nodes, phase),
                                                                            med("role-files", n, peer_nodes, phase), 1)))
    n_top, k_top = max(sizes), max(node_counts)
    acme = med("floor", n_top, k_top, "issue")
    z = ratio(med("role", n_top, k_top, "rerun"), bmed.get(k_top))
    w = ratio(med("role", n_top, k_top, "issue"), (acme + bmed[k_top]) if acme is not None and bmed.get(k_top) else None)
    ratio_lines += ["floor-ratio rerun N=%d nodes=%d: %s" % (n_top, k_top, z),
                    "floor-ratio issue N=%d nodes=%d: %s" % (n_top, k_top, w)]
    targets = []
    for label, value, limit in (("Z (re-run / Ansible+SSH floor)", z, 1.5), ("W (issue / (ACME + Ansible+SSH floors))", w, 2.0)):
        try:
            targets.append("%s at most %.1f: %s" % (label, limit, "met" if float(value) <= limit else "NOT met"))
        except ValueError:
            targets.append("%s: not measured" % label)
    ratio_lines += ["target " + x for x in targets]
    finished = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")
    ctx = {"sizes": sizes, "nodes": node_counts, "repeats": repeats, "cases": cases, "peer_sizes": peer_sizes,
           "peer_nodes": peer_nodes, "started": started, "finished": finished, "load": (load_start, loadavg()),
           "machine": machine_rows}
    write_results(ctx, table, floors, fits, ratio_lines, errors, profiles)
    print()
    print("\n".join(table + [""] + floors + [""] + ratio_lines))
    if errors:
        print()
        print("FAILURES:")
        print("\n".join("  " + e for e in errors))
    print()
    print("written: %s" % os.path.relpath(RESULTS, ROOT))
    return 1 if errors or None in bmed.values() else 0


if __name__ == "__main__":
    sys.exit(main())
