"""Stand-in for pip's get-pip.py bootstrap script, used by ansible-test to put pip into the empty
virtual environments it creates for sanity tests. ansible-test downloads the real script from a
host outside the package registries, which is not reachable here; this one bootstraps pip from
Python's own ensurepip and then installs the requested versions from PyPI. ansible-test runs it
with a trimmed environment, so the machine's CA bundle is written into the venv's pip.conf."""
import ensurepip
import os
import subprocess
import sys

cert = []
for candidate in (os.environ.get("PIP_CERT"), os.environ.get("REQUESTS_CA_BUNDLE"),
                  os.environ.get("SSL_CERT_FILE"), "/etc/ssl/certs/ca-certificates.crt"):
    if candidate and os.path.isfile(candidate):
        with open(os.path.join(sys.prefix, "pip.conf"), "w") as handle:
            handle.write("[global]\ncert = %s\n" % candidate)
        cert = ["--cert", candidate]
        break

ensurepip.bootstrap(upgrade=True)
args = cert + [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + args))
