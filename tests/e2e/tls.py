"""tls.py - throw-away certificates for the TLS tests (STARTTLS, implicit TLS).

make_pki(DIR) writes, with the `openssl` command line tool (no Python
package needed), a private test CA and certificates signed by it:

  ca.pem, ca.key          the test CA (EC P-256, CA:TRUE, 10 years); trust
                          ca.pem to verify the servers (harness --tls-ca)
  cert.pem, key.pem       the server certificate: CN postfix.smtpconform.test,
                          subjectAltName for every name in SERVER_NAMES (the
                          test servers' names, localhost, 127.0.0.1, ::1)
  wrong-name-cert.pem,    a certificate from the same CA for a name no server
  wrong-name-key.pem      uses (wrong-name.smtpconform.test): a server
                          presenting it fails host name verification
  other-ca.pem            a second CA that signed nothing here: verifying
                          against it fails with "unable to get local issuer"

Keys are unencrypted and mode 0600. Nothing is ever written outside DIR;
conftest.py's session fixture `tls_pki` calls make_pki() once per test
session in pytest's temporary directory.

Usage outside pytest:

    /usr/bin/python3 tests/e2e/tls.py DIR      # writes the files, prints their paths
"""

import os
import shutil
import ssl
import subprocess
import sys
from pathlib import Path

SERVER_CN = "postfix.smtpconform.test"
SERVER_NAMES = (
    "postfix.smtpconform.test",
    "aiosmtpd.smtpconform.test",
    "opensmtpd.smtpconform.test",
    "fixture.smtpconform.test",
    "localhost",
    "127.0.0.1",
    "::1",
)
WRONG_NAME = "wrong-name.smtpconform.test"
DAYS_CA = 3650
DAYS_LEAF = 825  # the most any TLS client accepts for a leaf certificate


class PKIError(RuntimeError):
    """openssl failed (the message holds its output)."""


class TestPKI:
    """Paths of one generated set of certificates (all absolute Paths)."""

    __test__ = False  # not a pytest test class

    def __init__(self, directory):
        d = Path(directory).resolve()
        self.dir = d
        self.ca_file = d / "ca.pem"
        self.ca_key_file = d / "ca.key"
        self.cert_file = d / "cert.pem"
        self.key_file = d / "key.pem"
        self.wrong_name_cert_file = d / "wrong-name-cert.pem"
        self.wrong_name_key_file = d / "wrong-name-key.pem"
        self.other_ca_file = d / "other-ca.pem"
        self.names = SERVER_NAMES

    def client_context(self, verify=True):
        """An ssl.SSLContext for a test client: trusts ca.pem and checks
        host names (verify=True), or verifies nothing (verify=False)."""
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(self.ca_file))
        if not verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def __repr__(self):
        return "<TestPKI %s>" % self.dir


def _openssl(args, cwd):
    exe = shutil.which("openssl", path="/usr/bin:/bin:/usr/local/bin")
    if exe is None:
        raise PKIError("the openssl command is not installed (apt-get install openssl)")
    res = subprocess.run([exe] + list(args), cwd=str(cwd), stdin=subprocess.DEVNULL,
                         capture_output=True, text=True, timeout=60,
                         env={"PATH": "/usr/bin:/bin", "LANG": "C"})
    if res.returncode != 0:
        raise PKIError("openssl %s failed (%d): %s" % (" ".join(args), res.returncode,
                                                       (res.stdout + res.stderr).strip()))
    return res


def _san(names):
    out = []
    for n in names:
        out.append(("IP:%s" if ":" in n or n.replace(".", "").isdigit() else "DNS:%s") % n)
    return ",".join(out)


def _new_ca(d, stem, cn):
    _openssl(["req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
              "-nodes", "-keyout", stem + ".key", "-out", stem + ".pem", "-days", str(DAYS_CA),
              "-subj", "/O=smtpconform tests/CN=%s" % cn,
              "-addext", "basicConstraints=critical,CA:TRUE",
              "-addext", "keyUsage=critical,keyCertSign,cRLSign",
              "-addext", "subjectKeyIdentifier=hash"], d)


def _new_leaf(d, cert, key, cn, names, serial):
    csr = d / (cert + ".csr")
    ext = d / (cert + ".ext")
    ext.write_text("basicConstraints=critical,CA:FALSE\n"
                   "keyUsage=critical,digitalSignature\n"
                   "extendedKeyUsage=serverAuth\n"
                   "subjectKeyIdentifier=hash\n"
                   "authorityKeyIdentifier=keyid:always\n"
                   "subjectAltName=%s\n" % _san(names))
    _openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
              "-nodes", "-keyout", key, "-out", csr.name,
              "-subj", "/O=smtpconform tests/CN=%s" % cn], d)
    _openssl(["x509", "-req", "-in", csr.name, "-CA", "ca.pem", "-CAkey", "ca.key",
              "-set_serial", str(serial), "-days", str(DAYS_LEAF), "-sha256",
              "-extfile", ext.name, "-out", cert], d)
    csr.unlink()
    ext.unlink()


def make_pki(directory, names=SERVER_NAMES):
    """Writes the CA and certificates into DIRECTORY (created if needed);
    returns a TestPKI. Takes about 0.1 s."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    pki = TestPKI(d)
    pki.names = tuple(names)
    old_umask = os.umask(0o077)
    try:
        _new_ca(d, "ca", "smtpconform test CA")
        _new_leaf(d, "cert.pem", "key.pem", SERVER_CN, names, 2)
        _new_leaf(d, "wrong-name-cert.pem", "wrong-name-key.pem", WRONG_NAME, [WRONG_NAME], 3)
        _new_ca(d, "other-ca", "smtpconform other test CA (signed nothing)")
        (d / "other-ca.key").unlink()
    finally:
        os.umask(old_umask)
    # Certificates are public; keys stay 0600.
    for p in (pki.ca_file, pki.cert_file, pki.wrong_name_cert_file, pki.other_ca_file):
        os.chmod(p, 0o644)
    os.chmod(d, 0o755)
    return pki


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: %s DIR\n" % argv[0])
        return 2
    pki = make_pki(argv[1])
    for attr in ("ca_file", "cert_file", "key_file", "wrong_name_cert_file",
                 "wrong_name_key_file", "other_ca_file"):
        print("%-22s %s" % (attr, getattr(pki, attr)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
