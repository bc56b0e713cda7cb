#!/usr/bin/env python3
# ptydrive.py OUTDIR PROGRAM ARGS... < STEPS runs PROGRAM on a pseudo-terminal and
# follows the steps, one a line:
#   send TEXT      write TEXT (Python escapes: \r \t \x03 \\ ...)
#   expect REGEX   wait (up to $PTY_TIMEOUT s, default 10) for REGEX in the
#                  output after the previous match; a miss is logged
#   sleep SEC
#   cut NAME       write the output since the previous cut to OUTDIR/NAME
#   time NAME      write the seconds since the last send to OUTDIR/NAME
#   sh COMMAND     run COMMAND with bash
#   signal NAME    send SIGNAME to the program
#   wait           wait for the program to exit; OUTDIR/exit gets its status
# OUTDIR/log gets the whole transcript (carriage returns removed) and the
# expectations that were missed.
import os, pty, re, select, signal, subprocess, sys, time
outdir, argv = sys.argv[1], sys.argv[2:]
timeout = float(os.environ.get("PTY_TIMEOUT", "10"))
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
buf, pos, cutpos, sent, eof, misses = "", 0, 0, time.time(), False, []

def pump(t):
    global buf, eof
    if eof:
        time.sleep(t)
        return
    r, _, _ = select.select([fd], [], [], t)
    if r:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            chunk = b""
        if not chunk:
            eof = True
        buf += chunk.decode("utf-8", "replace").replace("\r", "")

def put(name, text):
    with open(os.path.join(outdir, name), "w") as f:
        f.write(text)

for raw in sys.stdin.read().splitlines():
    if not raw.strip() or raw.startswith("#"):
        continue
    cmd, _, arg = raw.partition(" ")
    if cmd == "send":
        os.write(fd, arg.encode("latin-1").decode("unicode_escape").encode("utf-8"))
        sent = time.time()
    elif cmd == "expect":
        rx, end = re.compile(arg), time.time() + timeout
        m = rx.search(buf, pos)
        while not m and time.time() < end and not eof:
            pump(0.05)
            m = rx.search(buf, pos)
        if m:
            pos = m.end()
        else:
            misses.append(arg)
    elif cmd == "sleep":
        end = time.time() + float(arg)
        while time.time() < end:
            pump(min(0.05, max(0, end - time.time())))
    elif cmd == "cut":
        pump(0.05)
        put(arg, buf[cutpos:])
        cutpos = len(buf)
    elif cmd == "time":
        put(arg, "%.2f" % (time.time() - sent))
    elif cmd == "sh":
        subprocess.run(["bash", "-c", arg], stdin=subprocess.DEVNULL)
    elif cmd == "signal":
        os.kill(pid, getattr(signal, "SIG" + arg))
    elif cmd == "wait":
        end, status = time.time() + timeout, None
        while time.time() < end:
            pump(0.05)
            p, st = os.waitpid(pid, os.WNOHANG)
            if p:
                status = st
                break
        if status is None:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            put("exit", "timeout")
        else:
            put("exit", str(os.waitstatus_to_exitcode(status)))
        pid = None
        end = time.time() + 2
        while not eof and time.time() < end:
            pump(0.05)
        break
if pid:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
with open(os.path.join(outdir, "log"), "w") as f:
    f.write(buf)
    for m in misses:
        f.write("\n### MISSED: expect %s" % m)
