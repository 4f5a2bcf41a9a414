"""A throwaway JupyterHub on loopback, and a scripted browser for each of its users.

:class:`Hub` starts ``jupyterhub`` (free ports picked at run time, its database, cookie secret, logs
and every user's home under one folder) with a shared-password authenticator and
``SimpleLocalProcessSpawner``; :class:`Browser` is one user's browser: it logs in through the login
form, starts the user's server and calls the server's REST handlers with the cookies and the
``_xsrf`` token a browser would send.

Every process the hub starts (the proxy, the single-user servers, their kernels) inherits the
environment variable :data:`MARKER` with a value unique to the hub; :meth:`Hub.stop` asks the hub
to shut down and then ends whatever still carries that value, so nothing outlives a test, and no
process this module did not start is ever touched.

:func:`find_proxy` finds configurable-http-proxy on ``PATH`` or installs it from the npm registry
into a cache folder. What the environment lacks is raised as :class:`Unavailable`, whose message
says what failed (the test turns it into a skip).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

__all__ = ["MARKER", "PASSWORD", "Browser", "Hub", "Unavailable", "find_proxy"]

MARKER = "ATTN_COURSE_TEST_HUB"
PASSWORD = "class-loop-password"     # every user's (the hub accepts any allowed name with it)
PROXY_PACKAGE = "configurable-http-proxy"


class Unavailable(Exception):
    """This machine cannot run the hub (the message says what is missing or what failed)."""


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


# ---------------------------------------------------------------------------------------------------
# configurable-http-proxy


def proxy_cache() -> Path:
    """Where :func:`find_proxy` installs configurable-http-proxy: ``~/.cache/attn-course/node``
    (``$XDG_CACHE_HOME`` is honoured)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "attn-course" / "node"


def find_proxy(cache: Path | None = None, timeout: float = 300) -> Path:
    """configurable-http-proxy's executable: from ``PATH``, else from (an npm install into) ``cache``."""
    found = shutil.which(PROXY_PACKAGE)
    if found:
        return Path(found)
    if not shutil.which("node"):
        raise Unavailable(f"{PROXY_PACKAGE} is not on PATH and Node.js (`node`) is not installed")
    folder = Path(cache) if cache else proxy_cache()
    executable = folder / "node_modules" / ".bin" / PROXY_PACKAGE
    if executable.exists():
        return executable
    npm = shutil.which("npm")
    if not npm:
        raise Unavailable(f"{PROXY_PACKAGE} is not on PATH and npm is not installed to fetch it")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise Unavailable(f"cannot create {folder} to install {PROXY_PACKAGE} in: {error}") from error
    with open(folder / ".install.lock", "w") as lock:   # two test runs at once install it once
        import fcntl

        fcntl.flock(lock, fcntl.LOCK_EX)
        if not executable.exists():
            command = [npm, "install", "--prefix", str(folder), "--no-audit", "--no-fund",
                       "--loglevel=error", PROXY_PACKAGE]
            try:
                done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                      stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired:
                raise Unavailable(f"`npm install {PROXY_PACKAGE}` took more than {timeout:.0f} s") from None
            if done.returncode != 0 or not executable.exists():
                raise Unavailable(f"`npm install --prefix {folder} {PROXY_PACKAGE}` failed (exit "
                                  f"{done.returncode}): {_tail(done.stderr + done.stdout, 8)}")
    return executable


# ---------------------------------------------------------------------------------------------------
# Processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def marked_processes(value: str) -> list[int]:
    """Ids of the live processes whose environment holds ``MARKER=value`` (Linux's /proc)."""
    needle = f"{MARKER}={value}".encode()
    found = []
    with contextlib.suppress(OSError):
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            try:
                environ = Path("/proc", entry, "environ").read_bytes()
            except OSError:          # gone meanwhile, or not ours to read
                continue
            if needle in environ.split(b"\0"):
                found.append(int(entry))
    return found


def end_marked(value: str, grace: float = 5.0) -> list[int]:
    """SIGTERM every process marked with ``value``; SIGKILL what is left after ``grace`` seconds.
    Returns the ids that had to be killed."""
    for pid in marked_processes(value):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    left = marked_processes(value)
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = marked_processes(value)
    for pid in left:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    return left


# ---------------------------------------------------------------------------------------------------
# The hub


class Hub:
    """JupyterHub on 127.0.0.1 for ``users`` (each with the home ``homes/<name>``).

    ``environment``: what every single-user server (and so every kernel) gets in its environment,
    besides the :data:`MARKER`.
    """

    def __init__(self, folder: Path, homes: Path, users, proxy: Path, environment: dict | None = None):
        self.folder, self.homes, self.users, self.proxy = Path(folder), Path(homes), list(users), Path(proxy)
        self.environment = dict(environment or {})
        self.run_id = uuid.uuid4().hex
        self.port, self.hub_port, self.api_port = free_port(), free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.folder / "jupyterhub.log"
        self.process: subprocess.Popen | None = None
        self._log = None

    def config(self) -> str:
        env = {**self.environment, MARKER: self.run_id}
        folder = self.folder
        return f"""\
c = get_config()  # noqa: F821
c.JupyterHub.bind_url = {f"http://127.0.0.1:{self.port}"!r}
c.JupyterHub.hub_bind_url = {f"http://127.0.0.1:{self.hub_port}"!r}
c.ConfigurableHTTPProxy.api_url = {f"http://127.0.0.1:{self.api_port}"!r}
c.ConfigurableHTTPProxy.command = [{str(self.proxy)!r}]
c.ConfigurableHTTPProxy.pid_file = {str(folder / "proxy.pid")!r}
c.JupyterHub.db_url = {"sqlite:///" + str(folder / "jupyterhub.sqlite")!r}
c.JupyterHub.cookie_secret_file = {str(folder / "cookie_secret")!r}
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True
c.JupyterHub.tornado_settings = {{"slow_spawn_timeout": 0}}   # "start my server" answers at once

try:   # JupyterHub 5.3 and later: the shared password's own authenticator
    from jupyterhub.authenticators.shared import SharedPasswordAuthenticator
except ImportError:
    c.JupyterHub.authenticator_class = "jupyterhub.auth.DummyAuthenticator"
    c.DummyAuthenticator.password = {PASSWORD!r}
else:
    c.JupyterHub.authenticator_class = SharedPasswordAuthenticator
    c.SharedPasswordAuthenticator.user_password = {PASSWORD!r}
c.Authenticator.allowed_users = {set(self.users)!r}

# Testing only: every user runs as this process's own account, in its own home folder.
c.JupyterHub.spawner_class = "jupyterhub.spawner.SimpleLocalProcessSpawner"
c.SimpleLocalProcessSpawner.home_dir_template = {str(self.homes / "{username}")!r}
c.Spawner.cmd = [{sys.executable!r}, "-m", "jupyterhub.singleuser"]
c.Spawner.args = ["--ServerApp.allow_root=True"]   # CI containers run as root
c.Spawner.ip = "127.0.0.1"
c.Spawner.environment = {env!r}
c.Spawner.start_timeout = 150
c.Spawner.http_timeout = 150
c.Spawner.interrupt_timeout = 1   # a server asks on a terminal for 5 s before SIGINT stops it
"""

    def start(self, timeout: float = 60) -> None:
        """Start the hub and wait until it answers through the proxy; :class:`Unavailable` if not."""
        self.folder.mkdir(parents=True, exist_ok=True)
        config = self.folder / "jupyterhub_config.py"
        config.write_text(self.config())
        env = dict(os.environ)
        env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), str(self.proxy.parent),
                                       env.get("PATH", "")])
        env[MARKER] = self.run_id
        for name in ("NO_PROXY", "no_proxy"):   # the hub's and servers' own loopback calls
            env[name] = ",".join(filter(None, [env.get(name), "127.0.0.1", "localhost"]))
        for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_CONFIG_PATH", "JUPYTER_DATA_DIR", "JUPYTER_PATH"):
            env.pop(name, None)   # each user's server finds its configuration in its own home
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(config)], cwd=self.folder, env=env,
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True)
        import requests

        probe = requests.Session()
        probe.trust_env = False              # loopback: never through an HTTP proxy from the environment
        deadline, last = time.monotonic() + timeout, "no answer yet"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise Unavailable(f"jupyterhub exited with code {self.process.returncode} while "
                                  f"starting:\n{self.log_tail()}")
            try:
                answer = probe.get(f"{self.url}/hub/api", timeout=2)
                if answer.ok and "version" in answer.json():
                    return
                last = f"HTTP {answer.status_code}"
            except (requests.RequestException, ValueError) as error:
                last = str(error)
            time.sleep(0.3)
        raise Unavailable(f"jupyterhub did not answer at {self.url}/hub/api within {timeout:.0f} s "
                          f"({last}):\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return _tail(self.log_path.read_text(errors="replace"), lines)
        except OSError:
            return "(no log)"

    def stop(self, grace: float = 10.0) -> list[int]:
        """Shut the hub down (it stops the servers and the proxy), then end whatever it started
        that is still running. Returns the ids of processes that had to be killed."""
        killed = []
        try:
            if self.process is not None and self.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.process.pid, signal.SIGTERM)
                try:
                    self.process.wait(grace)
                except subprocess.TimeoutExpired:
                    killed.append(self.process.pid)
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(self.process.pid, signal.SIGKILL)   # its own group (new session)
                    self.process.wait(5)
        finally:
            killed += end_marked(self.run_id)
            if self._log is not None:
                self._log.close()
        return killed


# ---------------------------------------------------------------------------------------------------
# A user's browser


class HTTPFailure(AssertionError):
    pass


class Browser:
    """One user's browser on the hub: cookies, the ``_xsrf`` token, and the user's server's URLs."""

    def __init__(self, hub: Hub, name: str, timeout: float = 180):
        import requests

        self.hub, self.name, self.timeout = hub, name, timeout
        self.session = requests.Session()
        self.session.trust_env = False       # loopback: never through an HTTP proxy from the environment
        self.server = f"{hub.url}/user/{name}/"

    # --- plumbing
    def _xsrf(self, path: str) -> str | None:
        """The ``_xsrf`` cookie a page at ``path`` would read (the one with the longest path)."""
        best = None
        for cookie in self.session.cookies:
            if cookie.name == "_xsrf" and path.startswith(cookie.path or "/"):
                if best is None or len(cookie.path or "") > len(best.path or ""):
                    best = cookie
        return best.value if best else None

    def request(self, method: str, url: str, expect=(200,), **kwargs):
        path = "/" + url.split("/", 3)[3] if url.count("/") >= 3 else "/"
        headers = dict(kwargs.pop("headers", {}))
        token = self._xsrf(path)
        if token and method.upper() not in ("GET", "HEAD"):
            headers["X-XSRFToken"] = token
        kwargs.setdefault("timeout", self.timeout)
        answer = self.session.request(method, url, headers=headers, **kwargs)
        if expect and answer.status_code not in expect:
            raise HTTPFailure(f"{self.name}: {method} {url} answered HTTP {answer.status_code} "
                              f"(expected {expect}): {answer.text[:2000]}")
        return answer

    # --- the hub
    def login(self, password: str = PASSWORD) -> None:
        page = self.request("GET", f"{self.hub.url}/hub/login").text
        form_token = re.search(r'name="_xsrf"\s+value="([^"]+)"', page)
        data = {"username": self.name, "password": password}
        if form_token:
            data["_xsrf"] = form_token.group(1)
        answer = self.request("POST", f"{self.hub.url}/hub/login", expect=(302, 303), data=data,
                              allow_redirects=False)
        if "/hub/login" in answer.headers.get("Location", ""):
            raise HTTPFailure(f"{self.name}: login refused (sent back to {answer.headers['Location']})")

    def hub_api(self, method: str, path: str, expect=(200,), **kwargs):
        return self.request(method, f"{self.hub.url}/hub/api/{path.lstrip('/')}", expect=expect, **kwargs)

    def start_server(self) -> None:
        """Ask the hub for this user's server (as the user, like Lab's *Start My Server*)."""
        self.hub_api("POST", f"users/{self.name}/server", expect=(201, 202, 400))

    def wait_for_server(self, timeout: float = 150) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            model = self.hub_api("GET", f"users/{self.name}").json()
            server = (model.get("servers") or {}).get("")
            if server and server.get("ready"):
                break
            if not model.get("pending") and not server:
                raise HTTPFailure(f"{self.name}'s server stopped while starting:\n{self.hub.log_tail()}")
            time.sleep(0.3)
        else:
            raise HTTPFailure(f"{self.name}'s server was not ready within {timeout:.0f} s:\n"
                              f"{self.hub.log_tail()}")
        # Open it as a browser does: the hub's OAuth hands the server its cookie and _xsrf token.
        self.request("GET", self.server + "lab")
        if not self._xsrf(f"/user/{self.name}/"):
            raise HTTPFailure(f"{self.name}: the server set no _xsrf cookie")

    # --- the user's server
    def get(self, path: str, **kwargs):
        return self.request("GET", self.server + path.lstrip("/"), **kwargs)

    def post(self, path: str, **kwargs):
        return self.request("POST", self.server + path.lstrip("/"), **kwargs)

    def api_json(self, method: str, path: str, **kwargs):
        answer = self.request(method, self.server + path.lstrip("/"), **kwargs)
        try:
            return answer.json()
        except ValueError:
            raise HTTPFailure(f"{self.name}: {method} {path} answered no JSON: {answer.text[:500]}") from None

    def read(self, path: str) -> dict:
        """A file's model from the contents API (notebooks as JSON, other files as text)."""
        return self.api_json("GET", f"api/contents/{path}", params={"content": "1"})

    def read_text(self, path: str) -> str:
        return self.api_json("GET", f"api/contents/{path}",
                             params={"content": "1", "type": "file", "format": "text"})["content"]

    def save_notebook(self, path: str, notebook: dict) -> None:
        self.request("PUT", self.server + f"api/contents/{path}", expect=(200, 201),
                     data=json.dumps({"type": "notebook", "format": "json", "content": notebook}),
                     headers={"Content-Type": "application/json"})
