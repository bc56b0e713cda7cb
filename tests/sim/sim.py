#!/usr/bin/env python3
"""pamsh test simulator: a fake Azure IMDS, fakes of the other Azure
managed-identity sources, a fake Entra ID token endpoint for workload
identity, a fake XTAM / Imprivata PAM server and a control server, all on
loopback, Python standard library only (plus the openssl CLI).

    sim.py --dir DIR [--resource ID] [--token-lifetime SEC] [--session-ttl SEC]
           [--imds-bind HOST:PORT] [--pam-bind HOST:PORT] [--pam-http]
           [--data FILE] [--arc-key-dir DIR] [--no-watch-parent]

On start it generates (openssl, reused when present) DIR/ca.pem + ca.key, a
server certificate for localhost / 127.0.0.1 signed by it (server.pem,
server.key), an unrelated CA (wrong-ca.pem) and the Service Fabric
endpoint's own self-signed certificate (sf.pem, sf.key: CN=servicefabric-sim,
IP:127.0.0.1, NOT from the test CA); writes a federated token to
DIR/federated-token; binds every server on its own ephemeral loopback port;
and writes DIR/state atomically, shell-sourceable (values shell-quoted):

    SIM_IMDS_URL  SIM_PAM_URL  SIM_CONTROL_URL  SIM_CA  SIM_WRONG_CA
    SIM_RESOURCE  SIM_PID  SIM_DIR
    SIM_APPSERVICE_URL  SIM_APPSERVICE_HEADER      (IDENTITY_ENDPOINT/_HEADER)
    SIM_APPSERVICE2017_URL  SIM_MSI_SECRET         (MSI_ENDPOINT/MSI_SECRET)
    SIM_ARC_URL  SIM_ARC_KEY_DIR
    SIM_CLOUDSHELL_URL
    SIM_SF_URL  SIM_SF_THUMBPRINT  SIM_SF_SECRET
    SIM_AUTHORITY_URL  SIM_TENANT  SIM_FEDERATED_TOKEN_FILE
    SIM_CAS_USER  SIM_CAS_PASSWORD  SIM_CAS_API_TOKEN   (first CAS principals
                                                       of the data file)

Token source URLs are full endpoint URLs without a query; SIM_AUTHORITY_URL
is scheme://host:port only.  SIM_SF_THUMBPRINT is the SHA-1 of sf.pem's DER,
upper-case hex.  The secrets are random at each start; `simctl rotate`
replaces them.

It runs until SIGTERM/SIGINT/SIGHUP, or until its parent process goes away
(unless --no-watch-parent), then removes DIR/state and exits 0.  Diagnostics
go to DIR/sim.log, never to stderr.

Request-log / fault TARGET, then what it serves:

imds    GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=R
        [&client_id=|&object_id=|&msi_res_id=], header `Metadata: true`.
        Errors {"error","error_description"}.
appservice  GET /msi/token?api-version=2019-08-01&resource=R
        [&client_id=|&principal_id=|&mi_res_id=], header X-IDENTITY-HEADER =
        the current secret (else 401).  200 {access_token, expires_on (epoch
        STRING), resource, token_type, client_id}.  Errors
        {"statusCode":N,"message":"...","correlationId":"..."}.
appservice2017  GET /MSI/token/?api-version=2017-09-01&resource=R[&clientid=],
        header `secret` (else 401).  200 {access_token, expires_on ("M/d/yyyy
        h:mm:ss AM +00:00", UTC), resource, token_type}; errors as appservice.
arc     GET /metadata/identity/oauth2/token?api-version=2020-06-01&resource=R,
        `Metadata: true`.  Without Authorization: 401 + `WWW-Authenticate:
        Basic realm=<abs path>` of a new key file (64 hex chars, 0600,
        <uuid>.key) in --arc-key-dir (default DIR/arc-tokens, 0700); every
        issued key stays valid until `simctl rotate arc`.  With
        `Authorization: Basic <key>`: 200 IMDS-like body (all strings).  Wrong
        key: 401 without WWW-Authenticate.  Any identity selector: 400.
        Errors {"error","error_description"}.
cloudshell  POST /oauth2/token, `Metadata: true`, form resource=R: 200
        {access_token, refresh_token "", expires_in, expires_on, not_before
        (strings), resource, token_type}.  Other methods 405; a selector 400.
servicefabric  HTTPS (sf.pem) GET /metadata/identity/oauth2/token?api-version=
        2019-07-01-preview&resource=R, header `Secret` (else 401).  200
        {token_type, access_token, expires_on (NUMBER), resource}.  Errors
        {"error":{"correlationId","code","message"}}; a selector 400.
authority  HTTPS (server.pem, test CA) POST /<tenant>/oauth2/v2.0/token, form
        grant_type=client_credentials, client_id (any identity's client id in
        the data file), scope=<resource>/.default, client_assertion_type=
        urn:ietf:params:oauth:client-assertion-type:jwt-bearer,
        client_assertion=<a JWT signed with the simulator key, aud
        api://AzureADTokenExchange, unexpired, not rotated out>.  200
        {token_type, expires_in, ext_expires_in (NUMBERS: min(token_lifetime,
        3599)), access_token}.  Errors are Entra ID's: {"error",
        "error_description":"AADSTSnnn: ...", "error_codes":[n], "timestamp",
        "trace_id", "correlation_id", "error_uri"}: wrong tenant 400 90002;
        not POST 400 900561; missing field 400 900144; grant_type 400
        unsupported_grant_type 70003; scope 400 invalid_scope 1002012; no
        assertion 401 invalid_client 7000218; assertion type 400 50027;
        unknown client_id 400 unauthorized_client 700016; bad, expired,
        wrong-aud or rotated-out assertion 401 invalid_client 700211.
pam     /xtam/landing (POST form azure=<JWT>), /xtam/, /xtam/rest/folder/list/ID,
        /xtam/rest/record/unlock/ID, /xtam/rest/record/new/FOLDER/TYPE,
        /xtam/rest/folder/create/PARENT, PUT /xtam/rest/folder/update/ID,
        DELETE /xtam/rest/record/delete/ID; sessions expire after --session-ttl
        seconds of inactivity or on the control action "expire" (which also
        drops every CAS ticket).
        CAS REST ticket flow (Federated Sign-In module), same server, same
        target; every /cas/ path answers 404 {"error":"HTTP 404 Not Found"}
        while the setting cas is false:
        POST /cas/v1/tickets, form username=&password= or token=<API token>
          (principals: "cas" in the data file) -> 201, `Location:
          <scheme>://<pam host:port>/cas/v1/tickets/TGT-<n>-<40 alnum>-cas01`
          (absolute; http with --pam-http), CAS's small text/html form body.
          Bad or unknown credentials 401 {"error":"authentication failed"};
          a missing or empty field, or both a user and a token, 400
          {"error":"HTTP 400 Bad Request","message":...}; a Content-Type other
          than application/x-www-form-urlencoded 415; not POST 405.
        POST /cas/v1/tickets/<TGT>, form service=<URL> -> 200 text/plain body
          ST-<n>-<30 alnum>-cas01 (bound to that service, single use, valid
          cas_st_ttl s).  Unknown/expired TGT (cas_tgt_ttl s after issue) 404;
          no service 400; not a form 415.  DELETE /cas/v1/tickets/<TGT> -> 200
          (TGT and its unused STs gone).  Other methods 405.
        GET /cas/login -> 200 text/html login page (no cookies).
        GET /xtam/?ticket=<ST> or /xtam?ticket=<ST>: the ticket is used up
          whatever happens; valid when unexpired, its TGT still live, and
          issued for service <scheme>://<pam host or localhost>:<port>/xtam/
          (a missing trailing slash is fine) -> 302 `Location: /xtam/` with
          the landing's cookies, the session acting as the principal's
          identity.  Otherwise 302 `Location: <scheme>://<host:port>/cas/login?
          service=<that URL, encoded>` with no cookie.  With cas false the
          ticket is ignored (GET /xtam/ 200 page, /xtam 302 to /xtam/).

Every source mints the same tokens as IMDS (same key, same claims; aud = the
requested resource, or the scope without "/.default"; the identity its
selector names, else the system identity), so /xtam/landing accepts them.
Arc, Cloud Shell and Service Fabric always use the system identity.

control POST /control {"action": "fault"|"clear"|"expire"|"reset-log"|"set"|
        "mint"|"rotate", ...}; GET /log, /health, /state, /data, /inflight.
        See tests/sim/simctl.  Faults work on every target alike.

GET /inflight: per target since the last reset-log, {now, max} requests in
flight (from the parsed request line until the response headers are sent, or
the request is given up; a slow fault's delay counts), conns (connections
accepted; for TLS targets, completed handshakes) and resumed (of those, TLS
sessions resumed).

Every request to a target is logged in memory ({target, method, path, query,
headers (lower-case names), body, status, time, conn}) before any fault fires.

SAFETY: everything binds to 127.0.0.0/8.  --imds-bind may name another address
(169.254.169.254:80) only when this process is inside an isolated network
namespace (only "lo" present), which tests create with `unshare -n`.
"""

import argparse
import base64
import hashlib
import hmac
import http.server
import ipaddress
import itertools
import json
import os
import secrets
import shlex
import signal
import socket
import socketserver
import ssl
import struct
import subprocess
import sys
import threading
import time
import traceback
import urllib.parse
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_RESOURCE = "5f0c1b3e-8a1d-4c7e-9a55-2d1f7b0c9e11"
DEFAULT_TOKEN_LIFETIME = 86399
DEFAULT_SESSION_TTL = 1800
IMDS_TOKEN_PATH = "/metadata/identity/oauth2/token"
IMDS_API_VERSION = "2018-02-01"
MAX_BODY = 16 * 1024 * 1024
LOG_BODY_MAX = 1024 * 1024

PAM_401 = '{"error": "HTTP 401 Unauthorized"}'
PAM_403_CSRF = '{"error":"HTTP 403 Forbidden","message":"CSRF token missing or invalid"}'
PAM_404 = '{"error":"HTTP 404 Not Found"}'

FAULT_MODES = ("status", "slow", "slow_body", "garbage", "truncated", "html",
               "huge", "nonjson200", "nocookie", "close", "redirect", "reset",
               "truncated_chunked")
FAULT_KEYS = {"target", "path", "mode", "count", "method", "status", "body",
              "retry_after", "content_type", "delay", "size", "location"}

SET_KEYS = ("token_lifetime", "session_ttl", "system_assigned", "user_assigned",
            "resource", "imds_aud", "imds_skew", "arc_realm", "cas", "cas_st_ttl",
            "cas_tgt_ttl")

# the other managed-identity sources: (request-log / fault) target names
SOURCE_TARGETS = ("appservice", "appservice2017", "arc", "cloudshell", "servicefabric",
                  "authority")
TARGETS = ("imds", "pam") + SOURCE_TARGETS
ROTATE_TARGETS = ("appservice", "appservice2017", "servicefabric", "authority", "arc")

APPSERVICE_PATH = "/msi/token"
APPSERVICE_API_VERSION = "2019-08-01"
APPSERVICE2017_PATH = "/MSI/token/"
APPSERVICE2017_API_VERSION = "2017-09-01"
ARC_PATH = "/metadata/identity/oauth2/token"
ARC_API_VERSION = "2020-06-01"
CLOUDSHELL_PATH = "/oauth2/token"
SF_PATH = "/metadata/identity/oauth2/token"
SF_API_VERSION = "2019-07-01-preview"
FED_AUD = "api://AzureADTokenExchange"
FED_SUB = "system:serviceaccount:default:pamsh"
FED_LIFETIME = 3600
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
AUTHORITY_MAX_LIFETIME = 3599
CAS_ST_TTL = 60.0            # service tickets (CAS's default 10 s is tighter)
CAS_TGT_TTL = 8 * 3600.0     # ticket-granting tickets (CAS's hard timeout)
CAS_SUFFIX = "-cas01"
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


# ---------------------------------------------------------------- helpers

def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_dec(text):
    text = text.rstrip("=")
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_",
                            validate=True)


def jdump(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def reason(status):
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def as_bool(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "yes", "on", "1"):
        return True
    if isinstance(value, str) and value.lower() in ("false", "no", "off", "0"):
        return False
    raise ValueError("not a boolean: %r" % (value,))


def only_loopback_interfaces():
    """True when the current network namespace has no interface but lo."""
    try:
        with open("/proc/self/net/dev") as f:
            lines = f.read().splitlines()[2:]
    except OSError:
        return False
    names = [ln.split(":", 1)[0].strip() for ln in lines if ":" in ln]
    return names == ["lo"]


def parse_bind(text, what, allow_netns_other):
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        sys.exit("sim.py: %s: expected HOST:PORT, got %r" % (what, text))
    if host == "localhost":
        host = "127.0.0.1"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        sys.exit("sim.py: %s: HOST must be an IPv4 address, got %r" % (what, host))
    if not ip.is_loopback:
        if not allow_netns_other:
            sys.exit("sim.py: %s: refusing non-loopback address %s" % (what, host))
        if not only_loopback_interfaces():
            sys.exit("sim.py: %s: refusing to bind %s outside an isolated network "
                     "namespace (run it under `unshare -n`)" % (what, host))
    return host, int(port)


# ---------------------------------------------------------------- certificates

OPENSSL_CNF = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = pamsh-sim
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[srv_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[otherhost_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:pam.other.test
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[sf_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1
subjectKeyIdentifier = hash
"""


def _openssl(*jobs):
    """Run one or more openssl commands (argument tuples) concurrently."""
    procs = [(args, subprocess.Popen(("openssl",) + tuple(args), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
             for args in jobs]
    failed = None
    for args, p in procs:
        out = p.communicate()[0]
        if p.returncode != 0 and failed is None:
            failed = "sim.py: openssl %s failed:\n%s" % (" ".join(args),
                                                        out.decode(errors="replace"))
    if failed:
        sys.exit(failed)


def ca_args(d, name, cn, cnf):
    return ("req", "-config", cnf, "-x509", "-newkey", "ec",
            "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", os.path.join(d, name + ".key"),
            "-out", os.path.join(d, name + ".pem"),
            "-days", "30", "-sha256", "-subj", "/CN=" + cn,
            "-extensions", "ca_ext")


def make_certs(d):
    """CA (ca.pem/ca.key), server cert for localhost/127.0.0.1 signed by it
    (server.pem/server.key), an unrelated CA (wrong-ca.pem) for negative
    tests, and the Service Fabric endpoint's own self-signed certificate
    (sf.pem/sf.key: CN=servicefabric-sim, IP:127.0.0.1, not from the test
    CA).  Each set is reused when already present in DIR.  Independent
    openssl runs go in parallel."""
    files = ["ca.pem", "ca.key", "server.pem", "server.key", "wrong-ca.pem"]
    need_main = not all(os.path.exists(os.path.join(d, f)) for f in files)
    need_sf = not all(os.path.exists(os.path.join(d, f)) for f in ("sf.pem", "sf.key"))
    if not need_main and not need_sf:
        return
    old = os.umask(0o077)
    try:
        cnf = os.path.join(d, "openssl.cnf")
        with open(cnf, "w") as f:
            f.write(OPENSSL_CNF)
        csr = os.path.join(d, "server.csr")
        jobs = []
        if need_main:
            jobs += [ca_args(d, "ca", "pamsh-sim test CA", cnf),
                     ca_args(d, "wrong-ca", "pamsh-sim unrelated CA", cnf),
                     ("req", "-config", cnf, "-new", "-newkey", "ec",
                      "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                      "-keyout", os.path.join(d, "server.key"), "-out", csr,
                      "-subj", "/CN=localhost")]
        if need_sf:
            jobs.append(("req", "-config", cnf, "-x509", "-newkey", "ec",
                         "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                         "-keyout", os.path.join(d, "sf.key"),
                         "-out", os.path.join(d, "sf.pem"),
                         "-days", "30", "-sha256", "-subj", "/CN=servicefabric-sim",
                         "-set_serial", str(secrets.randbits(63) | 1),
                         "-extensions", "sf_ext"))
        _openssl(*jobs)
        if need_main:
            _openssl(("x509", "-req", "-in", csr,
                      "-CA", os.path.join(d, "ca.pem"), "-CAkey", os.path.join(d, "ca.key"),
                      "-set_serial", str(secrets.randbits(63) | 1), "-days", "30", "-sha256",
                      "-extfile", cnf, "-extensions", "srv_ext",
                      "-out", os.path.join(d, "server.pem")))
            os.unlink(csr)
    finally:
        os.umask(old)
    for f in ("ca.pem", "server.pem", "wrong-ca.pem", "sf.pem"):
        os.chmod(os.path.join(d, f), 0o644)


PAM_CERTS = ("server", "expired", "otherhost")

OPENSSL_CA_CNF = """\
[ca]
default_ca = sim_ca
[sim_ca]
database = %(db)s/index.txt
new_certs_dir = %(db)s
serial = %(db)s/serial
default_md = sha256
policy = sim_policy
unique_subject = no
copy_extensions = none
[sim_policy]
commonName = supplied
"""


def make_pam_cert(d, kind):
    """The PAM server's certificate for --pam-cert KIND; returns its name
    (DIR/NAME.pem, NAME.key).  server: the usual one.  expired: the same
    names (localhost, 127.0.0.1), signed by the test CA, valid from 2 days
    ago to 1 day ago (`openssl ca -startdate/-enddate`: no faketime).
    otherhost: signed by the test CA, valid, but only for DNS:pam.other.test.
    Made on first use and reused while newer than ca.pem."""
    if kind == "server":
        return "server"
    name = "pam-" + kind
    pem, key = os.path.join(d, name + ".pem"), os.path.join(d, name + ".key")
    ca_pem, ca_key = os.path.join(d, "ca.pem"), os.path.join(d, "ca.key")
    if (os.path.exists(pem) and os.path.exists(key)
            and os.path.getmtime(pem) >= os.path.getmtime(ca_pem)):
        return name
    old = os.umask(0o077)
    try:
        cnf = os.path.join(d, "openssl.cnf")
        with open(cnf, "w") as f:
            f.write(OPENSSL_CNF)
        csr = os.path.join(d, name + ".csr")
        _openssl(("req", "-config", cnf, "-new", "-newkey", "ec",
                  "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                  "-keyout", key, "-out", csr,
                  "-subj", "/CN=" + ("localhost" if kind == "expired" else "pam.other.test")))
        if kind == "expired":
            db = os.path.join(d, "ca-db")
            os.makedirs(db, exist_ok=True)
            with open(os.path.join(db, "index.txt"), "w"):
                pass
            with open(os.path.join(db, "serial"), "w") as f:
                f.write("%016X\n" % (secrets.randbits(63) | 1))
            ca_cnf = os.path.join(d, "openssl-ca.cnf")
            with open(ca_cnf, "w") as f:
                f.write(OPENSSL_CA_CNF % {"db": db})
            now = time.time()
            fmt = lambda t: time.strftime("%Y%m%d%H%M%SZ", time.gmtime(t))
            _openssl(("ca", "-batch", "-config", ca_cnf, "-name", "sim_ca",
                      "-cert", ca_pem, "-keyfile", ca_key, "-in", csr, "-out", pem,
                      "-notext", "-extfile", cnf, "-extensions", "srv_ext",
                      "-startdate", fmt(now - 2 * 86400), "-enddate", fmt(now - 86400)))
        else:
            _openssl(("x509", "-req", "-in", csr, "-CA", ca_pem, "-CAkey", ca_key,
                      "-set_serial", str(secrets.randbits(63) | 1), "-days", "30",
                      "-sha256", "-extfile", cnf, "-extensions", "otherhost_ext",
                      "-out", pem))
        os.unlink(csr)
    finally:
        os.umask(old)
    os.chmod(pem, 0o644)
    return name


def cert_thumbprint(pem_file):
    """SHA-1 of the certificate's DER, upper-case hex without colons."""
    with open(pem_file) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    return hashlib.sha1(der).hexdigest().upper()


def server_context(d, name):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(os.path.join(d, name + ".pem"), os.path.join(d, name + ".key"))
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def parse_query(query):
    """dict of a query string; ValueError on duplicates or bad syntax."""
    try:
        params = urllib.parse.parse_qsl(query, keep_blank_values=True)
    except ValueError:
        raise ValueError("Malformed query string")
    names = [k for k, _ in params]
    dups = sorted(set(k for k in names if names.count(k) > 1))
    if dups:
        raise ValueError("Duplicate query parameter(s): " + ", ".join(dups))
    return dict(params)


def date_2017(epoch):
    """App Service 2017 style: M/d/yyyy h:mm:ss AM +00:00 (UTC)."""
    t = time.gmtime(epoch)
    return "%d/%d/%d %d:%02d:%02d %s +00:00" % (
        t.tm_mon, t.tm_mday, t.tm_year, t.tm_hour % 12 or 12, t.tm_min, t.tm_sec,
        "AM" if t.tm_hour < 12 else "PM")


# ---------------------------------------------------------------- state

class AuthFail(Exception):
    pass


class Sim:
    def __init__(self, args):
        self.dir = args.dir
        self.lock = threading.RLock()
        self.key = secrets.token_bytes(32)
        self.logf = open(os.path.join(self.dir, "sim.log"), "a", buffering=1,
                         encoding="utf-8", errors="replace")
        self.log = []
        self.faults = []
        self.sessions = {}
        self.pam_secure = not args.pam_http
        with open(args.data, encoding="utf-8") as f:
            data = json.load(f)
        self.tenant = data["tenant_id"]
        self.identities = data["identities"]
        by_name = {i["name"]: i for i in self.identities}
        self.settings = {
            "token_lifetime": args.token_lifetime,
            "session_ttl": args.session_ttl,
            "system_assigned": bool(data.get("system_assigned", True)),
            "user_assigned": bool(data.get("user_assigned", True)),
            "resource": args.resource,
            "imds_aud": "",
            "imds_skew": 0,
            "arc_realm": "",
            "cas": True,
            "cas_st_ttl": CAS_ST_TTL,
            "cas_tgt_ttl": CAS_TGT_TTL,
        }
        # CAS principals: user name -> {password, identity}; API token ->
        # {name, identity}.  identity: the name of the identity whose record
        # permissions a CAS session gets.
        cas = data.get("cas") or {}
        self.cas_users, self.cas_tokens = {}, {}
        for u in cas.get("users", []):
            if u["identity"] not in by_name:
                sys.exit("sim.py: %s: CAS user %r: unknown identity %r"
                         % (args.data, u["username"], u["identity"]))
            self.cas_users[u["username"]] = {"password": u["password"],
                                             "identity": u["identity"]}
        for t in cas.get("api_tokens", []):
            if t["identity"] not in by_name:
                sys.exit("sim.py: %s: CAS API token %r: unknown identity %r"
                         % (args.data, t.get("name"), t["identity"]))
            self.cas_tokens[t["token"]] = {"name": t.get("name") or "token:" + t["identity"],
                                           "identity": t["identity"]}
        self.cas_first_user = (cas.get("users") or [{}])[0]
        self.cas_first_token = (cas.get("api_tokens") or [{}])[0].get("token", "")
        self.tgts = {}                     # TGT -> {principal, identity, created}
        self.sts = {}                      # ST -> {tgt, service, principal, identity, created}
        self.ticket_ids = itertools.count(1)
        # secrets of the sources that want one (simctl rotate replaces them)
        self.secrets = {"appservice": str(uuid.uuid4()),
                        "appservice2017": str(uuid.uuid4()),
                        "servicefabric": secrets.token_urlsafe(32)}
        self.arc_key_dir = args.arc_key_dir
        self.arc_keys = {}                 # key text -> key file path
        self.fed_file = os.path.join(self.dir, "federated-token")
        self.fed_current = None            # jti of the federated token in the file
        self.fed_revoked = set()           # jtis of rotated-out federated tokens
        self.types = {str(t["id"]): t for t in data["record_types"]}
        self.folders = {}
        for fo in data["folders"]:
            self.folders[str(fo["id"])] = dict(fo)
        self.records = {}
        for r in data["records"]:
            r = dict(r)
            r["permitted"] = set(by_name[n]["object_id"].lower() for n in r.get("permitted", []))
            self.records[str(r["id"])] = r
        nums = [int(k) for k in list(self.folders) + list(self.records) if k.isdigit()]
        self.next_id = max(nums + [0]) + 1
        self.conn_ids = itertools.count(1)
        # per target, since the last reset-log: requests in flight now and
        # at most, connections accepted, TLS sessions resumed
        self.flight = {}

    # -- in-flight requests and connections (simctl inflight / conns)
    def stat(self, target):
        return self.flight.setdefault(target, {"now": 0, "max": 0, "conns": 0,
                                               "resumed": 0})

    def fly(self, target, delta):
        with self.lock:
            st = self.stat(target)
            st["now"] += delta
            st["max"] = max(st["max"], st["now"])

    def opened(self, target, resumed):
        with self.lock:
            st = self.stat(target)
            st["conns"] += 1
            st["resumed"] += bool(resumed)

    def reset_flight(self):
        with self.lock:
            for st in self.flight.values():
                st.update(max=st["now"], conns=0, resumed=0)

    # -- diagnostics
    def note(self, msg):
        with self.lock:
            try:
                self.logf.write("%s %s\n" % (time.strftime("%H:%M:%S"), msg))
            except ValueError:
                pass

    # -- request log
    def record(self, target, method, path, query, headers, body, conn):
        hdrs = {}
        for k, v in headers.items():
            k = k.lower()
            hdrs[k] = hdrs[k] + ", " + v if k in hdrs else v
        text = body[:LOG_BODY_MAX].decode("utf-8", errors="replace")
        entry = {"target": target, "method": method, "path": path, "query": query,
                 "headers": hdrs, "body": text, "status": None,
                 "time": round(time.time(), 3), "conn": conn}
        with self.lock:
            self.log.append(entry)
        return entry

    # -- faults
    def add_fault(self, spec):
        unknown = set(spec) - FAULT_KEYS
        if unknown:
            raise ValueError("unknown fault field(s): %s (known: %s)"
                             % (", ".join(sorted(unknown)), ", ".join(sorted(FAULT_KEYS))))
        f = dict(spec)
        if f.get("target") not in TARGETS:
            raise ValueError("fault target must be one of: " + ", ".join(TARGETS))
        if f.get("mode") not in FAULT_MODES:
            raise ValueError("fault mode must be one of: " + ", ".join(FAULT_MODES))
        f["path"] = str(f.get("path") or "")
        if f.get("count") is not None:
            f["count"] = int(f["count"])
            if f["count"] < 1:
                raise ValueError("fault count must be >= 1")
        for k in ("status", "size"):
            if k in f:
                f[k] = int(f[k])
        if "delay" in f:
            f["delay"] = float(f["delay"])
        for k in ("retry_after", "content_type", "location", "method"):
            if k in f:
                f[k] = str(f[k])
        if "body" in f and not isinstance(f["body"], str):
            f["body"] = jdump(f["body"])
        with self.lock:
            self.faults.append(f)
        return f

    def take_fault(self, target, path, method):
        with self.lock:
            for f in self.faults:
                fp = f["path"]
                if f["target"] != target:
                    continue
                if fp.endswith("$"):            # "PATH$": this path exactly
                    if path != fp[:-1]:
                        continue
                elif not path.startswith(fp):   # otherwise a prefix
                    continue
                if f.get("method") and f["method"].upper() != method:
                    continue
                if f.get("count") is not None:
                    f["count"] -= 1
                    if f["count"] <= 0:
                        self.faults.remove(f)
                return dict(f)
        return None

    # -- identities and tokens
    def visible_identities(self):
        with self.lock:
            sa, ua = self.settings["system_assigned"], self.settings["user_assigned"]
        return [i for i in self.identities
                if (i["type"] == "system" and sa) or (i["type"] == "user" and ua)]

    def find_identity(self, selector, value):
        ids = self.visible_identities()
        if selector:
            for i in ids:
                if i[selector].lower() == value.lower():
                    return i
            raise AuthFail("Identity not found")
        for i in ids:
            if i["type"] == "system":
                return i
        if len(ids) == 1:
            return ids[0]
        if len(ids) > 1:
            raise AuthFail("Multiple user assigned identities exist, please specify the "
                           "clientId / resourceId of the identity in the token request")
        raise AuthFail("Identity not found")

    def identity_by_name(self, name):
        for i in self.identities:
            if i["name"] == name:
                return i
        raise ValueError("no identity named %r" % (name,))

    def mint(self, ident, resource, lifetime, overrides=None):
        now = int(time.time())
        exp = now + int(lifetime)
        iss = "https://sts.windows.net/%s/" % self.tenant
        claims = {
            "aud": resource, "iss": iss, "iat": now - 300, "nbf": now - 300, "exp": exp,
            "aio": b64u(secrets.token_bytes(42)), "appid": ident["client_id"],
            "appidacr": "2", "idp": iss, "idtyp": "app", "oid": ident["object_id"],
            "sub": ident["object_id"], "tid": self.tenant,
            "uti": b64u(secrets.token_bytes(16)), "ver": "1.0",
            "xms_mirid": ident["msi_res_id"],
        }
        for k, v in (overrides or {}).items():
            if v is None:
                claims.pop(k, None)
            else:
                claims[k] = v
        return self.sign(claims), claims

    def sign(self, claims, kid="sim"):
        head = b64u(jdump({"typ": "JWT", "alg": "HS256", "kid": kid}).encode())
        body = b64u(jdump(claims).encode())
        sig = hmac.new(self.key, ("%s.%s" % (head, body)).encode(), hashlib.sha256).digest()
        return "%s.%s.%s" % (head, body, b64u(sig))

    def check_signature(self, token):
        """The claims of a JWT signed with the simulator's key, else AuthFail."""
        parts = token.split(".")
        if len(parts) != 3:
            raise AuthFail("malformed token")
        try:
            header = json.loads(b64u_dec(parts[0]))
            claims = json.loads(b64u_dec(parts[1]))
            sig = b64u_dec(parts[2])
        except (ValueError, UnicodeDecodeError):
            raise AuthFail("malformed token")
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise AuthFail("malformed token")
        if header.get("alg") != "HS256":
            raise AuthFail("unsupported token algorithm '%s'" % (header.get("alg"),))
        want = hmac.new(self.key, ("%s.%s" % (parts[0], parts[1])).encode(),
                        hashlib.sha256).digest()
        if not hmac.compare_digest(want, sig):
            raise AuthFail("bad signature")
        return claims

    def issue(self, ident, resource, overrides=None):
        """(token, claims, lifetime) for a token source's answer."""
        with self.lock:
            lifetime = int(self.settings["token_lifetime"])
        token, claims = self.mint(ident, resource, lifetime, overrides)
        return token, claims, lifetime

    def system_identity(self):
        for i in self.visible_identities():
            if i["type"] == "system":
                return i
        raise AuthFail("No system-assigned managed identity is enabled")

    def identity_by_client_id(self, client_id):
        for i in self.identities:
            if i["client_id"].lower() == client_id.lower():
                return i
        return None

    # -- secrets, Arc key files, federated token
    def secret_ok(self, target, got):
        """got: the list of values of the secret header (None when absent)."""
        with self.lock:
            want = self.secrets[target]
        return (got is not None and len(got) == 1
                and hmac.compare_digest(got[0].encode(), want.encode()))

    def arc_challenge(self):
        """Path for `WWW-Authenticate: Basic realm=`: a fresh key file in the
        key directory, or the arc_realm setting when set."""
        with self.lock:
            realm = self.settings["arc_realm"]
        if realm:
            return realm
        d = self.arc_key_dir
        if not os.path.isdir(d):
            os.makedirs(d, mode=0o700, exist_ok=True)
            os.chmod(d, 0o700)
        key = secrets.token_hex(32)
        path = os.path.join(d, "%s.key" % uuid.uuid4())
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                     0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key)
        with self.lock:
            self.arc_keys[key] = path
        return path

    def arc_key_ok(self, key):
        with self.lock:
            return any(hmac.compare_digest(key.encode(), k.encode()) for k in self.arc_keys)

    def write_federated(self):
        """Write a new federated (service-account) token to DIR/federated-token;
        the one it replaces is refused from then on.  Returns the token."""
        now = int(time.time())
        jti = str(uuid.uuid4())
        claims = {
            "aud": FED_AUD, "exp": now + FED_LIFETIME, "iat": now, "nbf": now,
            "iss": "https://oidc.prod-aks.azure.com/%s/" % self.tenant,
            "jti": jti, "sub": FED_SUB,
            "kubernetes.io": {"namespace": "default",
                              "serviceaccount": {"name": "pamsh", "uid": str(uuid.uuid4())}},
        }
        token = self.sign(claims, "sim-oidc")
        tmp = "%s.tmp.%d" % (self.fed_file, os.getpid())
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(token)
        with self.lock:
            os.replace(tmp, self.fed_file)
            if self.fed_current:
                self.fed_revoked.add(self.fed_current)
            self.fed_current = jti
        return token

    def verify_assertion(self, token):
        """Claims of an acceptable federated token, else AuthFail(reason)."""
        claims = self.check_signature(token)
        aud = claims.get("aud")
        auds = aud if isinstance(aud, list) else [aud]
        if FED_AUD not in auds:
            raise AuthFail("assertion audience %s is not %s" % (jdump(aud), FED_AUD))
        exp, nbf = claims.get("exp"), claims.get("nbf", 0)
        if not isinstance(exp, (int, float)) or not isinstance(nbf, (int, float)):
            raise AuthFail("malformed assertion")
        now = time.time()
        if now >= exp:
            raise AuthFail("assertion expired")
        if nbf > now + 300:
            raise AuthFail("assertion not yet valid")
        with self.lock:
            if claims.get("jti") in self.fed_revoked:
                raise AuthFail("assertion was replaced by a newer federated token")
        return claims

    def rotate(self, target):
        """New secret (or federated token; or, for arc, forget every issued key)."""
        if target not in ROTATE_TARGETS:
            raise ValueError("rotate: TARGET must be one of " + ", ".join(ROTATE_TARGETS))
        if target == "authority":
            return self.write_federated()
        if target == "arc":
            with self.lock:
                paths = list(self.arc_keys.values())
                self.arc_keys.clear()
            for p in paths:
                try:
                    os.unlink(p)
                except OSError:
                    pass
            return ""
        new = (secrets.token_urlsafe(32) if target == "servicefabric"
               else str(uuid.uuid4()))
        with self.lock:
            self.secrets[target] = new
        return new

    def verify(self, token):
        claims = self.check_signature(token)
        with self.lock:
            resource = self.settings["resource"]
        aud = claims.get("aud")
        if aud not in (resource, "api://" + resource):
            raise AuthFail("token audience '%s' is not accepted" % (aud,))
        tid = claims.get("tid")
        if claims.get("iss") != "https://sts.windows.net/%s/" % (tid,):
            raise AuthFail("token issuer '%s' is not accepted" % (claims.get("iss"),))
        exp, nbf = claims.get("exp"), claims.get("nbf", 0)
        if not isinstance(exp, (int, float)) or not isinstance(nbf, (int, float)):
            raise AuthFail("malformed token")
        now = time.time()
        if now >= exp:
            raise AuthFail("token expired")
        if nbf > now:
            raise AuthFail("token not yet valid")
        if not claims.get("oid"):
            raise AuthFail("token has no oid claim")
        return claims

    # -- PAM sessions
    def new_session(self, oid, appid=None, login="azure", principal=None):
        """A session whose record permissions are those of object id oid."""
        sid = secrets.token_hex(16).upper()
        xsrf = str(uuid.uuid4())
        now = time.time()
        with self.lock:
            self.sessions[sid] = {"oid": str(oid).lower(), "appid": appid, "xsrf": xsrf,
                                  "login": login, "principal": principal,
                                  "created": now, "last": now}
        return sid, xsrf

    # -- CAS tickets
    def cas_enabled(self):
        with self.lock:
            return bool(self.settings["cas"])

    def cas_ticket(self, prefix, n):
        return "%s-%d-%s%s" % (prefix, next(self.ticket_ids),
                               "".join(secrets.choice(ALNUM) for _ in range(n)), CAS_SUFFIX)

    def cas_authenticate(self, username=None, password=None, token=None):
        """(principal name, identity name), else AuthFail."""
        if token is not None:
            for k, v in self.cas_tokens.items():
                if hmac.compare_digest(k.encode(), token.encode()):
                    return v["name"], v["identity"]
            raise AuthFail("unknown API token")
        u = self.cas_users.get(username)
        want = u["password"] if u else "\0never"
        if not hmac.compare_digest(want.encode(), password.encode()) or u is None:
            raise AuthFail("bad user name or password for %r" % (username,))
        return username, u["identity"]

    def cas_new_tgt(self, principal, identity):
        tgt = self.cas_ticket("TGT", 40)
        with self.lock:
            self.tgts[tgt] = {"principal": principal, "identity": identity,
                              "created": time.time()}
        return tgt

    def cas_live_tgt(self, tgt):
        """The TGT's record when it is known and unexpired (else None; an
        expired one is dropped).  Caller holds the lock."""
        t = self.tgts.get(tgt)
        if t is not None and time.time() - t["created"] > self.settings["cas_tgt_ttl"]:
            del self.tgts[tgt]
            t = None
        return t

    def cas_new_st(self, tgt, service):
        """A service ticket for service, or None when the TGT is unknown/expired."""
        with self.lock:
            t = self.cas_live_tgt(tgt)
            if t is None:
                return None
            st = self.cas_ticket("ST", 30)
            self.sts[st] = {"tgt": tgt, "service": service, "principal": t["principal"],
                            "identity": t["identity"], "created": time.time()}
        return st

    def cas_delete_tgt(self, tgt):
        with self.lock:
            self.tgts.pop(tgt, None)
            for st in [k for k, v in self.sts.items() if v["tgt"] == tgt]:
                del self.sts[st]

    def cas_take_st(self, st):
        """Use up a service ticket: its record when it was valid, else
        (None, reason)."""
        with self.lock:
            s = self.sts.pop(st, None)
            if s is None:
                return None, "unknown or already used service ticket"
            if time.time() - s["created"] > self.settings["cas_st_ttl"]:
                return None, "service ticket expired"
            if self.cas_live_tgt(s["tgt"]) is None:
                return None, "the service ticket's TGT is gone"
        return s, None

    def get_session(self, sids):
        now = time.time()
        with self.lock:
            ttl = self.settings["session_ttl"]
            for sid in sids:
                s = self.sessions.get(sid)
                if s is None:
                    continue
                if now - s["last"] > ttl:
                    del self.sessions[sid]
                    continue
                s["last"] = now
                return dict(s)
        return None

    # -- PAM data
    def record_json(self, r):
        t = self.types.get(str(r["type"]), {"id": r["type"], "name": "Unknown"})
        return {"id": r["id"], "name": r["name"], "description": r.get("description", ""),
                "recordType": {"id": t["id"], "name": t["name"]},
                "folderId": r["folder"], "custom": jdump(r.get("custom", {}))}

    def alloc_id(self):
        with self.lock:
            n = self.next_id
            self.next_id += 1
            return n

    def data_dump(self):
        with self.lock:
            recs = []
            for r in self.records.values():
                d = self.record_json(r)
                d["fields"] = r.get("custom", {})
                d["permitted"] = sorted(r["permitted"])
                recs.append(d)
            return {"folders": list(self.folders.values()), "records": recs,
                    "record_types": list(self.types.values()),
                    "identities": self.identities, "tenant_id": self.tenant,
                    "cas": {"users": [dict(v, username=k) for k, v in self.cas_users.items()],
                            "api_tokens": [dict(v, token=k)
                                           for k, v in self.cas_tokens.items()]}}


# ---------------------------------------------------------------- HTTP plumbing

class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, handler, sim, ssl_ctx=None):
        self.sim = sim
        self.ssl_ctx = ssl_ctx
        super().__init__(addr, handler)

    def server_bind(self):
        # Not HTTPServer.server_bind: it calls getfqdn(), i.e. DNS.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def finish_request(self, request, client_address):
        if self.ssl_ctx is None:
            return super().finish_request(request, client_address)
        request.settimeout(15)
        try:
            conn = self.ssl_ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            self.sim.note("%s: TLS handshake with %s failed: %s"
                          % (self.RequestHandlerClass.target, client_address[0], e))
            return
        try:
            self.RequestHandlerClass(conn, client_address, self)
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        self.sim.note("%s: error serving %s:\n%s" % (self.RequestHandlerClass.target,
                                                     client_address[0],
                                                     traceback.format_exc()))


class Base(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pamsh-sim/1"
    sys_version = ""
    timeout = 60
    target = "?"
    logged = True

    def version_string(self):
        return self.server_version

    def setup(self):
        super().setup()
        self.conn_id = next(self.server.sim.conn_ids)
        self._flying = False
        if self.logged:
            self.sim.opened(self.target, getattr(self.connection, "session_reused", False))

    @property
    def sim(self):
        return self.server.sim

    def log_message(self, fmt, *args):
        self.sim.note("%s: #%s %s" % (self.target, getattr(self, "conn_id", "?"), fmt % args))

    def do_GET(self):
        self._fx = None
        self._entry = None
        try:
            self._handle()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, socket.timeout) as e:
            self.sim.note("%s: connection problem: %r" % (self.target, e))
            self.close_connection = True

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = do_GET

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            out, total = [], 0
            while True:
                line = self.rfile.readline(1024)
                size = int(line.split(b";", 1)[0].strip() or b"x", 16)
                if size == 0:
                    while self.rfile.readline(8192) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(out)
                total += size
                if total > MAX_BODY:
                    raise ValueError("body too large")
                out.append(self.rfile.read(size))
                self.rfile.readline(8)
        n = self.headers.get("Content-Length")
        if n is None:
            return b""
        n = int(n)
        if n < 0 or n > MAX_BODY:
            raise ValueError("bad Content-Length")
        data = self.rfile.read(n)
        if len(data) != n:
            raise ValueError("short body")
        return data

    def _handle(self):
        # in flight from the parsed request line until the response headers
        # go out (end_headers), or the handler gives up on the request
        if self.logged:
            self._flying = True
            self.sim.fly(self.target, 1)
        try:
            self._handle_request()
        finally:
            self._land()

    def _land(self):
        if self._flying:
            self._flying = False
            self.sim.fly(self.target, -1)

    def end_headers(self):
        self._land()   # before the client can see the answer
        super().end_headers()

    def _handle_request(self):
        split = urllib.parse.urlsplit(self.path)
        path, query = split.path, split.query
        try:
            body = self.read_body()
        except ValueError as e:
            self.close_connection = True
            return self.respond(400, jdump({"error": "bad request body: %s" % e}))
        if self.logged:
            self._entry = self.sim.record(self.target, self.command, path, query,
                                          self.headers, body, self.conn_id)
            fault = self.sim.take_fault(self.target, path, self.command)
            if fault is not None:
                self.sim.note("%s: fault %s fires on %s %s" % (self.target, fault["mode"],
                                                              self.command, path))
                if self.apply_fault(fault):
                    return
        self.route(path, query, body)

    # -- responses
    def respond(self, status, body=b"", ctype="application/json", headers=()):
        if isinstance(body, str):
            body = body.encode("utf-8")
        if self._entry is not None:
            self._entry["status"] = status
        fx = self._fx
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if ctype and body:
            self.send_header("Content-Type", ctype)
        if fx and fx[0] == "truncated":
            self.send_header("Content-Length", str(max(len(body), 64)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body[:len(body) // 2])
            self.hard_close()
            return
        if fx and fx[0] == "truncated_chunked":
            # chunked, the first half of the body in two chunks, then FIN:
            # never the last (zero-size) chunk
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if self.command != "HEAD":
                half = body[:max(len(body) // 2, 2)]
                for part in (half[:len(half) // 2], half[len(half) // 2:]):
                    if part:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.hard_close()
            return
        if fx and fx[0] == "reset":
            # the full Content-Length announced, half the body sent, a pause
            # (so that the client is reading the body), then a TCP RST
            self.send_header("Content-Length", str(max(len(body), 64)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body[:len(body) // 2])
            self.reset_connection(fx[1])
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command == "HEAD" or not body:
            return
        if fx and fx[0] == "slow_body":
            half = len(body) // 2
            self.wfile.write(body[:half])
            self.wfile.flush()
            time.sleep(fx[1])
            self.wfile.write(body[half:])
        else:
            self.wfile.write(body)

    def hard_close(self):
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def reset_connection(self, delay=0.0):
        """Flush, wait DELAY s, then abort the connection with a TCP RST
        (SO_LINGER 0 and close; no TLS close_notify, no FIN)."""
        self.close_connection = True
        try:
            self.wfile.flush()
        except OSError:
            pass
        if delay > 0:
            time.sleep(delay)
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
        except OSError:
            pass
        # the socket is closed for real once rfile (a makefile() object) is
        # closed too; wfile writes through the socket itself
        try:
            self.rfile.close()
        except OSError:
            pass
        try:
            self.connection.close()
        except OSError:
            pass

    def html_page(self, title, text):
        # nginx's error page layout
        return ("<html>\r\n<head><title>%s</title></head>\r\n<body>\r\n<center><h1>%s"
                "</h1></center>\r\n<hr><center>%s</center>\r\n</body>\r\n</html>\r\n"
                % (title, title, text))

    def default_error_body(self, status):
        return jdump({"error": "HTTP %d %s" % (status, reason(status))})

    def fault_error_body(self, status):
        return self.default_error_body(status)

    def apply_fault(self, f):
        """Returns True when the fault produced the whole answer."""
        mode = f["mode"]
        if mode == "slow":
            time.sleep(f.get("delay", 5.0))
            return False
        if mode == "slow_body":
            self._fx = ("slow_body", f.get("delay", 5.0))
            return False
        if mode == "truncated":
            self._fx = ("truncated",)
            return False
        if mode == "truncated_chunked":
            self._fx = ("truncated_chunked",)
            return False
        if mode == "reset":
            self._fx = ("reset", f.get("delay", 0.2))
            return False
        if mode == "status":
            status = f.get("status", 500)
            hdrs = [("Retry-After", f["retry_after"])] if "retry_after" in f else []
            body = f.get("body", self.fault_error_body(status))
            self.respond(status, body, f.get("content_type", "application/json"), hdrs)
        elif mode == "garbage":
            self.respond(200, b'{"id": 42, "name": "unterminated \x01\xfe\xff @@ <<garbage>> ',
                         "application/json")
        elif mode == "html":
            status = f.get("status", 502)
            title = "%d %s" % (status, reason(status))
            self.respond(status, self.html_page(title, "nginx"), "text/html")
        elif mode == "nonjson200":
            self.respond(200, self.html_page("Web Proxy", "Access to this site is "
                                             "restricted by your organisation"), "text/html")
        elif mode == "nocookie":
            self.respond(200, "<!DOCTYPE html>\n<html><head><title>XTAM Login</title></head>"
                         "<body><form method=\"post\" action=\"/cas/login\">"
                         "<input name=\"username\"><input name=\"password\" type=\"password\">"
                         "</form></body></html>\n", "text/html")
        elif mode == "huge":
            self.send_huge(f.get("size", 80 * 1024 * 1024))
        elif mode == "close":
            if self._entry is not None:
                self._entry["status"] = 0
            self.hard_close()
        elif mode == "redirect":
            status = f.get("status", 302)
            self.respond(status, b"", None, [("Location", f.get("location", "/redirected"))])
        return True

    def send_huge(self, size):
        prefix, suffix = b'{"id":42,"name":"huge","data":"', b'"}'
        fill = max(0, size - len(prefix) - len(suffix))
        if self._entry is not None:
            self._entry["status"] = 200
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(prefix) + fill + len(suffix)))
        self.end_headers()
        if self.command == "HEAD":
            return
        self.wfile.write(prefix)
        chunk = b"A" * 65536
        while fill > 0:
            n = min(fill, len(chunk))
            self.wfile.write(chunk[:n])
            fill -= n
        self.wfile.write(suffix)


# ---------------------------------------------------------------- fake IMDS

class ImdsHandler(Base):
    """GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=R
    [&client_id=|&object_id=|&msi_res_id=] with `Metadata: true`."""
    target = "imds"

    def err(self, status, error, desc):
        self.respond(status, jdump({"error": error, "error_description": desc}))

    def fault_error_body(self, status):
        return jdump({"error": reason(status).lower().replace(" ", "_").replace("-", "_"),
                      "error_description": "Simulated HTTP %d %s" % (status, reason(status))})

    def route(self, path, query, body):
        if path != IMDS_TOKEN_PATH:
            return self.err(404, "not_found", "The requested path was not found")
        if self.command != "GET":
            return self.err(405, "invalid_request", "Method not allowed")
        if self.headers.get_all("Metadata") != ["true"]:
            return self.err(400, "invalid_request", "Required metadata header not specified")
        if self.headers.get("X-Forwarded-For") is not None:
            return self.err(400, "invalid_request",
                            "Request contains the X-Forwarded-For header")
        try:
            params = urllib.parse.parse_qsl(query, keep_blank_values=True)
        except ValueError:
            return self.err(400, "invalid_request", "Malformed query string")
        names = [k for k, _ in params]
        dups = sorted(set(k for k in names if names.count(k) > 1))
        if dups:
            return self.err(400, "invalid_request",
                            "Duplicate query parameter(s): " + ", ".join(dups))
        q = dict(params)
        if q.get("api-version") != IMDS_API_VERSION:
            return self.err(400, "invalid_request",
                            "Missing or unsupported api-version (the simulator accepts %s)"
                            % IMDS_API_VERSION)
        resource = q.get("resource", "")
        if not resource:
            return self.err(400, "invalid_request", "Required audience parameter not specified")
        sel = [k for k in ("client_id", "object_id", "msi_res_id") if k in q]
        if len(sel) > 1:
            return self.err(400, "invalid_request",
                            "Only one of client_id, object_id or msi_res_id may be specified")
        try:
            ident = self.sim.find_identity(sel[0] if sel else None, q[sel[0]] if sel else None)
        except AuthFail as e:
            return self.err(400, "invalid_request", str(e))
        with self.sim.lock:
            lifetime = self.sim.settings["token_lifetime"]
            aud = self.sim.settings["imds_aud"]
            skew = self.sim.settings["imds_skew"]
        over = {"aud": aud} if aud else {}
        if skew:
            # the issuer's clock is skew seconds ahead of this machine's
            now = int(time.time()) + skew
            over.update(iat=now - 300, nbf=now - 300, exp=now + int(lifetime))
        token, claims = self.sim.mint(ident, resource, lifetime, over or None)
        self.respond(200, jdump({
            "access_token": token,
            "client_id": ident["client_id"],
            "expires_in": str(int(lifetime)),
            "expires_on": str(claims["exp"]),
            "ext_expires_in": str(int(lifetime)),
            "not_before": str(claims["nbf"]),
            "resource": resource,
            "token_type": "Bearer",
        }))


# ---------------------------------------------------------------- other sources

class SourceBase(Base):
    """Shared checks of the non-IMDS managed-identity sources; subclasses set
    target, PATH, METHOD and err()."""
    PATH = "/"
    METHOD = "GET"

    def fault_error_body(self, status):
        return self.error_body(status, "Simulated HTTP %d %s" % (status, reason(status)),
                               self.fault_code(status))

    def fault_code(self, status):
        return reason(status).lower().replace(" ", "_").replace("-", "_")

    def error_body(self, status, msg, code):
        return jdump({"error": code, "error_description": msg})

    def err(self, status, msg, code="invalid_request", headers=()):
        self.respond(status, self.error_body(status, msg, code), "application/json", headers)

    def route(self, path, query, body):
        if path != self.PATH:
            return self.err(404, "The requested path was not found", "not_found")
        if self.command != self.METHOD:
            return self.err(405, "Method not allowed", "method_not_allowed",
                            [("Allow", self.METHOD)])
        try:
            q = parse_query(query)
        except ValueError as e:
            return self.err(400, str(e), "invalid_request")
        return self.serve(q, body)

    def selector(self, q, names):
        """(identity field, value) of the one selector present, or (None,
        None); names maps query names to identity fields.  ValueError when
        several are present."""
        sel = [k for k in names if k in q]
        if len(sel) > 1:
            raise ValueError("Only one of %s may be specified" % ", ".join(names))
        return (names[sel[0]], q[sel[0]]) if sel else (None, None)

    def form(self, body):
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            return None
        try:
            return parse_query(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return None


class AppServiceHandler(SourceBase):
    """App Service 2019: GET /msi/token?api-version=2019-08-01&resource=R
    [&client_id=|&principal_id=|&mi_res_id=], header X-IDENTITY-HEADER."""
    target = "appservice"
    PATH = APPSERVICE_PATH
    SECRET_HEADER = "X-IDENTITY-HEADER"
    API_VERSION = APPSERVICE_API_VERSION
    SELECTORS = {"client_id": "client_id", "principal_id": "object_id",
                 "mi_res_id": "msi_res_id"}

    def error_body(self, status, msg, code):
        return jdump({"statusCode": status, "message": msg,
                      "correlationId": str(uuid.uuid4())})

    def serve(self, q, body):
        if not self.sim.secret_ok(self.target, self.headers.get_all(self.SECRET_HEADER)):
            return self.err(401, "The %s header is missing or does not match; access "
                            "denied" % self.SECRET_HEADER)
        if q.get("api-version") != self.API_VERSION:
            return self.err(400, "Missing or unsupported api-version (the simulator "
                            "accepts %s)" % self.API_VERSION)
        resource = q.get("resource", "")
        if not resource:
            return self.err(400, "The resource parameter is required")
        try:
            field, value = self.selector(q, self.SELECTORS)
            ident = self.sim.find_identity(field, value)
        except (ValueError, AuthFail) as e:
            return self.err(400, "Unable to load the proper Managed Identity: %s" % e)
        token, claims, lifetime = self.sim.issue(ident, resource)
        self.respond(200, jdump(self.answer(ident, resource, token, claims)))

    def answer(self, ident, resource, token, claims):
        return {"access_token": token, "expires_on": str(claims["exp"]),
                "resource": resource, "token_type": "Bearer",
                "client_id": ident["client_id"]}


class AppService2017Handler(AppServiceHandler):
    """App Service 2017: GET /MSI/token/?api-version=2017-09-01&resource=R
    [&clientid=], header `secret`."""
    target = "appservice2017"
    PATH = APPSERVICE2017_PATH
    SECRET_HEADER = "secret"
    API_VERSION = APPSERVICE2017_API_VERSION
    SELECTORS = {"clientid": "client_id"}

    def answer(self, ident, resource, token, claims):
        return {"access_token": token, "expires_on": date_2017(claims["exp"]),
                "resource": resource, "token_type": "Bearer"}


class ArcHandler(SourceBase):
    """Azure Arc (himds): GET /metadata/identity/oauth2/token?api-version=
    2020-06-01&resource=R with `Metadata: true`; 401 Basic realm=<key file>
    first, then `Authorization: Basic <key file contents>`."""
    target = "arc"
    PATH = ARC_PATH
    SELECTORS = ("client_id", "object_id", "msi_res_id", "mi_res_id", "principal_id")

    def serve(self, q, body):
        if self.headers.get_all("Metadata") != ["true"]:
            return self.err(400, "Required metadata header not specified")
        if q.get("api-version") != ARC_API_VERSION:
            return self.err(400, "Missing or unsupported api-version (the simulator "
                            "accepts %s)" % ARC_API_VERSION)
        resource = q.get("resource", "")
        if not resource:
            return self.err(400, "Required audience parameter not specified")
        sel = [k for k in self.SELECTORS if k in q]
        if sel:
            return self.err(400, "Azure Arc supports only the system-assigned identity; "
                            "%s is not accepted" % sel[0])
        try:
            ident = self.sim.system_identity()
        except AuthFail as e:
            return self.err(400, str(e))
        auth = self.headers.get_all("Authorization")
        if auth is None:
            try:
                realm = self.sim.arc_challenge()
            except OSError as e:
                self.sim.note("arc: cannot write a key file: %s" % e)
                return self.err(500, "cannot create the key file", "internal_error")
            return self.err(401, "Authentication required: send the contents of the key "
                            "file named in WWW-Authenticate", "unauthorized",
                            [("WWW-Authenticate", "Basic realm=%s" % realm)])
        scheme, _, key = auth[0].partition(" ")
        if len(auth) != 1 or scheme.lower() != "basic" or not self.sim.arc_key_ok(key):
            return self.err(401, "The key in the Authorization header is not valid",
                            "unauthorized")
        token, claims, lifetime = self.sim.issue(ident, resource)
        self.respond(200, jdump({
            "access_token": token,
            "client_id": ident["client_id"],
            "expires_in": str(lifetime),
            "expires_on": str(claims["exp"]),
            "ext_expires_in": str(lifetime),
            "not_before": str(claims["nbf"]),
            "resource": resource,
            "token_type": "Bearer",
        }))


class CloudShellHandler(SourceBase):
    """Cloud Shell: POST /oauth2/token, `Metadata: true`, form resource=R."""
    target = "cloudshell"
    PATH = CLOUDSHELL_PATH
    METHOD = "POST"
    SELECTORS = ("client_id", "object_id", "msi_res_id", "mi_res_id", "principal_id")

    def serve(self, q, body):
        if self.headers.get_all("Metadata") != ["true"]:
            return self.err(400, "Required metadata header not specified")
        form = self.form(body)
        if form is None:
            return self.err(400, "Expected a form body (application/x-www-form-urlencoded)")
        resource = form.get("resource", "")
        if not resource:
            return self.err(400, "Required resource parameter not specified")
        sel = [k for k in self.SELECTORS if k in form or k in q]
        if sel:
            return self.err(400, "Cloud Shell offers only the signed-in user's identity; "
                            "%s is not accepted" % sel[0])
        try:
            ident = self.sim.system_identity()
        except AuthFail as e:
            return self.err(400, str(e))
        token, claims, lifetime = self.sim.issue(ident, resource)
        self.respond(200, jdump({
            "access_token": token,
            "refresh_token": "",
            "expires_in": str(lifetime),
            "expires_on": str(claims["exp"]),
            "not_before": str(claims["nbf"]),
            "resource": resource,
            "token_type": "Bearer",
        }))


class ServiceFabricHandler(SourceBase):
    """Service Fabric: HTTPS (own self-signed certificate) GET
    /metadata/identity/oauth2/token?api-version=2019-07-01-preview&resource=R,
    header `Secret`."""
    target = "servicefabric"
    PATH = SF_PATH
    SELECTORS = ("client_id", "object_id", "msi_res_id", "mi_res_id", "principal_id")

    def error_body(self, status, msg, code):
        return jdump({"error": {"correlationId": str(uuid.uuid4()), "code": code,
                                "message": msg}})

    def fault_code(self, status):
        return reason(status).replace(" ", "").replace("-", "")

    def serve(self, q, body):
        got = self.headers.get_all("Secret")
        if got is None:
            return self.err(401, "Secret is not found in the request headers.",
                            "SecretHeaderNotFound")
        if not self.sim.secret_ok(self.target, got):
            return self.err(401, "The Secret header does not match.", "SecretHeaderInvalid")
        if q.get("api-version") != SF_API_VERSION:
            return self.err(400, "Missing or unsupported api-version (the simulator "
                            "accepts %s)" % SF_API_VERSION, "InvalidApiVersion")
        resource = q.get("resource", "")
        if not resource:
            return self.err(400, "Value cannot be null or empty. Parameter name: resource",
                            "ArgumentNullOrEmpty")
        sel = [k for k in self.SELECTORS if k in q]
        if sel:
            return self.err(400, "The identity is chosen by the application manifest; "
                            "%s is not accepted" % sel[0], "InvalidParameter")
        try:
            ident = self.sim.system_identity()
        except AuthFail as e:
            return self.err(400, str(e), "ManagedIdentityNotFound")
        token, claims, lifetime = self.sim.issue(ident, resource)
        self.respond(200, jdump({"token_type": "Bearer", "access_token": token,
                                 "expires_on": claims["exp"], "resource": resource}))


class AuthorityHandler(SourceBase):
    """Entra ID token endpoint for workload identity (HTTPS, test CA):
    POST /<tenant>/oauth2/v2.0/token, client credentials with a federated
    client assertion."""
    target = "authority"

    def fault_error_body(self, status):
        msg = "Simulated HTTP %d %s" % (status, reason(status))
        if status >= 500:
            return self.aad_body("temporarily_unavailable", 50000, msg)
        return self.aad_body("invalid_request", 90100, msg)

    def aad_body(self, error, code, desc):
        ts = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())
        trace, corr = str(uuid.uuid4()), str(uuid.uuid4())
        return jdump({
            "error": error,
            "error_description": "AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\n"
                                 "Timestamp: %s" % (code, desc, trace, corr, ts),
            "error_codes": [code], "timestamp": ts, "trace_id": trace,
            "correlation_id": corr,
            "error_uri": "https://login.microsoftonline.com/error?code=%d" % code,
        })

    def aad(self, status, error, code, desc):
        self.respond(status, self.aad_body(error, code, desc))

    def route(self, path, query, body):
        seg = path.split("/")
        if len(seg) != 5 or seg[0] or seg[2:] != ["oauth2", "v2.0", "token"] or not seg[1]:
            return self.respond(404, self.default_error_body(404))
        tenant = urllib.parse.unquote(seg[1])
        if self.command != "POST":
            return self.aad(400, "invalid_request", 900561,
                            "The endpoint only accepts POST requests. Received a %s request."
                            % self.command)
        if tenant.lower() != self.sim.tenant.lower():
            return self.aad(400, "invalid_request", 90002,
                            "Tenant '%s' not found. Check to make sure you have the correct "
                            "tenant ID and are signing into the correct cloud." % tenant)
        f = self.form(body) or {}

        def missing(name):
            return self.aad(400, "invalid_request", 900144,
                            "The request body must contain the following parameter: '%s'."
                            % name)
        gt = f.get("grant_type", "")
        if not gt:
            return missing("grant_type")
        if gt != "client_credentials":
            return self.aad(400, "unsupported_grant_type", 70003,
                            "The app requested an unsupported grant type '%s'." % gt)
        cid = f.get("client_id", "")
        if not cid:
            return missing("client_id")
        scope = f.get("scope", "")
        if not scope:
            return missing("scope")
        if " " in scope.strip() or not scope.endswith("/.default") or scope == "/.default":
            return self.aad(400, "invalid_scope", 1002012,
                            "The provided value for scope %s is not valid. Client credential "
                            "flows must have a scope value with /.default suffixed to the "
                            "resource identifier (application ID URI)." % scope)
        atype, assertion = f.get("client_assertion_type"), f.get("client_assertion")
        if not atype and not assertion:
            return self.aad(401, "invalid_client", 7000218,
                            "The request body must contain the following parameter: "
                            "'client_assertion' or 'client_secret'.")
        if atype != JWT_BEARER:
            return self.aad(400, "invalid_request", 50027,
                            "Invalid client_assertion_type '%s': expected %s."
                            % (atype or "", JWT_BEARER))
        if not assertion:
            return missing("client_assertion")
        ident = self.sim.identity_by_client_id(cid)
        if ident is None:
            return self.aad(400, "unauthorized_client", 700016,
                            "Application with identifier '%s' was not found in the directory "
                            "'%s'. This can happen if the application has not been installed "
                            "by the administrator of the tenant or consented to by any user "
                            "in the tenant. You may have sent your authentication request to "
                            "the wrong tenant." % (cid, self.sim.tenant))
        try:
            self.sim.verify_assertion(assertion)
        except AuthFail as e:
            iss = "?"
            try:
                iss = json.loads(b64u_dec(assertion.split(".")[1])).get("iss", "?")
            except (ValueError, IndexError, AttributeError, UnicodeDecodeError):
                pass
            self.sim.note("authority: assertion refused: %s" % e)
            return self.aad(401, "invalid_client", 700211,
                            "No matching federated identity record found for presented "
                            "assertion issuer '%s'. Please note that the matching is done "
                            "using a case-sensitive comparison. Check your federated identity "
                            "credential Subject, Audience and Issuer against the presented "
                            "assertion. (simulator: %s)" % (iss, e))
        resource = scope[:-len("/.default")]
        with self.sim.lock:
            lifetime = min(int(self.sim.settings["token_lifetime"]), AUTHORITY_MAX_LIFETIME)
        token, claims = self.sim.mint(ident, resource, lifetime)
        self.respond(200, jdump({"token_type": "Bearer", "expires_in": lifetime,
                                 "ext_expires_in": lifetime, "access_token": token}))


# ---------------------------------------------------------------- fake PAM

CAS_LOGIN_PAGE = ("<!DOCTYPE html>\n<html><head><title>CAS - Central Authentication Service"
                  "</title></head><body><form method=\"post\" id=\"fm1\" action=\"login\">"
                  "<input id=\"username\" name=\"username\"><input id=\"password\" "
                  "name=\"password\" type=\"password\"><input type=\"hidden\" "
                  "name=\"execution\" value=\"e1s1\"></form></body></html>\n")


class PamHandler(Base):
    """XTAM under /xtam: POST /landing (azure=<JWT>), GET /, and /rest/...;
    the CAS REST ticket flow under /cas."""
    target = "pam"

    def cookies(self, name):
        out = []
        for h in self.headers.get_all("Cookie") or []:
            for part in h.split(";"):
                k, sep, v = part.strip().partition("=")
                if sep and k == name:
                    out.append(v.strip().strip('"'))
        return out

    def form(self, body):
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            return {}
        out = {}
        for k, v in urllib.parse.parse_qsl(body.decode("utf-8", errors="replace"),
                                           keep_blank_values=True):
            out.setdefault(k, v)
        return out

    def route(self, path, query, body):
        if path == "/cas" or path.startswith("/cas/"):
            if not self.sim.cas_enabled():
                return self.respond(404, PAM_404)
            return self.cas(path[len("/cas"):], body)
        if path == "/xtam":
            ticket = self.ticket(query)
            if ticket is not None and self.command in ("GET", "HEAD"):
                return self.service_validate(ticket)
            return self.respond(302, b"", None, [("Location", "/xtam/")])
        if not path.startswith("/xtam/"):
            return self.respond(404, PAM_404)
        sub = path[len("/xtam"):]
        if sub == "/":
            if self.command not in ("GET", "HEAD"):
                return self.respond(405, self.default_error_body(405))
            ticket = self.ticket(query)
            if ticket is not None:
                return self.service_validate(ticket)
            return self.respond(200, "<!DOCTYPE html>\n<html><head><title>XTAM</title></head>"
                                "<body><h1>XTAM (pamsh simulator)</h1></body></html>\n",
                                "text/html;charset=UTF-8")
        if sub == "/landing":
            return self.landing(body)
        if sub.startswith("/rest/"):
            return self.rest(sub[len("/rest/"):], body)
        return self.respond(404, PAM_404)

    # -- CAS REST ticket flow
    def origin(self):
        host, port = self.server.server_address[:2]
        return "%s://%s:%d" % ("https" if self.sim.pam_secure else "http", host, port)

    def service_url(self):
        """The service URL a ticket for this server's /xtam/ must name."""
        return self.origin() + "/xtam/"

    def service_ok(self, service):
        """service names this server's /xtam/ (by its address or localhost),
        with or without the trailing slash."""
        host, port = self.server.server_address[:2]
        scheme = "https" if self.sim.pam_secure else "http"
        if not service.endswith("/"):
            service += "/"
        return service in ("%s://%s:%d/xtam/" % (scheme, h, port) for h in (host, "localhost"))

    def ticket(self, query):
        """The ticket query parameter (first one), or None: absent, or the
        CAS module is off (then XTAM ignores it)."""
        if not query or not self.sim.cas_enabled():
            return None
        for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True):
            if k == "ticket":
                return v
        return None

    def cas_form(self, body):
        """The form (first value of each name), or None when the body is
        not application/x-www-form-urlencoded."""
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            return None
        return self.form(body)

    def cas(self, sub, body):
        m = self.command
        if sub == "/login":
            if m not in ("GET", "HEAD"):
                return self.respond(405, self.default_error_body(405), headers=[("Allow", "GET")])
            return self.respond(200, CAS_LOGIN_PAGE, "text/html;charset=UTF-8")
        if sub == "/v1/tickets":
            if m != "POST":
                return self.respond(405, self.default_error_body(405), headers=[("Allow", "POST")])
            return self.cas_tgt(body)
        if sub.startswith("/v1/tickets/") and sub.count("/") == 3:
            tgt = urllib.parse.unquote(sub[len("/v1/tickets/"):])
            if m == "DELETE":
                self.sim.cas_delete_tgt(tgt)
                return self.respond(200, tgt, "text/plain;charset=UTF-8")
            if m != "POST":
                return self.respond(405, self.default_error_body(405),
                                    headers=[("Allow", "POST, DELETE")])
            return self.cas_st(tgt, body)
        return self.respond(404, PAM_404)

    def cas_tgt(self, body):
        f = self.cas_form(body)
        if f is None:
            return self.respond(415, self.default_error_body(415))
        user, pw, token = f.get("username"), f.get("password"), f.get("token")
        if token is not None and (user is not None or pw is not None):
            return self.bad("send either username and password, or token")
        if token is None and not user:
            return self.bad("username and password (or token) are required")
        if token is None and not pw:
            return self.bad("password is required")
        if token is not None and not token:
            return self.bad("token is empty")
        try:
            principal, identity = self.sim.cas_authenticate(user, pw, token)
        except AuthFail as e:
            self.sim.note("pam: CAS login refused: %s" % e)
            return self.respond(401, jdump({"error": "authentication failed"}))
        tgt = self.sim.cas_new_tgt(principal, identity)
        loc = "%s/cas/v1/tickets/%s" % (self.origin(), tgt)
        self.sim.note("pam: CAS TGT for %s (identity %s)" % (principal, identity))
        self.respond(201, '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN"><html><head>'
                     '<title>201 Created</title></head><body><h1>TGT Created</h1><form '
                     'action="%s" method="POST">Service:<input type="text" name="service" '
                     'value=""><br><input type="submit" value="Submit"></form></body></html>'
                     % loc, "text/html;charset=UTF-8", [("Location", loc)])

    def cas_st(self, tgt, body):
        with self.sim.lock:
            known = self.sim.cas_live_tgt(tgt) is not None
        if not known:
            return self.respond(404, PAM_404)
        f = self.cas_form(body)
        if f is None:
            return self.respond(415, self.default_error_body(415))
        service = f.get("service", "")
        if not service:
            return self.bad("service is required")
        st = self.sim.cas_new_st(tgt, service)
        if st is None:
            return self.respond(404, PAM_404)
        self.respond(200, st, "text/plain;charset=UTF-8")

    def service_validate(self, ticket):
        """GET <service>?ticket=ST: a session, or back to the CAS login."""
        sim = self.sim
        st, why = sim.cas_take_st(ticket)
        if st is not None and not self.service_ok(st["service"]):
            st, why = None, "service ticket issued for %s" % st["service"]
        if st is None:
            sim.note("pam: CAS service ticket refused: %s" % why)
            login = "%s/cas/login?service=%s" % (
                self.origin(), urllib.parse.quote(self.service_url(), safe=""))
            return self.respond(302, b"", None, [("Location", login)])
        ident = sim.identity_by_name(st["identity"])
        sid, xsrf = sim.new_session(ident["object_id"], ident["client_id"], "cas",
                                    st["principal"])
        self.session_redirect(sid, xsrf)

    def session_redirect(self, sid, xsrf):
        secure = "; Secure" if self.sim.pam_secure else ""
        self.respond(302, b"", None, [
            ("Location", "/xtam/"),
            ("Set-Cookie", "JSESSIONID=%s; Path=/xtam%s; HttpOnly" % (sid, secure)),
            ("Set-Cookie", "XSRF-TOKEN=%s; Path=/xtam" % xsrf),
        ])

    def landing(self, body):
        if self.command != "POST":
            return self.respond(405, self.default_error_body(405))
        token = self.form(body).get("azure", "")
        try:
            if not token:
                raise AuthFail("missing azure parameter")
            claims = self.sim.verify(token)
        except AuthFail as e:
            self.sim.note("pam: landing refused: %s" % e)
            return self.respond(401, jdump({"error": "Azure authentication failed: %s" % e}))
        sid, xsrf = self.sim.new_session(claims["oid"], claims.get("appid"))
        self.session_redirect(sid, xsrf)

    def rest(self, sub, body):
        sess = self.sim.get_session(self.cookies("JSESSIONID"))
        if sess is None:
            return self.respond(401, PAM_401)
        m = self.command
        if m not in ("GET", "HEAD"):
            got = self.headers.get("X-XSRF-TOKEN")
            if got is None or not hmac.compare_digest(got.encode(), sess["xsrf"].encode()):
                return self.respond(403, PAM_403_CSRF)
        seg = [urllib.parse.unquote(s) for s in sub.split("/")]
        if m in ("GET", "HEAD") and len(seg) == 3 and seg[:2] == ["folder", "list"]:
            return self.folder_list(seg[2])
        if m in ("GET", "HEAD") and len(seg) == 3 and seg[:2] == ["record", "unlock"]:
            return self.unlock(seg[2], sess)
        if m == "POST" and len(seg) == 4 and seg[:2] == ["record", "new"]:
            return self.record_new(seg[2], seg[3], body, sess)
        if m == "POST" and len(seg) == 3 and seg[:2] == ["folder", "create"]:
            return self.folder_create(seg[2], body)
        if m == "PUT" and len(seg) == 3 and seg[:2] == ["folder", "update"]:
            return self.folder_update(seg[2], body)
        if m == "DELETE" and len(seg) == 3 and seg[:2] == ["record", "delete"]:
            return self.record_delete(seg[2], sess)
        return self.respond(404, PAM_404)

    def bad(self, msg):
        return self.respond(400, jdump({"error": "HTTP 400 Bad Request", "message": msg}))

    def fault_error_body(self, status):
        return {401: PAM_401, 404: PAM_404}.get(status) or self.default_error_body(status)

    def folder_list(self, fid):
        sim = self.sim
        with sim.lock:
            if fid not in sim.folders:
                out = None
            else:
                out = self._listing(fid)
        if out is None:
            return self.respond(404, PAM_404)
        self.respond(200, jdump(out))

    def _listing(self, fid):
        """Sub-folders first, then records; caller holds the lock."""
        sim = self.sim
        out = [{"id": f["id"], "name": f["name"], "recordType": {"name": "Folder"},
                "folder": True}
               for f in sim.folders.values() if str(f.get("parent")) == fid]
        for r in sim.records.values():
            if str(r["folder"]) == fid:
                t = sim.types.get(str(r["type"]), {"name": "Unknown"})
                out.append({"id": r["id"], "name": r["name"],
                            "recordType": {"name": t["name"]}})
        return out

    def unlock(self, rid, sess):
        sim = self.sim
        with sim.lock:
            r = sim.records.get(rid)
            permitted = r is not None and sess["oid"] in r["permitted"]
            out = sim.record_json(r) if permitted else None
        if r is None:
            return self.respond(404, PAM_404)
        if not permitted:
            sim.note("pam: unlock %s refused for oid %s" % (rid, sess["oid"]))
            return self.respond(401, PAM_401)
        self.respond(200, jdump(out))

    def record_new(self, fid, tid, body, sess):
        sim = self.sim
        with sim.lock:
            known = fid in sim.folders and tid in sim.types
        if not known:
            return self.respond(404, PAM_404)
        f = self.form(body)
        name = f.get("name", "").strip()
        if not name:
            return self.bad("name is required")
        try:
            custom = json.loads(f.get("custom", "{}"))
        except ValueError:
            return self.bad("custom is not valid JSON")
        if not isinstance(custom, dict):
            return self.bad("custom must be a JSON object")
        r = {"id": sim.alloc_id(), "name": name, "description": f.get("description", ""),
             "type": sim.types[tid]["id"], "folder": sim.folders[fid]["id"],
             "custom": custom, "permitted": {sess["oid"]}}
        with sim.lock:
            sim.records[str(r["id"])] = r
            out = sim.record_json(r)
        self.respond(200, jdump(out))

    def folder_update(self, fid, body):
        """PUT /rest/folder/update/ID, JSON {name, description} (either may
        be left out) -> the folder as it is now."""
        sim = self.sim
        ok, d = self.folder_json(fid, body)
        if not ok:
            return None
        if not isinstance(d, dict) or ("name" in d and (not isinstance(d["name"], str)
                                                        or not d["name"].strip())):
            return self.bad("name must be a non-empty string")
        with sim.lock:
            fo = sim.folders[fid]
            if "name" in d:
                fo["name"] = d["name"]
            if "description" in d:
                fo["description"] = str(d["description"] or "")
            out = {"id": fo["id"], "name": fo["name"], "description": fo.get("description", "")}
        self.respond(200, jdump(out))

    def record_delete(self, rid, sess):
        """DELETE /rest/record/delete/ID -> 204; 401 without permission."""
        sim = self.sim
        with sim.lock:
            r = sim.records.get(rid)
            permitted = r is not None and sess["oid"] in r["permitted"]
            if permitted:
                del sim.records[rid]
        if r is None:
            return self.respond(404, PAM_404)
        if not permitted:
            return self.respond(401, PAM_401)
        self.respond(204)

    def folder_json(self, fid, body):
        """(True, the decoded JSON body) of a call on folder fid, or (False,
        None) once 404 (no such folder), 415 (not JSON) or 400 (does not
        parse) is sent."""
        sim = self.sim
        with sim.lock:
            known = fid in sim.folders
        if not known:
            self.respond(404, PAM_404)
            return False, None
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            self.respond(415, self.default_error_body(415))
            return False, None
        try:
            return True, json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            self.bad("body is not valid JSON")
            return False, None

    def folder_create(self, pid, body):
        sim = self.sim
        ok, d = self.folder_json(pid, body)
        if not ok:
            return None
        if not isinstance(d, dict) or not isinstance(d.get("name"), str) or not d["name"].strip():
            return self.bad("name is required")
        desc = d.get("description") or ""
        fo = {"id": sim.alloc_id(), "name": d["name"], "description": str(desc),
              "parent": sim.folders[pid]["id"]}
        with sim.lock:
            sim.folders[str(fo["id"])] = fo
        self.respond(200, jdump({"id": fo["id"], "name": fo["name"],
                                 "description": fo["description"]}))


# ---------------------------------------------------------------- control

class ControlHandler(Base):
    """POST /control {"action": fault|clear|expire|reset-log|set|mint|rotate},
    GET /log, /health, /state, /data, /inflight."""
    target = "control"
    logged = False

    def ok(self, **kw):
        kw["ok"] = True
        self.respond(200, jdump(kw))

    def route(self, path, query, body):
        sim = self.sim
        if self.command in ("GET", "HEAD"):
            if path == "/health":
                return self.ok()
            if path == "/log":
                with sim.lock:
                    text = jdump(sim.log)
                return self.respond(200, text)
            if path == "/state":
                with sim.lock:
                    text = jdump({"settings": sim.settings, "faults": sim.faults,
                                  "sessions": len(sim.sessions),
                                  "secrets": sim.secrets,
                                  "arc_keys": len(sim.arc_keys),
                                  "cas_tgts": len(sim.tgts), "cas_sts": len(sim.sts),
                                  "federated_token_file": sim.fed_file})
                return self.respond(200, text)
            if path == "/inflight":
                with sim.lock:
                    text = jdump(sim.flight)
                return self.respond(200, text)
            if path == "/data":
                return self.respond(200, jdump(sim.data_dump()))
            return self.respond(404, jdump({"error": "no such control path"}))
        if self.command != "POST" or path != "/control":
            return self.respond(404, jdump({"error": "no such control path"}))
        try:
            req = json.loads(body.decode("utf-8"))
            if not isinstance(req, dict):
                raise ValueError("body must be a JSON object")
            action = req.pop("action", None)
            if action == "fault":
                return self.ok(fault=sim.add_fault(req))
            if action == "clear":
                with sim.lock:
                    t = req.get("target")
                    sim.faults[:] = [f for f in sim.faults if t and f["target"] != t]
                return self.ok()
            if action == "expire":
                with sim.lock:
                    n = len(sim.sessions)
                    sim.sessions.clear()
                    m = len(sim.tgts) + len(sim.sts)
                    sim.tgts.clear()
                    sim.sts.clear()
                return self.ok(expired=n, cas_tickets=m)
            if action == "reset-log":
                with sim.lock:
                    sim.log.clear()
                    sim.reset_flight()
                return self.ok()
            if action == "set":
                return self.do_set(req)
            if action == "mint":
                return self.do_mint(req)
            if action == "rotate":
                return self.ok(target=req.get("target"),
                               value=sim.rotate(str(req.get("target"))))
            raise ValueError("unknown action %r (fault, clear, expire, reset-log, set, mint, "
                             "rotate)" % (action,))
        except (ValueError, TypeError, KeyError, UnicodeDecodeError) as e:
            return self.respond(400, jdump({"error": str(e)}))

    def do_set(self, req):
        if not req:
            raise ValueError("set: nothing to set (keys: %s)" % ", ".join(SET_KEYS))
        new = {}
        for k, v in req.items():
            if k == "token_lifetime":
                new[k] = int(v)
            elif k == "session_ttl":
                new[k] = float(v)
            elif k in ("cas_st_ttl", "cas_tgt_ttl"):
                new[k] = float(v)
            elif k in ("system_assigned", "user_assigned", "cas"):
                new[k] = as_bool(v)
            elif k == "resource":
                new[k] = str(v)
            elif k in ("imds_aud", "arc_realm"):
                new[k] = "" if v is None else str(v)
            elif k == "imds_skew":
                new[k] = int(v)
            else:
                raise ValueError("set: unknown key %r (keys: %s)" % (k, ", ".join(SET_KEYS)))
        with self.sim.lock:
            self.sim.settings.update(new)
            settings = dict(self.sim.settings)
        self.ok(settings=settings)

    def do_mint(self, req):
        sim = self.sim
        ident = sim.identity_by_name(str(req.get("identity", "system")))
        with sim.lock:
            resource = str(req.get("resource", sim.settings["resource"]))
            lifetime = int(req.get("lifetime", sim.settings["token_lifetime"]))
        claims = req.get("claims") or {}
        if not isinstance(claims, dict):
            raise ValueError("claims must be an object")
        token, claims = sim.mint(ident, resource, lifetime, claims)
        if req.get("bad_signature"):
            token = token[:-4] + ("AAAA" if token[-4:] != "AAAA" else "BBBB")
        self.ok(token=token, claims=claims)


# ---------------------------------------------------------------- main

def write_state(path, values):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        for k, v in values:
            f.write("%s=%s\n" % (k, shlex.quote(str(v))))
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description="pamsh test simulator (loopback only)")
    ap.add_argument("--dir", required=True)
    ap.add_argument("--resource", default=DEFAULT_RESOURCE)
    ap.add_argument("--token-lifetime", type=int, default=DEFAULT_TOKEN_LIFETIME)
    ap.add_argument("--session-ttl", type=float, default=DEFAULT_SESSION_TTL)
    ap.add_argument("--imds-bind", default="127.0.0.1:0")
    ap.add_argument("--pam-bind", default="127.0.0.1:0")
    ap.add_argument("--pam-http", action="store_true")
    ap.add_argument("--pam-cert", choices=PAM_CERTS, default="server",
                    help="the PAM server's certificate: server (default), expired "
                         "(signed by the test CA, expired yesterday), otherhost "
                         "(signed by the test CA, only for DNS:pam.other.test)")
    ap.add_argument("--data", default=os.path.join(HERE, "data.json"))
    ap.add_argument("--arc-key-dir", default=None,
                    help="where Arc challenges put key files (default DIR/arc-tokens)")
    ap.add_argument("--no-watch-parent", dest="watch_parent", action="store_false",
                    help="keep running when the parent process exits")
    args = ap.parse_args()

    args.dir = os.path.abspath(args.dir)
    imds_addr = parse_bind(args.imds_bind, "--imds-bind", True)
    pam_addr = parse_bind(args.pam_bind, "--pam-bind", False)
    os.makedirs(args.dir, exist_ok=True)
    state = os.path.join(args.dir, "state")
    try:
        os.unlink(state)
    except FileNotFoundError:
        pass
    make_certs(args.dir)
    args.arc_key_dir = os.path.abspath(args.arc_key_dir or
                                       os.path.join(args.dir, "arc-tokens"))
    if not os.path.isdir(args.arc_key_dir):
        os.makedirs(args.arc_key_dir, mode=0o700)
        os.chmod(args.arc_key_dir, 0o700)

    sim = Sim(args)
    sim.write_federated()
    srv_ctx = server_context(args.dir, "server")
    imds = Server(imds_addr, ImdsHandler, sim)
    pam_cert = make_pam_cert(args.dir, args.pam_cert)
    pam_ctx = srv_ctx if pam_cert == "server" else server_context(args.dir, pam_cert)
    pam = Server(pam_addr, PamHandler, sim, None if args.pam_http else pam_ctx)
    ctl = Server(("127.0.0.1", 0), ControlHandler, sim)
    lo = ("127.0.0.1", 0)
    appsvc = Server(lo, AppServiceHandler, sim)
    appsvc17 = Server(lo, AppService2017Handler, sim)
    arc = Server(lo, ArcHandler, sim)
    cshell = Server(lo, CloudShellHandler, sim)
    sf = Server(lo, ServiceFabricHandler, sim, server_context(args.dir, "sf"))
    authority = Server(lo, AuthorityHandler, sim, srv_ctx)
    for srv in (imds, pam, ctl, appsvc, appsvc17, arc, cshell, sf, authority):
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.25},
                         daemon=True).start()

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())

    def host(srv):
        return srv.server_address[0], srv.server_address[1]

    write_state(state, [
        ("SIM_IMDS_URL", "http://%s:%d" % host(imds)),
        ("SIM_PAM_URL", "%s://%s:%d/xtam" % (("http" if args.pam_http else "https",)
                                              + host(pam))),
        ("SIM_CONTROL_URL", "http://%s:%d" % host(ctl)),
        ("SIM_CA", os.path.join(args.dir, "ca.pem")),
        ("SIM_WRONG_CA", os.path.join(args.dir, "wrong-ca.pem")),
        ("SIM_RESOURCE", args.resource),
        ("SIM_PID", os.getpid()),
        ("SIM_DIR", args.dir),
        ("SIM_APPSERVICE_URL", "http://%s:%d" % host(appsvc) + APPSERVICE_PATH),
        ("SIM_APPSERVICE_HEADER", sim.secrets["appservice"]),
        ("SIM_APPSERVICE2017_URL", "http://%s:%d" % host(appsvc17) + APPSERVICE2017_PATH),
        ("SIM_MSI_SECRET", sim.secrets["appservice2017"]),
        ("SIM_ARC_URL", "http://%s:%d" % host(arc) + ARC_PATH),
        ("SIM_ARC_KEY_DIR", args.arc_key_dir),
        ("SIM_CLOUDSHELL_URL", "http://%s:%d" % host(cshell) + CLOUDSHELL_PATH),
        ("SIM_SF_URL", "https://%s:%d" % host(sf) + SF_PATH),
        ("SIM_SF_THUMBPRINT", cert_thumbprint(os.path.join(args.dir, "sf.pem"))),
        ("SIM_SF_SECRET", sim.secrets["servicefabric"]),
        ("SIM_AUTHORITY_URL", "https://%s:%d" % host(authority)),
        ("SIM_TENANT", sim.tenant),
        ("SIM_FEDERATED_TOKEN_FILE", sim.fed_file),
        ("SIM_CAS_USER", sim.cas_first_user.get("username", "")),
        ("SIM_CAS_PASSWORD", sim.cas_first_user.get("password", "")),
        ("SIM_CAS_API_TOKEN", sim.cas_first_token),
        ("SIM_PAM_CERT", os.path.join(args.dir, pam_cert + ".pem")),
    ])
    sim.note("started pid %d imds %s pam %s control %s" % (os.getpid(), host(imds),
                                                           host(pam), host(ctl)))
    sim.note("appservice %s appservice2017 %s arc %s cloudshell %s servicefabric %s "
             "authority %s" % tuple(host(x) for x in (appsvc, appsvc17, arc, cshell, sf,
                                                       authority)))
    parent = os.getppid()
    while not stop.wait(0.25):
        if args.watch_parent and os.getppid() != parent:
            sim.note("parent %d went away" % parent)
            break
    try:
        os.unlink(state)
    except OSError:
        pass
    sim.note("stopping")
    try:
        sim.logf.flush()
    except (OSError, ValueError):
        pass
    os._exit(0)


if __name__ == "__main__":
    main()
