"""A client of the OCI distribution API: what ``unkai build`` needs to pull a base image
and push the built one.

Auth is the registries' own dance: a request answered 401 names its scheme in
``WWW-Authenticate``; for ``Bearer`` the client asks the named realm for a token (with
the user's credentials, if any, as HTTP basic auth; an identity token is exchanged as an
OAuth2 refresh token) for the scope it needs, for ``Basic`` it sends the credentials
themselves. Tokens are kept per scope for the client's life.

Pushing skips blobs the repository already has (``HEAD``), asks the registry to mount
blobs from another repository on it instead of uploading them again, and otherwise
uploads in chunks (``PATCH`` with ``Content-Range``, then ``PUT ?digest=``), reporting
progress after each. Registries on loopback speak plain HTTP; any other only when the
user says so (``insecure``). Hand-written over httpx2: the Python registry clients on
PyPI are unmaintained or asyncio-only, and these few endpoints are small.
"""

from __future__ import annotations

import base64
import hashlib
import re
import tempfile
import urllib.parse
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Final

import httpx2

from unkai.build import oci
from unkai.build.credentials import Credentials
from unkai.build.references import Reference, is_loopback
from unkai.errors import TargetError, UserError

CHUNK: Final = 8 * 2**20
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')
_ACCEPT: Final = ", ".join([oci.INDEX, oci.MANIFEST, oci.DOCKER_LIST, oci.DOCKER_MANIFEST])

Progress = Callable[[str, int, int], None]
"""Called as ``progress(what, bytes_done, bytes_total)`` while a blob moves."""


class RegistryError(TargetError):
    """The registry could not be reached, or refused or failed a request."""


class RegistryAuthError(UserError):
    """The registry refused the credentials (or wants some and none are kept)."""


def _quiet(what: str, done: int, total: int) -> None:
    """No progress display."""


class Registry:
    """One registry (``host[:port]``), spoken to over one HTTP client."""

    def __init__(
        self,
        registry: str,
        credentials: Credentials | None,
        *,
        insecure: bool = False,
        chunk_size: int = CHUNK,
        timeout: float = 60.0,
    ) -> None:
        plain = insecure or is_loopback(registry)
        self.registry = registry
        self.base = f"{'http' if plain else 'https'}://{registry}"
        self.credentials = credentials
        self.chunk_size = chunk_size
        self._client = httpx2.Client(timeout=timeout, follow_redirects=True)
        self._tokens: dict[str, str] = {}
        self._basic = False

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # Reading

    def manifest(self, reference: Reference) -> tuple[str, bytes]:
        """The media type and bytes of the manifest or index ``reference`` names."""
        path = f"/v2/{reference.repository}/manifests/{reference.version}"
        response = self._send("GET", path, [reference.repository], headers={"Accept": _ACCEPT})
        if response.status_code == 404:
            raise RegistryError(f"image {reference} not found in {self.registry}")
        self._check(response, f"reading the manifest of {reference}")
        data = response.content
        if reference.digest and oci.digest_of(data) != reference.digest:
            raise RegistryError(f"{reference}: the registry sent a manifest of another digest")
        media_type = response.headers.get("content-type", "").split(";")[0].strip()
        return media_type, data

    def digest(self, reference: Reference) -> str:
        """The digest the registry gives for ``reference``'s tag now (a ``HEAD`` of the
        manifest: its ``Docker-Content-Digest``, or the digest of the manifest itself
        where a registry leaves the header out)."""
        path = f"/v2/{reference.repository}/manifests/{reference.version}"
        response = self._send("HEAD", path, [reference.repository], headers={"Accept": _ACCEPT})
        if response.status_code == 404:
            raise RegistryError(f"image {reference} not found in {self.registry}")
        self._check(response, f"resolving {reference} to a digest")
        found = response.headers.get("docker-content-digest", "")
        return found if found.startswith("sha256:") else oci.digest_of(self.manifest(reference)[1])

    def pull_blob(
        self,
        repository: str,
        descriptor: oci.Descriptor,
        store: oci.BlobStore,
        progress: Progress = _quiet,
    ) -> None:
        """Fetch a blob into ``store`` (unless there), streamed to disk, checking its digest."""
        if store.has(descriptor.digest):
            return
        path = f"/v2/{repository}/blobs/{descriptor.digest}"
        response = self._stream(path, repository)
        store.root.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        with tempfile.NamedTemporaryFile(dir=store.root, prefix=".pull-", delete=False) as part:
            try:
                if response.status_code >= 400:
                    response.read()
                    self._check(response, f"pulling {descriptor.digest[:19]} from {repository}")
                for chunk in response.iter_bytes():
                    part.write(chunk)
                    digest.update(chunk)
                    progress(descriptor.digest[7:19], part.tell(), descriptor.size)
            except BaseException:
                Path(part.name).unlink()
                raise
            finally:
                response.close()
        if f"sha256:{digest.hexdigest()}" != descriptor.digest:
            Path(part.name).unlink()
            raise RegistryError(f"blob {descriptor.digest} from {repository}: wrong content")
        store.put_file(Path(part.name), descriptor.digest)

    def _stream(self, path: str, repository: str) -> httpx2.Response:
        """A streamed ``GET`` (authenticating once when asked), transport errors worded."""
        try:
            response = self._client.send(self._authorised("GET", path, [repository]), stream=True)
            if response.status_code == 401:
                response.close()
                self._authenticate(response, [repository])
                request = self._authorised("GET", path, [repository])
                response = self._client.send(request, stream=True)
        except httpx2.TransportError as error:
            raise RegistryError(f"cannot reach the registry {self.base}: {error}") from None
        if response.status_code == 401:
            response.close()
            raise self._refused()
        return response

    # Writing

    def has_blob(self, repository: str, digest: str) -> bool:
        response = self._send("HEAD", f"/v2/{repository}/blobs/{digest}", [repository], push=True)
        return response.status_code == 200

    def push_blob(
        self,
        repository: str,
        digest: str,
        source: Path,
        *,
        mount_from: Iterable[str] = (),
        progress: Progress = _quiet,
    ) -> str:
        """Put the blob in ``repository``; say how: ``"present"``, ``"mounted"`` or
        ``"uploaded"``."""
        size = source.stat().st_size
        if self.has_blob(repository, digest):
            progress(digest[7:19], size, size)
            return "present"
        location: str | None = None
        for origin in mount_from:
            if origin == repository:
                continue
            query = urllib.parse.urlencode({"mount": digest, "from": origin})
            response = self._send(
                "POST",
                f"/v2/{repository}/blobs/uploads/?{query}",
                [repository, origin],
                push=True,
            )
            if response.status_code == 201:
                progress(digest[7:19], size, size)
                return "mounted"
            self._check(response, f"starting an upload to {repository}")
            location = response.headers["location"]
            break
        if location is None:
            response = self._send(
                "POST", f"/v2/{repository}/blobs/uploads/", [repository], push=True
            )
            self._check(response, f"starting an upload to {repository}")
            location = response.headers["location"]
        location = self._upload(repository, location, source, size, digest, progress)
        separator = "&" if "?" in location else "?"
        response = self._send(
            "PUT",
            f"{location}{separator}digest={digest}",
            [repository],
            push=True,
            headers={"Content-Length": "0"},
        )
        self._check(response, f"finishing the upload of {digest[:19]} to {repository}")
        return "uploaded"

    def _upload(
        self,
        repository: str,
        location: str,
        source: Path,
        size: int,
        digest: str,
        progress: Progress,
    ) -> str:
        sent = 0
        with source.open("rb") as stream:
            while chunk := stream.read(self.chunk_size):
                headers = {
                    "Content-Type": "application/octet-stream",
                    "Content-Range": f"{sent}-{sent + len(chunk) - 1}",
                }
                response = self._send(
                    "PATCH", location, [repository], push=True, headers=headers, content=chunk
                )
                self._check(response, f"uploading {digest[:19]} to {repository}")
                location = response.headers["location"]
                sent += len(chunk)
                progress(digest[7:19], sent, size)
        return location

    def put_manifest(self, reference: Reference, media_type: str, data: bytes) -> str:
        """Store a manifest under the reference's tag (or digest); return its digest."""
        path = f"/v2/{reference.repository}/manifests/{reference.tag or oci.digest_of(data)}"
        response = self._send(
            "PUT",
            path,
            [reference.repository],
            push=True,
            headers={"Content-Type": media_type},
            content=data,
        )
        self._check(response, f"pushing the manifest of {reference}")
        return response.headers.get("docker-content-digest") or oci.digest_of(data)

    # HTTP and auth

    def _send(
        self,
        method: str,
        path: str,
        repositories: list[str],
        *,
        push: bool = False,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx2.Response:
        for attempt in (1, 2):
            request = self._authorised(method, path, repositories, push, headers, content)
            try:
                response = self._client.send(request)
            except httpx2.TransportError as error:
                raise RegistryError(f"cannot reach the registry {self.base}: {error}") from None
            if response.status_code != 401 or attempt == 2:
                break
            self._authenticate(response, repositories, push)
        if response.status_code == 401:
            raise self._refused()
        return response

    def _authorised(
        self,
        method: str,
        path: str,
        repositories: list[str],
        push: bool = False,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx2.Request:
        url = (
            path
            if path.startswith(("http://", "https://"))
            else urllib.parse.urljoin(self.base, path)
        )
        request = self._client.build_request(method, url, headers=headers, content=content)
        token = self._tokens.get(_scope(repositories, push))
        if token is not None:
            request.headers["Authorization"] = f"Bearer {token}"
        elif self._basic and self.credentials is not None:
            pair = f"{self.credentials.username}:{self.credentials.secret}".encode()
            request.headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        return request

    def _authenticate(
        self, response: httpx2.Response, repositories: list[str], push: bool = False
    ) -> None:
        challenge = response.headers.get("www-authenticate", "")
        scheme = challenge.split(" ", 1)[0].lower()
        if scheme == "basic":
            if self.credentials is None or self._basic:
                raise self._refused()
            self._basic = True
            return
        if scheme != "bearer":
            raise RegistryError(f"{self.registry} asks for unknown auth {challenge!r}")
        fields = dict(_CHALLENGE.findall(challenge))
        scope = _scope(repositories, push)
        self._tokens[scope] = self._token(fields, scope)

    def _token(self, fields: dict[str, str], scope: str) -> str:
        realm = fields.get("realm")
        if not realm:
            raise RegistryError(f"{self.registry}: a Bearer challenge without a realm")
        params: list[tuple[str, str | int | float | bool | None]]
        params = [("service", fields.get("service", ""))]
        params += [("scope", part) for part in scope.split(" ")]
        credentials = self.credentials
        try:
            if credentials is not None and credentials.username == "<token>":
                form = {
                    "grant_type": "refresh_token",
                    "refresh_token": credentials.secret,
                    "client_id": "unkai",
                    **dict(params[:1]),
                    "scope": scope,
                }
                answer = self._client.post(realm, data=form)
            else:
                auth = None if credentials is None else (credentials.username, credentials.secret)
                answer = self._client.get(realm, params=params, auth=auth)
        except httpx2.TransportError as error:
            raise RegistryError(f"cannot reach {realm} for a token: {error}") from None
        if answer.status_code in (401, 403):
            raise self._refused()
        self._check(answer, f"getting a token from {realm}")
        body = answer.json()
        return str(body.get("token") or body.get("access_token"))

    def _refused(self) -> RegistryAuthError:
        if self.credentials is None:
            return RegistryAuthError(
                f"{self.registry} wants credentials and none are kept for it"
                f" (docker login {self.registry}, or ~/.docker/config.json)"
            )
        return RegistryAuthError(
            f"{self.registry} refused the credentials of user {self.credentials.username!r}"
            " (wrong user name or password? see ~/.docker/config.json)"
        )

    def _check(self, response: httpx2.Response, doing: str) -> None:
        if response.status_code < 400:
            return
        if response.status_code == 403:
            raise RegistryAuthError(f"{self.registry} forbids {doing} for these credentials")
        detail = response.text.strip()[:300] if response.text else ""
        raise RegistryError(f"{doing}: {self.registry} answered {response.status_code} {detail}")


def _scope(repositories: list[str], push: bool) -> str:
    first, *others = repositories
    actions = "pull,push" if push else "pull"
    return " ".join([f"repository:{first}:{actions}", *(f"repository:{o}:pull" for o in others)])
