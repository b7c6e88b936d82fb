#!/usr/bin/env python3
"""neotec-generator: the NEOTEC deployment manifest of the live stack.

Asks phoenix-core (/health), n8n (/healthz) and Windmill (/api/version)
how they are and prints one JSON manifest (one line) on stdout: endpoints, HTTP
status, Windmill's version, and an overall status.  With -o FILE the
manifest is also written there (atomically).  Exits 1 when a service does
not answer 200.  Python 3 standard library only.

Endpoints: PHX_URL_CORE, PHX_URL_N8N, PHX_URL_WINDMILL (defaults: the
bundled stack's ports on localhost).
"""
import argparse
import datetime
import json
import os
import re
import sys
import tempfile
import urllib.error
import urllib.request

SERVICES = [
    ("phoenix-core", "PHX_URL_CORE", "http://localhost:8080", "/health"),
    ("n8n", "PHX_URL_N8N", "http://localhost:5678", "/healthz"),
    ("windmill", "PHX_URL_WINDMILL", "http://localhost:8000", "/api/version"),
]


def probe(url):
    req = urllib.request.Request(url, headers={"User-Agent": "neotec-generator/1"})
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            return res.status, res.read(65536).decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, ""
    except (urllib.error.URLError, OSError) as e:
        return 0, str(getattr(e, "reason", e))


def manifest():
    services = {}
    for name, var, default, path in SERVICES:
        url = os.environ.get(var, default).rstrip("/") + path
        status, body = probe(url)
        entry = {"url": url, "http_status": status, "up": status == 200}
        if name == "windmill" and status == 200:
            m = re.search(r"v\d[\w.-]*", body)
            entry["version"] = m.group(0) if m else body.strip()
        if status == 0:
            entry["error"] = body
        services[name] = entry
    return {
        "generator": "neotec",
        "generated_at": datetime.datetime.now(datetime.timezone.utc)
        .isoformat(timespec="seconds").replace("+00:00", "Z"),
        "status": "ready" if all(s["up"] for s in services.values()) else "degraded",
        "services": services,
    }


def write_atomic(path, text):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)))
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description="NEOTEC deployment manifest")
    ap.add_argument("-o", "--output", help="also write the manifest to FILE")
    args = ap.parse_args()
    m = manifest()
    text = json.dumps(m) + "\n"
    sys.stdout.write(text)
    if args.output:
        write_atomic(args.output, text)
    return 0 if m["status"] == "ready" else 1


if __name__ == "__main__":
    sys.exit(main())
