"""/metrics of a relay (Prometheus text format 0.0.4)."""
import http.client
import re

from .errors import check

CONTENT_TYPE = "text/plain; version=0.0.4"


def parse(text):
    """{series: value} of a Prometheus text body; a series keeps its labels as written
    ('saltchat_relay_closed_total{reason="peer"}'). Values that are whole numbers are
    ints, others floats; comments and blank lines are skipped."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            try:
                out[name] = int(value)
            except ValueError:
                out[name] = float(value)
    return out


def label(text, series, name):
    """The value of label `name` on the first sample of `series` in text, or None
    (e.g. label(t, "saltchat_relay_cluster_info", "instance"))."""
    m = re.search(r"^%s\{[^}]*\b%s=\"([^\"]*)\"" % (re.escape(series), re.escape(name)),
                  text, re.M)
    return m.group(1) if m else None


def get(port, path, host="127.0.0.1", tls=None, timeout=10.0, method="GET", headers=None,
        body=None):
    """One HTTP request to host:port (https with tls, an ssl.SSLContext); returns
    (status, {lower-case header: value}, body bytes). Socket errors propagate."""
    if tls:
        conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=tls)
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()


def scrape_text(port, host="127.0.0.1", tls=None, timeout=10.0):
    """The body of GET /metrics (str). TestFailure unless it answers 200 with the
    Prometheus content type."""
    status, headers, body = get(port, "/metrics", host, tls, timeout)
    check(status == 200, "/metrics answers 200, got %d" % status)
    check(headers.get("content-type", "").startswith(CONTENT_TYPE),
          "Prometheus text content type, got %r" % headers.get("content-type"))
    return body.decode()


def scrape(port, host="127.0.0.1", tls=None, timeout=10.0):
    """parse(scrape_text(...)): the relay's metrics as {series: value}."""
    return parse(scrape_text(port, host, tls, timeout))
