"""Headers, cookies and refusals as a real gunicorn serves them, in the production configuration,
with the repository's gunicorn.conf.py, behind one (pretend) reverse proxy."""
from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).parent / "gunicorn"
FLASK = Path(sys.executable).parent / "flask"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def production_env(tmp_path_factory):
    folder = tmp_path_factory.mktemp("prod")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TRAINING_", "SECRET_", "CERT_", "TEST_",
                                                                     "RATELIMIT_", "PUBLIC_", "DATABASE_"))}
    database = f"sqlite:///{folder}/prod.sqlite"
    setup = subprocess.run([str(FLASK), "--app", "training", "setup", "--demo"], cwd=ROOT, capture_output=True,
                           text=True, env={**base, "DATABASE_URL": database, "DEMO_PASSWORD": "Demo-pass-2026",
                                           "TRAINING_CONFIG": "development"}, timeout=300)
    assert setup.returncode == 0, setup.stderr[-2000:]
    sys.path.insert(0, str(ROOT))
    from certificates.signing import make_dev_identity

    make_dev_identity(str(folder / "org.p12"), "org-pass")
    env = {**base, "DATABASE_URL": database, "SECRET_KEY": "a" * 16 + "-production-secret-for-the-test",
           "CERT_P12_PATH": str(folder / "org.p12"), "CERT_P12_PASSPHRASE": "org-pass",
           "PUBLIC_BASE_URL": "https://congchucso.example.gov.vn", "TRUSTED_PROXIES": "1",
           "GUNICORN_KEEPALIVE_REQUESTS": "3"}
    if _redis_up():
        env["RATELIMIT_STORAGE_URI"] = "redis://127.0.0.1:6379/15"
    else:
        env["RATELIMIT_ALLOW_MEMORY"] = "1"
    return env


def _start(env: dict, port: int) -> subprocess.Popen:
    return subprocess.Popen([str(GUNICORN), "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", "--workers", "2",
                             "training:create_app()"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


@pytest.fixture(scope="module")
def server(production_env):
    port = _free_port()
    process = _start(production_env, port)
    url = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                break
        except requests.RequestException:
            time.sleep(0.2)
    else:
        os.killpg(process.pid, signal.SIGTERM)
        pytest.fail(process.stdout.read()[-3000:])
    yield url
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=20)
    process.stdout.close()


HTTPS = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}


def test_every_response_carries_the_security_headers(server):
    page = requests.get(f"{server}/auth/login", headers=HTTPS, timeout=10)
    headers = page.headers
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin" and headers["Cache-Control"] == "no-store"
    assert headers["Strict-Transport-Security"].startswith("max-age=")
    plain = requests.get(f"{server}/auth/login", timeout=10)
    assert "Strict-Transport-Security" not in plain.headers  # HSTS only over https


def test_the_session_cookie_is_secure_and_rotated_at_login(server):
    # Over https Flask-WTF also checks that the form was posted from this site (Referer).
    https = {**HTTPS, "Referer": f"https://{server.split('//')[1]}/auth/login"}
    page = requests.get(f"{server}/auth/login", headers=https, timeout=10)
    cookie = page.headers["Set-Cookie"]
    assert cookie.startswith("__Host-session=") and "Secure" in cookie and "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    before = cookie.split(";")[0]
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)
    login = requests.post(f"{server}/auth/login", headers={**https, "Cookie": before}, allow_redirects=False,
                          data={"email": "learner@demo.example", "password": "Demo-pass-2026", "csrf_token": token},
                          timeout=10)
    assert login.status_code == 302, (login.url, login.request.method, login.text[:3000])
    after = login.headers["Set-Cookie"].split(";")[0]
    assert after != before
    home = requests.get(f"{server}/", headers={**https, "Cookie": after}, timeout=10)
    assert "Trần Văn Minh" in home.text
    # Logged out on the server: the saved cookie is nobody afterwards.
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', home.text).group(1)
    after = home.headers.get("Set-Cookie", after).split(";")[0]  # the page's form token lives in the session
    logout = requests.post(f"{server}/auth/logout", headers={**https, "Cookie": after}, data={"csrf_token": token},
                           allow_redirects=False, timeout=10)
    assert logout.status_code == 302, logout.text[-2000:]
    again = requests.get(f"{server}/quizzes/", headers={**HTTPS, "Cookie": after}, allow_redirects=False, timeout=10)
    assert again.status_code == 302 and "/auth/login" in again.headers["Location"]


def test_a_keep_alive_connection_is_closed_after_its_requests_so_a_pool_spreads_over_the_workers(server):
    """The worker answers "Connection: close" to a connection's GUNICORN_KEEPALIVE_REQUESTS-th request (3
    here) and closes it; the client opens another, which either worker may accept."""
    host, port = server.split("//")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    said, sockets = [], []
    for _ in range(4):
        conn.request("GET", "/healthz")
        sockets.append(conn.sock)
        reply = conn.getresponse()
        assert reply.status == 200
        reply.read()
        said.append(reply.getheader("Connection"))
    conn.close()
    assert said == ["keep-alive", "keep-alive", "close", "keep-alive"]
    assert sockets[0] is sockets[1] is sockets[2] and sockets[3] is not sockets[2]


def test_production_refuses_to_start_without_its_settings(production_env):
    env = {k: v for k, v in production_env.items() if k not in ("SECRET_KEY", "PUBLIC_BASE_URL")}
    process = _start(env, _free_port())
    try:
        output, _unused = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGTERM)
        process.communicate()
        pytest.fail("gunicorn started without SECRET_KEY and PUBLIC_BASE_URL")
    assert process.returncode != 0
    assert "SECRET_KEY must be set" in output and "PUBLIC_BASE_URL must be set" in output
