#!/usr/bin/env python3
"""tests/bench/bench.py - `make bench`: pamsh measured against what
operators do today and against the ceiling of the machine, in one run.

    bench.py --pamsh build/pamsh --out build/bench.md      the benchmark
    bench.py --pamsh build/pamsh --profile --out FILE      where pamsh's
                                   sequential time goes (callgrind, perf)

nginx (Debian's) is started on 127.0.0.1, on free ports, in the foreground
under a temp dir of its own (prefix, pid, logs, a throw-away ECDSA P-256 CA
and server certificate), with fixed answers for IMDS, the landing and
/rest/record/unlock/<id>, TLS, keep-alive and HTTP/2 when the build has it.
Then the same BENCH_N unlock requests are made:

  (a) a shell loop of curl processes with a cookie jar (the product
      description's way);
  (b) pamsh, pam_request in a `for` loop;
  (c) pamsh, pam.map(ids, fn, {concurrency = 16});
  (d) wrk, 1 connection and 16 connections (fixed time): the ceiling;
  (e) Python's http.client on one keep-alive connection.

Also pamsh start-up (`pamsh -e ''`, median of BENCH_STARTUP_RUNS, beside
`lua5.4 -e ''` and /bin/true) and peak RSS.  The table goes to stdout and
to --out, with the machine it ran on.  nginx is stopped at the end, also on
failure and on SIGINT/SIGTERM (and dies with this process: PDEATHSIG).

Environment: BENCH_N (2000), BENCH_REPEAT (5: (b), (c), (e) are run that
often and the median kept), BENCH_WRK_SECONDS (2) and BENCH_WRK_REPEAT (3:
the same for wrk), BENCH_STARTUP_RUNS (200),
BENCH_RSS_N (5000), BENCH_PROFILE_N (500), KEEP_TMP=1 keeps the temp dir.
Only the loopback address is ever contacted; every loop is bounded in
count and every process in time.
"""

import argparse
import base64
import ctypes
import datetime
import json
import os
import platform
import re
import secrets
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
HOST = "127.0.0.1"
RESOURCE = "8b5e5a4c-6f0e-4d6a-9d0b-bench0pamsh1"
UNLOCK = "/rest/record/unlock/"


def env_int(name, default, lo, hi):
    v = os.environ.get(name, "")
    try:
        n = int(v) if v else default
    except ValueError:
        sys.exit("bench: %s must be an integer, not %r" % (name, v))
    if not lo <= n <= hi:
        sys.exit("bench: %s must be between %d and %d" % (name, lo, hi))
    return n


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def sh(cmd, **kw):
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.STDOUT)
    kw.setdefault("timeout", 60)
    return subprocess.run(cmd, text=True, check=False, **kw)


def _pdeathsig():
    """preexec: the child gets SIGKILL when this runner dies, however."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class Failed(Exception):
    pass


# ---------------------------------------------------------------- processes

def run_marked(cmd, env, timeout, errfile):
    """Run CMD, which prints "ready" when its timed part starts and
    "done GOOD" when it ends; time-stamp those lines.  Returns a dict with
    the times (seconds since the start), GOOD, the exit status and the
    child's peak RSS (KiB, from wait4)."""
    t0 = time.perf_counter()
    with open(errfile, "wb") as err:
        p = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=err, start_new_session=True, preexec_fn=_pdeathsig)
    stamps, good, buf = {}, None, b""
    deadline = t0 + timeout
    sel = selectors.DefaultSelector()
    sel.register(p.stdout, selectors.EVENT_READ)
    eof = False
    try:
        while not eof:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise Failed("%s: no end after %d s" % (os.path.basename(cmd[0]), timeout))
            if not sel.select(left):
                continue
            chunk = os.read(p.stdout.fileno(), 65536)
            now = time.perf_counter()
            if not chunk:
                eof = True
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                words = line.decode(errors="replace").split()
                if words and words[0] in ("ready", "done") and words[0] not in stamps:
                    stamps[words[0]] = now - t0
                    if words[0] == "done" and len(words) > 1:
                        good = int(words[1])
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                raise Failed("%s: did not exit after %d s" % (os.path.basename(cmd[0]), timeout))
            time.sleep(0.002)
        end = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
    finally:
        sel.close()
        if p.returncode is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
        p.stdout.close()
    with open(errfile, errors="replace") as f:
        errtext = f.read()
    return {"ready": stamps.get("ready"), "done": stamps.get("done"), "end": end,
            "good": good, "rc": p.returncode, "rss_kib": ru.ru_maxrss, "stderr": errtext}


def spawn_time(argv, env):
    """Wall time (s) of one run of ARGV (posix_spawn: the least overhead)."""
    t = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, env, file_actions=[
        (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0)])
    _, status, ru = os.wait4(pid, 0)
    dt = time.perf_counter() - t
    if os.waitstatus_to_exitcode(status) != 0:
        raise Failed("%s exited %d" % (" ".join(argv), os.waitstatus_to_exitcode(status)))
    return dt, ru.ru_maxrss


# ---------------------------------------------------------------- the bench

class Bench:
    def __init__(self, args):
        self.args = args
        self.n = env_int("BENCH_N", 2000, 10, 100000)
        self.repeat = env_int("BENCH_REPEAT", 5, 1, 20)
        self.wrk_seconds = env_int("BENCH_WRK_SECONDS", 2, 1, 30)
        self.wrk_repeat = env_int("BENCH_WRK_REPEAT", 3, 1, 10)
        self.startup_runs = env_int("BENCH_STARTUP_RUNS", 200, 5, 2000)
        self.rss_n = env_int("BENCH_RSS_N", 5000, 10, 100000)
        self.profile_n = env_int("BENCH_PROFILE_N", 500, 50, 20000)
        self.tmp = tempfile.mkdtemp(prefix="pamsh-bench.")
        self.nginx = None
        self.rows = []
        self.notes = []

    # -- setup
    def setup(self):
        os.chmod(self.tmp, 0o711)  # nginx workers (nobody) traverse it
        self.home = os.path.join(self.tmp, "home")
        os.makedirs(self.home)
        # a snapshot: the tree's binary may be rebuilt while we measure
        self.pamsh = os.path.join(self.tmp, "pamsh")
        shutil.copy2(self.args.pamsh, self.pamsh)
        self.base_env = {"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
                         "HOME": self.home, "LANG": "C", "LC_ALL": "C", "TZ": "UTC",
                         "TMPDIR": self.tmp}
        for tool in ("nginx", "wrk", "curl", "openssl"):
            if not shutil.which(tool, path=self.base_env["PATH"]):
                raise Failed("%s is not installed (vendor/install-bench-deps)" % tool)
        self.nginx_bin = shutil.which("nginx", path=self.base_env["PATH"])
        self.gnu_time = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
        if not self.gnu_time:
            log("/usr/bin/time (GNU time) missing: no peak RSS")
        self.make_certs()
        self.start_nginx()
        self.imds_url = "http://%s:%d" % (HOST, self.ports["imds"])
        self.pam_url = "https://%s:%d/xtam" % (HOST, self.ports["pam"])
        self.pam11_url = "https://%s:%d/xtam" % (HOST, self.ports["pam11"])
        self.pam_env = dict(self.base_env, PAMSH_IMDS_URL=self.imds_url, PAMSH_URL=self.pam_url,
                            PAMSH_RESOURCE=RESOURCE, PAMSH_CACERT=self.ca)
        self.check_answers()

    def make_certs(self):
        d, ossl = self.tmp, "openssl"
        self.ca = os.path.join(d, "ca.pem")
        ext = os.path.join(d, "server.ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                    "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n")
        steps = [
            [ossl, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-out", d + "/ca.key"],
            [ossl, "req", "-x509", "-new", "-key", d + "/ca.key", "-sha256", "-days", "2",
             "-subj", "/CN=pamsh bench throw-away CA", "-out", self.ca,
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
            [ossl, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-out", d + "/server.key"],
            [ossl, "req", "-new", "-key", d + "/server.key", "-subj", "/CN=127.0.0.1",
             "-out", d + "/server.csr"],
            [ossl, "x509", "-req", "-in", d + "/server.csr", "-CA", self.ca, "-CAkey",
             d + "/ca.key", "-set_serial", "0x" + secrets.token_hex(8), "-days", "2",
             "-sha256", "-extfile", ext, "-out", d + "/server.pem"],
        ]
        for cmd in steps:
            r = sh(cmd, env=self.base_env)
            if r.returncode != 0:
                raise Failed("openssl failed: %s\n%s" % (" ".join(cmd), r.stdout))

    def fixed_answers(self):
        now = int(time.time())
        tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
        oid = "6a0d2b1e-5c3f-4e8a-9b7d-0f1e2d3c4b5a"
        header = {"typ": "JWT", "alg": "RS256", "kid": "bench"}
        claims = {"aud": RESOURCE, "iss": "https://sts.windows.net/%s/" % tenant,
                  "iat": now - 60, "nbf": now - 60, "exp": now + 86399,
                  "aio": "bench", "appid": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
                  "appidacr": "2", "idp": "https://sts.windows.net/%s/" % tenant,
                  "oid": oid, "rh": "0.bench.", "sub": oid, "tid": tenant, "uti": "bench",
                  "ver": "1.0", "xms_mirid": "/subscriptions/00000000-0000-0000-0000-000000000000"
                  "/resourcegroups/bench/providers/Microsoft.Compute/virtualMachines/bench"}
        self.jwt = ".".join([b64url(json.dumps(header, separators=(",", ":")).encode()),
                             b64url(json.dumps(claims, separators=(",", ":")).encode()),
                             b64url(secrets.token_bytes(256))])
        imds = {"access_token": self.jwt, "client_id": claims["appid"],
                "expires_in": "86399", "expires_on": str(now + 86399),
                "ext_expires_in": "86399", "not_before": str(now - 60),
                "resource": RESOURCE, "token_type": "Bearer"}
        custom = {"Host": "db-0042.corp.example", "Port": "5432", "User": "dbadmin",
                  "Password": "S3cr3t-db-pass!", "Database": "inventory",
                  "Notes": "rotated monthly by the PAM job"}
        record = {"id": 42, "name": "db-prod-0042", "description": "Production PostgreSQL",
                  "recordType": {"id": 5, "name": "Database"}, "folderId": 3,
                  "custom": json.dumps(custom, separators=(",", ":")),
                  "createdBy": "AAD:pam-admins", "modified": "2025-01-01T00:00:00Z",
                  "checkedOut": False, "locked": False}
        self.imds_body = json.dumps(imds, separators=(",", ":"))
        self.record_body = json.dumps(record, separators=(",", ":"))
        self.jsessionid = secrets.token_hex(16).upper()
        self.xsrf = "%s-%s-%s-%s-%s" % tuple(secrets.token_hex(k) for k in (4, 2, 2, 2, 6))
        self.cookie = "JSESSIONID=%s; XSRF-TOKEN=%s" % (self.jsessionid, self.xsrf)

    @staticmethod
    def nginx_quote(s):
        if "$" in s:
            raise Failed("a fixed answer may not contain '$' (an nginx variable)")
        return s.replace("\\", "\\\\").replace("'", "\\'")

    def nginx_info(self):
        r = sh([self.nginx_bin, "-V"], env=self.base_env)
        m = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", r.stdout)
        self.nginx_version = ".".join(m.groups()) if m else "?"
        ver = tuple(int(x) for x in m.groups()) if m else (0, 0, 0)
        self.h2 = "--with-http_v2_module" in r.stdout
        # 1.25.1 moved HTTP/2 from the listen parameter to a directive
        if self.h2 and ver >= (1, 25, 1):
            return "", "http2 on;"
        if self.h2:
            return " http2", ""
        return "", ""

    def start_nginx(self):
        self.fixed_answers()
        h2_listen, h2_directive = self.nginx_info()
        prefix = os.path.join(self.tmp, "nginx")
        os.makedirs(os.path.join(prefix, "tmp"))
        for name in ("server.pem", "server.key"):
            shutil.copy(os.path.join(self.tmp, name), prefix)
        user = "user nobody nogroup;" if os.geteuid() == 0 else ""
        for attempt in range(5):
            ports = self.free_ports(3)
            self.ports = {"imds": ports[0], "pam": ports[1], "pam11": ports[2]}
            values = {"PREFIX": prefix, "WORKERS": str(min(2, os.cpu_count() or 1)),
                      "USER": user, "IMDS_PORT": str(ports[0]), "PAM_PORT": str(ports[1]),
                      "PAM11_PORT": str(ports[2]), "H2_LISTEN": h2_listen,
                      "H2_DIRECTIVE": h2_directive,
                      "IMDS_BODY": self.nginx_quote(self.imds_body),
                      "RECORD_BODY": self.nginx_quote(self.record_body),
                      "JSESSIONID": self.jsessionid, "XSRF": self.xsrf}
            for name in ("nginx.conf", "pam-locations.conf"):
                with open(os.path.join(HERE, name + ".in")) as f:
                    text = f.read()
                text = re.sub(r"@([A-Z0-9_]+)@", lambda m: values[m.group(1)], text)
                with open(os.path.join(prefix, name), "w") as f:
                    f.write(text)
            conf = os.path.join(prefix, "nginx.conf")
            errlog = os.path.join(prefix, "error.log")
            argv = [self.nginx_bin, "-p", prefix + "/", "-c", conf, "-e", errlog]
            r = sh(argv + ["-t", "-q"], env=self.base_env)
            if r.returncode != 0:
                raise Failed("nginx -t failed:\n" + r.stdout)
            self.nginx = subprocess.Popen(argv, env=self.base_env, stdin=subprocess.DEVNULL,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                          start_new_session=True, preexec_fn=_pdeathsig)
            if self.wait_ports(list(self.ports.values()), 10):
                log("nginx %s on %s: IMDS :%d, TLS :%d (%s), TLS :%d (HTTP/1.1)" % (
                    self.nginx_version, HOST, ports[0], ports[1],
                    "HTTP/2 + HTTP/1.1" if self.h2 else "HTTP/1.1", ports[2]))
                return
            self.stop_nginx()
            tail = open(errlog, errors="replace").read()[-2000:] if os.path.exists(errlog) else ""
            if "Address already in use" not in tail:
                raise Failed("nginx did not start:\n" + tail)
        raise Failed("nginx did not start: no free ports")

    @staticmethod
    def free_ports(k):
        socks = []
        try:
            for _ in range(k):
                s = socket.socket()
                s.bind((HOST, 0))
                socks.append(s)
            return [s.getsockname()[1] for s in socks]
        finally:
            for s in socks:
                s.close()

    def wait_ports(self, ports, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if self.nginx.poll() is not None:
                return False
            up = 0
            for port in ports:
                try:
                    socket.create_connection((HOST, port), timeout=0.5).close()
                    up += 1
                except OSError:
                    pass
            if up == len(ports):
                return True
            time.sleep(0.05)
        return False

    def stop_nginx(self):
        p, self.nginx = self.nginx, None
        if p is None:
            return
        if p.poll() is None:
            p.terminate()  # fast shutdown; the workers go with the master
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(p.pid, signal.SIGKILL)  # its own group: only nginx
        except ProcessLookupError:
            pass
        p.wait()

    def check_answers(self):
        """One request of each kind with curl; the protocols in use."""
        jar = os.path.join(self.tmp, "check.jar")
        curl = ["curl", "-s", "--max-time", "10", "--cacert", self.ca]
        r = sh(curl + ["-H", "Metadata:true", "-o", "/dev/null", "-w", "%{http_code}",
                       self.imds_url + "/metadata/identity/oauth2/token?resource=" + RESOURCE],
               env=self.base_env)
        if r.stdout != "200":
            raise Failed("IMDS answered %r" % r.stdout)
        r = sh(curl + ["-c", jar, "-d", "azure=" + self.jwt, "-o", "/dev/null", "-w",
                       "%{http_code}", self.pam_url + "/landing"], env=self.base_env)
        if r.stdout != "302":
            raise Failed("the landing answered %r" % r.stdout)
        r = sh(curl + ["-b", jar, "-w", "\n%{http_code} %{http_version}",
                       self.pam_url + UNLOCK + "1"], env=self.base_env)
        body, _, tail = r.stdout.rpartition("\n")
        if not tail.startswith("200 "):
            raise Failed("unlock answered %r" % r.stdout[-300:])
        json.loads(body)
        self.record_bytes = len(body)
        self.curl_proto = "HTTP/" + tail.split()[1]
        r = sh([self.pamsh, "-v", "-e", 'pam_request("GET", "%s1")' % UNLOCK],
               env=self.pam_env, timeout=30)
        if r.returncode != 0:
            raise Failed("pamsh cannot talk to nginx:\n" + r.stdout[-3000:])
        m = re.search(r"> GET /xtam%s1 (HTTP/[0-9.]+)" % UNLOCK, r.stdout)
        self.pamsh_proto = m.group(1) if m else "?"

    # -- measurements
    def row(self, key, way, wire, requests, seconds, whole=None, rss_kib=None, ok=True,
            note=None):
        self.rows.append({"key": key, "way": way, "wire": wire, "requests": requests,
                          "seconds": seconds, "rps": requests / seconds if seconds else 0,
                          "whole": whole, "rss_kib": rss_kib, "ok": ok, "note": note})
        log("%-4s %-36s %-18s %8.0f req/s%s%s" % (
            key, way, wire, requests / seconds if seconds else 0,
            "" if ok else "  FAILED", "  (%s)" % note if note else ""))

    def run_one(self, tag, argv, env, timeout, n, pamsh=False):
        """One timed run: under GNU time (peak RSS of the process itself:
        wait4 from this runner would count the runner's own pages, which a
        forked child inherits) and, for pamsh, with --metrics so that the
        answers are counted at the wire.  Returns (run, problems, warning)."""
        cmd = list(argv)
        prom = os.path.join(self.tmp, tag + ".prom")
        rssf = os.path.join(self.tmp, tag + ".rss")
        if pamsh:
            cmd = [cmd[0], "--metrics", prom] + cmd[1:]
        if self.gnu_time:
            cmd = [self.gnu_time, "-f", "%M", "-o", rssf] + cmd
        r = run_marked(cmd, env, timeout, os.path.join(self.tmp, tag + ".err"))
        r["rss_kib"] = None
        try:
            with open(rssf) as f:
                r["rss_kib"] = int(f.read().split()[-1])
        except (OSError, ValueError, IndexError):
            pass
        problems, warning = [], None
        if r["rc"] != 0:
            problems.append("exit %s" % r["rc"])
        if r["ready"] is None or r["done"] is None:
            problems.append("no ready/done line")
        if pamsh:
            got = 0
            try:
                with open(prom) as f:
                    m = re.search(r'^pamsh_requests_total\{method="GET",status="200"\} (\d+)',
                                  f.read(), re.M)
                got = int(m.group(1)) if m else 0
            except OSError:
                pass
            if got != n + 1:  # + the warm-up request
                problems.append("%d of %d GETs answered 200 (--metrics)" % (got - 1, n))
            elif r["good"] != n:
                warning = "answers OK at the wire, but only %s of %d results are the record" % (
                    r["good"], n)
        elif r["good"] != n:
            problems.append("%s of %d answers good" % (r["good"], n))
        if problems:
            tail = r["stderr"].strip().splitlines()[-3:]
            if tail:
                problems.append(" | ".join(tail))
        return r, problems, warning

    def marked(self, key, way, wire, argv, env, timeout, pamsh=False, repeat=None):
        """Run ARGV REPEAT times and keep the median run by time."""
        runs, warning = [], None
        for i in range(repeat or self.repeat):
            r, problems, warn = self.run_one("%s.%d" % (key, i), argv, env, timeout, self.n,
                                             pamsh)
            if problems:
                self.row(key, way, wire, self.n, r["end"], ok=False, note="; ".join(problems))
                return None
            warning = warning or warn
            r["seconds"] = r["done"] - r["ready"]
            runs.append(r)
        runs.sort(key=lambda r: r["seconds"])
        med = runs[len(runs) // 2]
        rss = [r["rss_kib"] for r in runs if r["rss_kib"]]
        self.row(key, way, wire, self.n, med["seconds"], whole=med["end"],
                 rss_kib=max(rss) if rss and key != "a" else None, note=warning)
        return med

    def bench_curl_loop(self):
        jar = os.path.join(self.tmp, "cookies.txt")
        self.marked("a", "curl loop (a process a request)", self.curl_proto + ", new TLS each",
                    ["/bin/sh", os.path.join(HERE, "curl-loop.sh"), str(self.n), self.imds_url,
                     self.pam_url, RESOURCE, self.ca, jar],
                    self.base_env, timeout=max(120, self.n // 10), repeat=1)

    def bench_pamsh(self):
        seq = os.path.join(HERE, "seq.lua")
        mp = os.path.join(HERE, "map.lua")
        t = max(60, self.n // 50)
        self.marked("b", "pamsh, pam_request loop", self.pamsh_proto + ", 1 conn",
                    [self.pamsh, seq, str(self.n)], self.pam_env, t, pamsh=True)
        if self.h2:
            env11 = dict(self.pam_env, PAMSH_URL=self.pam11_url)
            self.marked("b1", "pamsh, pam_request loop", "HTTP/1.1, 1 conn",
                        [self.pamsh, seq, str(self.n)], env11, t, pamsh=True)
        self.marked("c", "pamsh, pam.map concurrency 16", self.pamsh_proto,
                    [self.pamsh, mp, str(self.n), "16"], self.pam_env, t, pamsh=True)
        if self.h2:
            self.marked("c1", "pamsh, pam.map concurrency 16", "HTTP/1.1",
                        [self.pamsh, mp, str(self.n), "16"], env11, t, pamsh=True)

    def bench_wrk(self):
        """wrk, fixed time, BENCH_WRK_REPEAT runs each (median kept)."""
        url = self.pam_url + UNLOCK + "42"
        for key, threads, conns in (("d1", 1, 1), ("d16", 2, 16)):
            cmd = ["wrk", "-t%d" % threads, "-c%d" % conns, "-d%ds" % self.wrk_seconds,
                   "--timeout", "5s", "-H", "Cookie: " + self.cookie,
                   "-H", "Accept: application/json", url]
            way = "wrk -t%d -c%d" % (threads, conns)
            runs, failed = [], None
            for _ in range(self.wrk_repeat):
                r = sh(cmd, env=self.base_env, timeout=self.wrk_seconds + 30)
                m = re.search(r"(\d+) requests in ([\d.]+)(m?s)", r.stdout)
                bad = re.search(r"Non-2xx or 3xx responses: (\d+)", r.stdout)
                errs = re.search(r"Socket errors: (.*)", r.stdout)
                if r.returncode != 0 or not m or bad or errs:
                    failed = r.stdout.strip().replace("\n", " ")[-300:]
                    break
                secs = float(m.group(2)) / (1000 if m.group(3) == "ms" else 1)
                runs.append((int(m.group(1)) / secs, int(m.group(1)), secs))
            if failed:
                self.row(key, way, "HTTP/1.1", 0, 1, ok=False, note=failed)
                continue
            runs.sort()
            _, reqs, secs = runs[len(runs) // 2]
            self.row(key, way, "HTTP/1.1, %d conn" % conns, reqs, secs)

    def bench_python(self):
        self.marked("e", "Python http.client keep-alive", "HTTP/1.1, 1 conn",
                    [sys.executable, os.path.join(HERE, "keepalive.py"), str(self.n), HOST,
                     str(self.ports["pam"]), self.ca, self.cookie, "/xtam" + UNLOCK],
                    self.base_env, max(60, self.n // 50))

    def bench_rss(self):
        """Peak RSS of a BENCH_RSS_N-request script, both ways."""
        self.rss = {}
        if not self.gnu_time:
            return
        for key, script in (("b", "seq.lua"), ("c", "map.lua")):
            r, problems, _ = self.run_one("rss-" + key,
                                          [self.pamsh, os.path.join(HERE, script),
                                           str(self.rss_n)],
                                          self.pam_env, max(60, self.rss_n // 50), self.rss_n,
                                          pamsh=True)
            self.rss[key] = None if problems else r["rss_kib"]
            log("peak RSS, %d requests, %s: %s" % (
                self.rss_n, script, "%s KiB" % r["rss_kib"] if not problems
                else "FAILED: " + "; ".join(problems)))

    def link_floor(self):
        """An empty main() linked with pamsh's libraries: what the dynamic
        loader alone costs at start-up."""
        if not (self.args.cc and self.args.link_libs):
            return None
        exe = os.path.join(self.tmp, "empty-main-pamsh-libs")
        src = os.path.join(self.tmp, "empty.c")
        with open(src, "w") as f:
            f.write("int main(void) { return 0; }\n")
        cmd = [self.args.cc, "-O2", "-o", exe, src, "-Wl,--no-as-needed"] + [
            a for a in self.args.link_libs.split() if not a.endswith(".a")]
        r = sh(cmd, env=dict(self.base_env, PATH=os.environ.get("PATH", self.base_env["PATH"])))
        if r.returncode != 0:
            log("cannot link the empty program: " + r.stdout[-500:])
            return None
        return exe

    def bench_startup(self):
        env = dict(self.base_env)
        lua = shutil.which("lua5.4", path=env["PATH"])
        cands = [("pamsh -e ''", [self.pamsh, "-e", ""])]
        if lua:
            cands.append(("lua5.4 -e ''", [lua, "-e", ""]))
        floor = self.link_floor()
        if floor:
            cands.append(("empty main() linked with pamsh's libraries", [floor]))
        cands.append(("/bin/true", ["/bin/true"]))
        times = {name: [] for name, _ in cands}
        for _, argv in cands:  # warm the page cache
            spawn_time(argv, env)
        for _ in range(self.startup_runs):  # interleaved: noise hits all alike
            for name, argv in cands:
                times[name].append(spawn_time(argv, env)[0])
        self.startup = []
        for name, argv in cands:
            t = sorted(times[name])
            kib = None
            if self.gnu_time:
                rssf = os.path.join(self.tmp, "startup.rss")
                if sh([self.gnu_time, "-f", "%M", "-o", rssf] + argv, env=env).returncode == 0:
                    with open(rssf) as f:
                        kib = int(f.read().split()[-1])
            self.startup.append({"name": name, "median": statistics.median(t),
                                 "p10": t[len(t) // 10], "p90": t[len(t) * 9 // 10],
                                 "rss_kib": kib})
            log("start-up %-44s median %.2f ms" % (name, statistics.median(t) * 1000))

    # -- report
    def machine(self):
        cpu = "?"
        try:
            with open("/proc/cpuinfo") as f:
                for line in f:
                    if line.startswith("model name"):
                        cpu = line.split(":", 1)[1].strip()
                        break
        except OSError:
            pass
        osname = "?"
        try:
            with open("/etc/os-release") as f:
                for line in f:
                    if line.startswith("PRETTY_NAME="):
                        osname = line.split("=", 1)[1].strip().strip('"')
        except OSError:
            pass
        v = sh([self.pamsh, "version"], env=self.base_env).stdout.splitlines()
        pv = v[0] if v else "pamsh ?"
        curl_lib = next((x for x in v if x.startswith("libcurl")), "libcurl ?")
        git = sh(["git", "-C", TOP, "describe", "--always", "--dirty"], env=self.base_env)
        rev = git.stdout.strip() if git.returncode == 0 else ""
        wrk = sh(["wrk", "-v"], env=self.base_env).stdout.split()
        curl = sh(["curl", "--version"], env=self.base_env).stdout.split()
        return {
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "nproc": len(os.sched_getaffinity(0)), "cpu": cpu, "kernel": platform.release(),
            "os": osname, "pamsh": pv + (" (%s)" % rev if rev else ""), "libcurl": curl_lib,
            "nginx": self.nginx_version, "wrk": wrk[1] if len(wrk) > 1 else "?",
            "curl": curl[1] if len(curl) > 1 else "?", "python": platform.python_version(),
        }

    def report(self, load0, started):
        m = self.machine()
        by = {r["key"]: r for r in self.rows if r["ok"]}

        def ratio(r, base):
            b = by.get(base)
            return "%.2f×" % (r["rps"] / b["rps"]) if b and r["ok"] and b["rps"] else "–"

        def fmt_ratio(x):
            return "%.0f×" % x if x >= 100 else "%.1f×" % x if x >= 10 else "%.2f×" % x

        out = []
        w = out.append
        w("## pamsh benchmark")
        w("")
        w("%s · %d CPU (%s) · Linux %s · %s" % (m["date"], m["nproc"], m["cpu"], m["kernel"],
                                               m["os"]))
        w("")
        w("%s · %s · nginx %s (TLS 1.3, ECDSA P-256%s) · curl %s · wrk %s · Python %s" % (
            m["pamsh"], m["libcurl"], m["nginx"], ", HTTP/2" if self.h2 else "", m["curl"],
            m["wrk"], m["python"]))
        w("")
        w("%d × `GET /xtam/rest/record/unlock/<id>` (a %d-byte JSON record) on 127.0.0.1; "
          "load average %.2f at the start. (b), (c), (e): median of %d runs, timed from after "
          "the login and the first request; \"whole run\" is the process from exec to exit "
          "(for (a): token, landing and the loop); (d): median of %d runs of %d s; peak RSS "
          "from GNU time." % (self.n, self.record_bytes, load0, self.repeat, self.wrk_repeat,
                              self.wrk_seconds))
        w("")
        w("| | way | wire | requests | time (s) | req/s | × (a) | × wrk -c1 | × wrk -c16 "
          "| whole run (s) | peak RSS |")
        w("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        order = ["a", "b", "b1", "c", "c1", "d1", "d16", "e"]
        label = {"b1": "b′", "c1": "c′", "d1": "d", "d16": "d"}
        notes = []
        for r in sorted(self.rows, key=lambda r: order.index(r["key"])):
            r = dict(r, key=label.get(r["key"], r["key"]))
            mark = ""
            if r["note"]:
                notes.append(r["note"])
                mark = " [%d]" % len(notes)
            if not r["ok"]:
                w("| %s | %s%s | %s | %d | – | **failed** | | | | | |" % (
                    r["key"], r["way"], mark, r["wire"], r["requests"]))
                continue
            ra = by.get("a")
            w("| %s | %s%s | %s | %d | %.3f | %s | %s | %s | %s | %s | %s |" % (
                r["key"], r["way"], mark, r["wire"], r["requests"], r["seconds"],
                "{:,.0f}".format(r["rps"]),
                fmt_ratio(r["rps"] / ra["rps"]) if ra else "–",
                ratio(r, "d1"), ratio(r, "d16"),
                "%.3f" % r["whole"] if r["whole"] else "",
                "%.1f MiB" % (r["rss_kib"] / 1024) if r["rss_kib"] else ""))
        w("")
        for i, note in enumerate(notes, 1):
            w("[%d] %s  " % (i, note.replace("|", "\\|")))
        if notes:
            w("")
        w("Start-up, %d runs each (interleaved):" % self.startup_runs)
        w("")
        w("| command | median | p10 | p90 | peak RSS |")
        w("|---|---:|---:|---:|---:|")
        for s in self.startup:
            name = s["name"] if s["name"].startswith(("pamsh", "lua", "/")) else None
            w("| %s | %.2f ms | %.2f ms | %.2f ms | %s |" % (
                "`%s`" % name if name else s["name"], s["median"] * 1e3, s["p10"] * 1e3,
                s["p90"] * 1e3, "%.1f MiB" % (s["rss_kib"] / 1024) if s["rss_kib"] else ""))
        w("")
        # issue 7's targets
        t = []

        def target(what, val, shown, good):
            t.append("| %s | %s | %s |" % (what, shown if val is not None else "–",
                                           "–" if val is None else "✓" if good else "✗"))

        def rr(a, b):
            return by[a]["rps"] / by[b]["rps"] if a in by and b in by and by[b]["rps"] else None

        x = rr("b", "a")
        target("sequential ≥ 30× the curl loop", x, "%.1f×" % (x or 0), x and x >= 30)
        x = rr("b", "d1")
        target("sequential ≥ 0.7× wrk -c1", x, "%.2f×" % (x or 0), x and x >= 0.7)
        x = rr("b", "e")
        target("sequential faster than the Python loop", x, "%.2f×" % (x or 0), x and x > 1)
        x = rr("c", "d16")
        target("pam.map ≥ 0.25× wrk -t2 -c16", x, "%.2f×" % (x or 0), x and x >= 0.25)
        x = rr("c", "b")
        target("pam.map ≥ 3× sequential", x, "%.2f×" % (x or 0), x and x >= 3)
        st = self.startup[0]["median"] * 1e3
        target("start-up ≤ 5 ms", st, "%.2f ms" % st, st <= 5)
        for key, what in (("b", "sequential"), ("c", "pam.map")):
            kib = self.rss.get(key)
            target("peak RSS ≤ 16 MB, %d requests, %s" % (self.rss_n, what), kib,
                   "%.1f MiB" % ((kib or 0) / 1024), kib is not None and kib * 1024 <= 16e6)
        w("Targets (issue 7):")
        w("")
        w("| target | measured | |")
        w("|---|---:|---|")
        out.extend(t)
        w("")
        w("Generated by `make bench` (tests/bench/bench.py) in %.0f s." % (
            time.monotonic() - started))
        text = "\n".join(out) + "\n"
        print(text, flush=True)
        if self.args.out:
            os.makedirs(os.path.dirname(os.path.abspath(self.args.out)), exist_ok=True)
            with open(self.args.out + ".tmp", "w") as f:
                f.write(text)
            os.replace(self.args.out + ".tmp", self.args.out)
            log("written to " + self.args.out)
        return all(r["ok"] for r in self.rows)

    # -- profile
    def callgrind(self, env, n, tag):
        cg = os.path.join(self.tmp, "callgrind.%s.%d" % (tag, n))
        r = sh(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + cg, self.pamsh,
                os.path.join(HERE, "seq.lua"), str(n)], env=env, timeout=600)
        if r.returncode != 0 or "done %d" % n not in r.stdout:
            raise Failed("callgrind run failed:\n" + r.stdout[-3000:])
        return {incl: self.parse_annotate(sh(
            ["callgrind_annotate", "--inclusive=" + incl, "--threshold=100", "--auto=no", cg],
            env=self.base_env, timeout=300).stdout) for incl in ("no", "yes")}

    def profile(self):
        """Where a sequential request's time goes: callgrind's instruction
        counts per function for a run of N1 and one of N2 requests; the
        difference divided by N2-N1 is the cost of one request, start-up
        and login cancelled out.  Then perf stat beside."""
        if not shutil.which("valgrind", path=self.base_env["PATH"]):
            raise Failed("valgrind is not installed (vendor/install-bench-deps --profile)")
        out = []
        w = out.append
        n1, n2 = 50, 50 + self.profile_n
        vm = re.compile(r"^(lua[A-Z_]|luaD_|luaV_|luaH_|f_call|runtime_|run_file|main$|"
                        r"\(below main\)|__libc_start|0x[0-9a-f]+$)")
        wires = [(self.pamsh_proto, self.pam_env)]
        if self.h2:
            wires.append(("HTTP/1.1", dict(self.pam_env, PAMSH_URL=self.pam11_url)))
        w("## Where one sequential pam_request goes")
        w("")
        w("callgrind instruction counts (Ir): (run of %d requests − run of %d) / %d, so "
          "start-up, token and login cancel out. Unnamed entries are functions of "
          "stripped libraries (libcurl's are named by address)." % (n2, n1, n2 - n1))
        w("")
        for wire, env in wires:
            log("callgrind, %s: %d and %d requests" % (wire, n1, n2))
            a, b = self.callgrind(env, n1, wire[5:]), self.callgrind(env, n2, wire[5:])
            per = {}
            for incl in ("no", "yes"):
                keys = set(a[incl]) | set(b[incl])
                per[incl] = {k: (b[incl].get(k, 0) - a[incl].get(k, 0)) / (n2 - n1)
                             for k in keys}
            # the inclusive table names some functions twice, once without
            # their object: keep the one with it
            named = {fn for (fn, obj) in per["yes"] if obj}
            per["yes"] = {k: v for k, v in per["yes"].items() if k[1] or k[0] not in named}
            total = per["no"].pop(("PROGRAM TOTALS", ""), 0)
            per["yes"].pop(("PROGRAM TOTALS", ""), None)
            w("### %s: %.0f Ir per request" % (wire, total))
            w("")
            byobj = {}
            for (fn, obj), v in per["no"].items():
                byobj[obj] = byobj.get(obj, 0) + v
            w("By object (self): " + ", ".join(
                "%s %.0f%%" % (o or "?", 100 * v / total)
                for o, v in sorted(byobj.items(), key=lambda kv: -kv[1])[:6] if v > 0))
            w("")
            for incl, title, k in (("yes", "inclusive (Lua VM frames left out)", 25),
                                   ("no", "self", 20)):
                w("| Ir / request | share | function, %s |" % title)
                w("|---:|---:|---|")
                items = sorted(((v, fn, obj) for (fn, obj), v in per[incl].items()
                                if not (incl == "yes" and vm.match(fn))), reverse=True)
                for v, fn, obj in items[:k]:
                    w("| %.0f | %.1f%% | `%s` (%s) |" % (v, 100 * v / total if total else 0,
                                                        fn, obj))
                w("")
        if shutil.which("perf", path=self.base_env["PATH"]):
            w("### perf stat, pamsh seq.lua: 0 and %d requests" % self.n)
            w("")
            w("```")
            for n in (0, self.n):
                r = sh(["perf", "stat", "-x,", "-e", "task-clock,context-switches,page-faults",
                        self.pamsh, os.path.join(HERE, "seq.lua"), str(n)],
                       env=self.pam_env, timeout=120)
                for line in r.stdout.splitlines():
                    f = line.split(",")
                    if len(f) > 3 and re.match(r"^[\d.]+$", f[0]):
                        w("%5d requests: %-17s %10.1f %s" % (n, f[2], float(f[0]), f[1]))
            w("```")
            w("")
        text = "\n".join(out) + "\n"
        print(text)
        if self.args.out:
            os.makedirs(os.path.dirname(os.path.abspath(self.args.out)), exist_ok=True)
            with open(self.args.out, "w") as f:
                f.write(text)
            log("written to " + self.args.out)
        return True

    @staticmethod
    def parse_annotate(text):
        """callgrind_annotate's function table -> {(function, object): Ir}"""
        res, on = {}, False
        for line in text.splitlines():
            if "file:function" in line:
                on = True
                continue
            m = re.match(r"^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.+?)\s*$", line)
            if not m:
                continue
            name, obj = m.group(2), ""
            if name == "PROGRAM TOTALS":
                res[(name, "")] = int(m.group(1).replace(",", ""))
                continue
            if not on:
                continue
            mo = re.search(r"\s+\[(.*)\]$", name)
            if mo:
                obj = os.path.basename(mo.group(1))
                name = name[:mo.start()]
            name = name.rsplit(":", 1)[-1]
            if obj.startswith("pamsh"):
                obj = "pamsh"
            res[(name, obj)] = res.get((name, obj), 0) + int(m.group(1).replace(",", ""))
        return res

    def serve(self, seconds):
        for k in ("PAMSH_IMDS_URL", "PAMSH_URL", "PAMSH_RESOURCE", "PAMSH_CACERT"):
            print("export %s=%s" % (k, self.pam_env[k]))
        print("# HTTP/1.1 only: PAMSH_URL=%s" % self.pam11_url)
        print("# cookie for wrk/curl: %s" % self.cookie, flush=True)
        log("serving for %d s (Ctrl-C stops)" % seconds)
        end = time.monotonic() + seconds
        while time.monotonic() < end and self.nginx.poll() is None:
            time.sleep(0.5)

    def cleanup(self):
        self.stop_nginx()
        if os.environ.get("KEEP_TMP") == "1":
            log("kept " + self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pamsh", required=True)
    ap.add_argument("--out")
    ap.add_argument("--cc", help="the C compiler, for the link-cost baseline")
    ap.add_argument("--link-libs", help="pamsh's link libraries, for the link-cost baseline")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--serve", type=int, metavar="SECONDS",
                    help="only start nginx, print the settings, serve for SECONDS (<= 3600)")
    args = ap.parse_args()

    def on_signal(sig, frame):
        raise SystemExit(128 + sig)
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)

    started = time.monotonic()
    load0 = os.getloadavg()[0]
    b = Bench(args)
    try:
        b.setup()
        if args.profile:
            return 0 if b.profile() else 1
        if args.serve:
            b.serve(min(args.serve, 3600))
            return 0
        b.bench_startup()
        b.bench_curl_loop()
        b.bench_pamsh()
        b.bench_python()
        b.bench_wrk()
        b.bench_rss()
        return 0 if b.report(load0, started) else 1
    except Failed as e:
        log("FAILED: %s" % e)
        return 1
    finally:
        b.cleanup()


if __name__ == "__main__":
    sys.exit(main())
