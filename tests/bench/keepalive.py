"""tests/bench/keepalive.py N HOST PORT CACERT COOKIE PATH_PREFIX - what
people write otherwise: Python's standard library, one HTTPS keep-alive
connection, N GET requests with the session cookie, each answer read and
decoded.  The first request (outside the timed part) opens the connection;
bench.py times from "ready" to "done"."""
import http.client
import json
import ssl
import sys

n, host, port, cafile, cookie, prefix = sys.argv[1:7]
n, port = int(n), int(port)
ctx = ssl.create_default_context(cafile=cafile)
conn = http.client.HTTPSConnection(host, port, context=ctx, timeout=30)
headers = {"Cookie": cookie, "Accept": "application/json"}


def get(i):
    conn.request("GET", "%s%d" % (prefix, i), headers=headers)
    r = conn.getresponse()
    body = r.read()
    return r.status == 200 and "id" in json.loads(body)


get(0)
print("ready", flush=True)
good = 0
for i in range(1, n + 1):
    if get(i):
        good += 1
print("done", good, flush=True)
conn.close()
