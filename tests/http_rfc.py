#!/usr/bin/env python3
"""http_rfc.py PORT - http_hello against RFC 9110/9112, as Python's
http.client sees it.  Prints "ok NAME" or "FAIL NAME: ..." per check;
exits 1 if any failed.  Run by tests/check_http.c."""
import http.client
import socket
import sys
import time

PORT = int(sys.argv[1])
failed = []


def conn():
    return http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)


def expect(name, got, want):
    if got != want:
        print("FAIL %s: got %r, want %r" % (name, got, want))
        failed.append(name)
    else:
        print("ok " + name)


def dated(name, resp):
    expect(name + " has Date", resp.getheader("Date") is not None, True)


# a plain GET: 200, Date, the body
c = conn()
c.request("GET", "/")
r = c.getresponse()
expect("get", (r.status, r.read()), (200, b"Hello, world!\n"))
dated("get", r)
c.close()

# HTTP/1.1 without Host: 400, with Date
c = conn()
c.putrequest("GET", "/", skip_host=True)
c.endheaders()
r = c.getresponse()
expect("no host", (r.status, r.read()), (400, b"Bad Request\n"))
dated("no host", r)
c.close()

# two Content-Length fields that disagree: 400
c = conn()
c.putrequest("POST", "/")
c.putheader("Content-Length", "1")
c.putheader("Content-Length", "2")
c.endheaders(b"ab")
r = c.getresponse()
expect("conflicting length", r.status, 400)
c.close()

# HTTP/2.0 in the request line: 505
c = conn()
c._http_vsn_str = "HTTP/2.0"
c.request("GET", "/")
r = c.getresponse()
expect("http/2.0", (r.status, r.read()),
       (505, b"HTTP Version Not Supported\n"))
dated("505", r)
c.close()

# a chunked body, then another request on the same connection
c = conn()
c.request("POST", "/", body=iter([b"abc", b"defgh"]), encode_chunked=True)
r = c.getresponse()
expect("chunked", (r.status, r.read()), (200, b"Hello, world!\n"))
sock = c.sock
c.request("GET", "/")
r = c.getresponse()
expect("after chunked", (r.status, r.read()), (200, b"Hello, world!\n"))
expect("same connection", c.sock is sock, True)
c.close()

# HTTP/0.9 "GET /": the body, and the connection closed, at once
s = socket.create_connection(("127.0.0.1", PORT), timeout=10)
t = time.monotonic()
s.sendall(b"GET /\r\n")
data = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    data += b
expect("http/0.9", data, b"Hello, world!\n")
expect("http/0.9 prompt", time.monotonic() - t < 3, True)
s.close()

# a head over 8 KiB: the 400 arrives whole, no reset
s = socket.create_connection(("127.0.0.1", PORT), timeout=10)
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 20000)
data = b""
try:
    while True:
        b = s.recv(4096)
        if not b:
            break
        data += b
except ConnectionResetError:
    data += b"<reset>"
expect("huge head", data.split(b"\r\n")[0], b"HTTP/1.1 400 Bad Request")
expect("huge head no reset", data.endswith(b"Bad Request\n"), True)
s.close()

sys.exit(1 if failed else 0)
