"""STAND-IN for the Hugging Face Hub: a small HTTP server on 127.0.0.1 speaking the endpoints that the real,
unpatched `huggingface_hub` and `datasets` clients call to download (repo info, file tree and paths-info,
`resolve/<revision>/<file>` with HEAD and GET) and to push (create_repo, preupload, validate-yaml, commit).

Why a stand-in: the PyPI package `hf-local-hub` (v3.0.0) ships only a client whose server is a Go binary
built from its GitHub repository, and `olah` (v0.5.4) is a read-only mirror of an upstream Hub (no commit
endpoints), so neither serves pushes on loopback. This is test code only, never shipped in a package.

Failure modes a test can switch on: `fail_commit` ("500": the server errors mid-upload after reading the
body; "hang": it never answers the commit), `gated` repo ids (403, as the Hub answers before the terms are
accepted), `claimed_sizes` (file sizes the metadata claims, to test the disk check), `token` (requests
without `Authorization: Bearer <token>` get 401).
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import yaml

REPO_KINDS = {"models": "model", "datasets": "dataset"}


@dataclass
class StandInRepo:
    private: bool
    files: dict[str, bytes] = field(default_factory=dict)
    commits: list[str] = field(default_factory=list)

    @property
    def sha(self) -> str:
        return self.commits[-1] if self.commits else "0" * 40


_DIGESTS: dict[tuple[int, int], tuple[bytes, str, str]] = {}  # hashing a model's weights once, not per request


def _digests(data: bytes) -> tuple[str, str]:
    key = (id(data), len(data))
    cached = _DIGESTS.get(key)
    if cached is None or cached[0] is not data:
        cached = _DIGESTS[key] = (data, hashlib.sha256(data).hexdigest(),
                                  hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest())
    return cached[1], cached[2]


def _sha256(data: bytes) -> str:
    return _digests(data)[0]


def _git_oid(data: bytes) -> str:
    return _digests(data)[1]


class HubStandIn:
    """Start with `with HubStandIn() as hub: ...`; `hub.endpoint` is the URL to pass to huggingface_hub
    (or to a process as HF_ENDPOINT). Model repos live in `hub.repos`, dataset repos in `hub.datasets`."""

    def __init__(self) -> None:
        self.repos: dict[str, StandInRepo] = {}
        self.datasets: dict[str, StandInRepo] = {}
        self.requests: list[dict] = []  # method, path, headers, body of every request
        self.fail_commit: str | None = None
        self.fail_reads: int | None = None  # an HTTP status every read (repo info, tree, file) answers with
        self.gated: set[str] = set()
        self.claimed_sizes: dict[str, int] = {}  # file name -> size the metadata reports
        self.token: str | None = None
        self._release_hang = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> HubStandIn:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._release_hang.set()
        self._server.shutdown()
        self._server.server_close()

    def add_repo(self, repo_id: str, files: dict[str, bytes], *, repo_type: str = "model",
                 private: bool = False) -> StandInRepo:
        """Serve `files` (path in repo -> bytes) as a model or dataset repo with one commit."""
        repo = StandInRepo(private=private, files={".gitattributes": b"*.safetensors filter=lfs\n", **files})
        repo.commits.append(hashlib.sha1("\n".join([repo_id, *sorted(files)]).encode()).hexdigest())
        for data in repo.files.values():
            _digests(data)  # now, not while a client waits for the repo's info
        (self.datasets if repo_type == "dataset" else self.repos)[repo_id] = repo
        return repo

    def add_folder(self, repo_id: str, folder: Path, **kwargs) -> StandInRepo:
        folder = Path(folder)
        files = {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
                 if p.is_file() and not p.name.startswith(".")}
        return self.add_repo(repo_id, files, **kwargs)

    def gets_of(self, file_name: str) -> list[dict]:
        """The GET requests that downloaded a file called `file_name` (a `resolve/` URL)."""
        return [r for r in self.requests if r["method"] == "GET" and "/resolve/" in r["path"]
                and unquote(urlparse(r["path"]).path).endswith("/" + file_name)]

    def _handler_class(self):
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output quiet
                pass

            def _reply(self, status: int, payload, headers: dict | None = None) -> None:
                body = json.dumps(payload).encode()
                self._send(status, body, {"Content-Type": "application/json", **(headers or {})},
                       head=self.command == "HEAD")

            def _send(self, status: int, body: bytes, headers: dict, *, head: bool = False) -> None:
                self.send_response(status)
                headers = {"Content-Length": str(len(body)), **headers}
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                if not head:
                    self.wfile.write(body)

            def _error(self, status: int, code: str, message: str) -> None:
                self._reply(status, {"error": message}, {"X-Error-Code": code, "X-Error-Message": message})

            def _record(self) -> bytes:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                hub.requests.append({"method": self.command, "path": self.path,
                                     "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
                return body

            def _authorised(self) -> bool:
                if hub.token is None:
                    return True
                if self.headers.get("Authorization") == f"Bearer {hub.token}":
                    return True
                self._error(401, "InvalidCredentials", "Invalid credentials in Authorization header")
                return False

            def _find(self, kind: str, repo_id: str) -> StandInRepo | None:
                """The repo, or None after answering as the Hub does (404 missing or private, 403 gated)."""
                repo = (hub.datasets if kind == "dataset" else hub.repos).get(repo_id)
                if repo is None or (repo.private and not self.headers.get("Authorization")):
                    self._error(401 if repo else 404, "RepoNotFound", f"Repository {repo_id} not found")
                    return None
                if repo_id in hub.gated:
                    self._error(403, "GatedRepo", f"Access to model {repo_id} is restricted and you are not in "
                                "the authorized list. Visit the repo page to ask for access.")
                    return None
                return repo

            def _size(self, name: str, data: bytes) -> int:
                return hub.claimed_sizes.get(name, len(data))

            def _entry(self, name: str, data: bytes) -> dict:
                entry = {"type": "file", "path": name, "size": self._size(name, data), "oid": _git_oid(data)}
                if name.endswith((".safetensors", ".parquet", ".gguf")):
                    entry["lfs"] = {"oid": _sha256(data), "size": self._size(name, data), "pointerSize": 134}
                return entry

            def _tree(self, repo: StandInRepo, folder: str, recursive: bool) -> list[dict]:
                prefix = f"{folder.strip('/')}/" if folder.strip("/") else ""
                entries, folders = [], set()
                for name, data in sorted(repo.files.items()):
                    if not name.startswith(prefix):
                        continue
                    rest = name[len(prefix):].split("/")
                    for depth in range(1, len(rest)):
                        if recursive or depth == 1:
                            folders.add(prefix + "/".join(rest[:depth]))
                    if recursive or len(rest) == 1:
                        entries.append(self._entry(name, data))
                return [{"type": "directory", "path": path, "size": 0, "oid": "0" * 40}
                        for path in sorted(folders)] + entries

            def _info(self, repo_id: str, repo: StandInRepo) -> dict:
                return {"id": repo_id, "private": repo.private, "sha": repo.sha, "gated": False,
                        "disabled": False, "lastModified": "2026-01-01T00:00:00.000Z", "tags": [],
                        "siblings": [self._sibling(name, data) for name, data in sorted(repo.files.items())]}

            def _sibling(self, name: str, data: bytes) -> dict:
                sibling = {"rfilename": name, "size": self._size(name, data), "blobId": _git_oid(data)}
                if "lfs" in self._entry(name, data):
                    sibling["lfs"] = {"sha256": _sha256(data), "size": self._size(name, data), "pointerSize": 134}
                return sibling

            def _resolve(self, kind: str, repo_id: str, file_name: str, head: bool) -> None:
                repo = self._find(kind, repo_id)
                if repo is None:
                    return
                data = repo.files.get(file_name)
                if data is None:
                    return self._error(404, "EntryNotFound", f"{file_name} does not exist in {repo_id}")
                etag = _sha256(data) if "lfs" in self._entry(file_name, data) else _git_oid(data)
                headers = {"X-Repo-Commit": repo.sha, "ETag": f'"{etag}"', "Accept-Ranges": "bytes",
                           "Content-Type": "application/octet-stream"}
                if "lfs" in self._entry(file_name, data):
                    headers["X-Linked-Etag"] = f'"{etag}"'
                    headers["X-Linked-Size"] = str(self._size(file_name, data))
                status, body = 200, data
                ranged = self.headers.get("Range", "")
                if ranged.startswith("bytes=") and not head:
                    start_text, _, end_text = ranged[len("bytes="):].partition("-")
                    start = int(start_text or 0)
                    end = int(end_text) if end_text else len(data) - 1
                    status, body = 206, data[start:end + 1]
                    headers["Content-Range"] = f"bytes {start}-{start + len(body) - 1}/{len(data)}"
                self._send(status, body, headers, head=head)

            def _route_read(self, head: bool) -> None:
                self._record()
                if hub.fail_reads is not None:
                    return self._error(hub.fail_reads, "ServerError", "Internal Error - We're working hard to fix this")
                if not self._authorised():
                    return
                url = urlparse(self.path)
                path, query = unquote(url.path), parse_qs(url.query)
                parts = path.strip("/").split("/")
                if parts[0] == "api" and len(parts) >= 4 and parts[1] in REPO_KINDS:
                    kind, repo_id, rest = REPO_KINDS[parts[1]], f"{parts[2]}/{parts[3]}", parts[4:]
                    repo = self._find(kind, repo_id)
                    if repo is None:
                        return
                    if rest[:1] == ["tree"]:
                        folder = "/".join(rest[2:])
                        recursive = query.get("recursive", ["false"])[0].lower() == "true"
                        return self._reply(200, self._tree(repo, folder, recursive))
                    if rest[:1] in ([], ["revision"]):
                        return self._reply(200, self._info(repo_id, repo))
                    return self._error(404, "NotFound", f"stand-in does not serve GET {path}")
                kind = "dataset" if parts[0] == "datasets" else "model"
                parts = parts[1:] if kind == "dataset" else parts
                if len(parts) >= 5 and parts[2] == "resolve":
                    return self._resolve(kind, f"{parts[0]}/{parts[1]}", "/".join(parts[4:]), head)
                self._error(404, "NotFound", f"stand-in does not serve {self.command} {path}")

            def do_HEAD(self) -> None:
                self._route_read(head=True)

            def do_GET(self) -> None:
                self._route_read(head=False)

            def do_POST(self) -> None:
                body = self._record()
                if not self._authorised():
                    return
                path = unquote(urlparse(self.path).path)
                if path == "/api/repos/create":
                    payload = json.loads(body)
                    repo_id = f"{payload['organization']}/{payload['name']}"
                    url = f"{hub.endpoint}/{repo_id}"
                    if repo_id in hub.repos:
                        return self._reply(409, {"error": "You already created this model repo", "url": url})
                    hub.repos[repo_id] = StandInRepo(private=payload.get("visibility") == "private"
                                                     or bool(payload.get("private")),
                                                     files={".gitattributes": b"*.gguf filter=lfs\n"})
                    return self._reply(200, {"url": url, "name": repo_id})
                if path == "/api/validate-yaml":  # the Hub checks README.md metadata before a commit
                    content = json.loads(body)["content"]
                    try:
                        metadata = yaml.safe_load(content.split("---")[1]) if content.startswith("---") else {}
                    except yaml.YAMLError as error:
                        return self._reply(400, {"errors": [{"message": str(error)}]})
                    if not isinstance(metadata, dict):
                        return self._reply(400, {"errors": [{"message": "metadata is not a mapping"}]})
                    return self._reply(200, {"warnings": []})
                parts = path.strip("/").split("/")
                if parts[0] == "api" and len(parts) >= 5 and parts[1] in REPO_KINDS:
                    kind, repo_id, rest = REPO_KINDS[parts[1]], f"{parts[2]}/{parts[3]}", parts[4:]
                    repo = self._find(kind, repo_id)
                    if repo is None:
                        return
                    if rest[:1] == ["paths-info"]:
                        wanted = parse_qs(body.decode()).get("paths", [])
                        entries = self._tree(repo, "", recursive=True)
                        return self._reply(200, [e for e in entries if e["path"] in wanted])
                    if rest[:1] == ["preupload"]:
                        files = json.loads(body)["files"]
                        return self._reply(200, {"files": [{"path": f["path"], "uploadMode": "regular",
                                                            "shouldIgnore": False} for f in files]})
                    if rest[:1] == ["commit"]:
                        return self._commit(repo_id, repo, body)
                self._error(404, "NotFound", f"stand-in does not serve POST {path}")

            def _commit(self, repo_id: str, repo: StandInRepo, body: bytes) -> None:
                if hub.fail_commit == "hang":
                    hub._release_hang.wait(timeout=600)
                    return
                if hub.fail_commit == "500":
                    return self._error(500, "InternalError", "Internal Error - We're working hard to fix this "
                                       "as soon as possible!")
                for line in body.splitlines():
                    item = json.loads(line)
                    if item["key"] == "file":
                        value = item["value"]
                        repo.files[value["path"]] = base64.b64decode(value["content"])
                oid = hashlib.sha1(body + str(time.time()).encode()).hexdigest()
                repo.commits.append(oid)
                self._reply(200, {"commitUrl": f"{hub.endpoint}/{repo_id}/commit/{oid}",
                                  "commitOid": oid, "pullRequestUrl": None})

        return Handler
