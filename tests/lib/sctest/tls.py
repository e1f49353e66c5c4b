"""Self-signed certificates for TLS tests (openssl from Debian)."""
import os
import ssl
import subprocess


def self_signed(directory, name="cert", san="IP:127.0.0.1", cn=None):
    """Writes DIRECTORY/NAME.pem and NAME-key.pem: a P-256 certificate valid for a day
    for the subjectAltName san (default IP:127.0.0.1; CN is its value unless given).
    Returns (cert path, key path, an ssl.SSLContext that trusts it)."""
    cert = os.path.join(directory, f"{name}.pem")
    key = os.path.join(directory, f"{name}-key.pem")
    cn = cn or san.split(":", 1)[1]
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "1", "-subj", f"/CN={cn}", "-addext", f"subjectAltName={san}"],
                   check=True, capture_output=True, timeout=60)
    return cert, key, ssl.create_default_context(cafile=cert)
