"""A small service for the deploy-hook test: writes its pid, appends a line to reloads.log on
every SIGHUP (what a hook's reload does), exits on SIGTERM. Usage: service.py DIR"""
import os
import signal
import sys
import time

directory = sys.argv[1]


def reload(signum, frame):
    with open(os.path.join(directory, "reloads.log"), "a") as log:
        log.write("reload %f\n" % time.time())


signal.signal(signal.SIGHUP, reload)
signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
with open(os.path.join(directory, "service.pid"), "w") as pid:
    pid.write("%d\n" % os.getpid())
deadline = time.time() + 3600  # never outlives a forgotten test by long
while time.time() < deadline:
    signal.pause()
