"""nginx and HAProxy in front of an instance's Unix socket: the peers the gateway is
measured against.

Each runs as one process with one worker thread (nginx ``master_process off``, HAProxy
``nbthread 1``), keeps idle keep-alive connections to the instance's Unix socket as the
gateway does, and writes nothing per request (no access log). HAProxy shares its idle
server connections between client connections (``http-reuse always``); nginx gives
each request an upstream connection of its own from its keep-alive cache. A peer whose
binary is not installed is skipped with the reason (Debian: ``nginx-light``,
``haproxy``).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

NGINX = """\
daemon off;
master_process off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    keepalive_requests 1000000;
    upstream instance {{
        server unix:{socket};
        keepalive 64;
        keepalive_requests 1000000;
    }}
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location / {{
            proxy_pass http://instance;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_buffering off;
        }}
    }}
}}
"""

HAPROXY = """\
global
    nbthread 1
    maxconn 4096
defaults
    mode http
    option http-keep-alive
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 60s
frontend gateway
    bind 127.0.0.1:{port}
    default_backend instance
backend instance
    http-reuse always
    server instance {socket}
"""


@dataclass(frozen=True)
class Peer:
    name: str
    binary: str
    template: str

    def command(self, config: Path) -> list[str]:
        if self.name == "nginx":
            return [self.binary, "-c", str(config), "-e", str(config.parent / "nginx-error.log")]
        return [self.binary, "-f", str(config), "-db"]


def start(
    name: str, *, socket: str, port: int, root: Path, cpu: int
) -> subprocess.Popen[bytes] | str:
    """Start ``name`` (``"nginx"`` or ``"haproxy"``) on CPU ``cpu``, listening on
    ``port`` and proxying to ``socket``; or say why it cannot run here."""
    binary = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if binary is None:
        package = "nginx-light" if name == "nginx" else name
        return f"{name} is not installed (Debian: apt-get install {package})"
    peer = Peer(name, binary, NGINX if name == "nginx" else HAPROXY)
    directory = root / name
    directory.mkdir()
    config = directory / f"{name}.conf"
    config.write_text(peer.template.format(root=directory, socket=socket, port=port))
    return subprocess.Popen(
        ["taskset", "-c", str(cpu), *peer.command(config)],
        stdout=subprocess.DEVNULL,
        stderr=(directory / "stderr.log").open("wb"),
    )
