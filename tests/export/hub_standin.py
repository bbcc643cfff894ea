"""STAND-IN for the Hugging Face Hub: a tiny HTTP server on 127.0.0.1 speaking the endpoints that
`huggingface_hub` calls for create_repo / list_repo_files / create_commit (regular, non-LFS uploads).

Why a stand-in: the PyPI package `hf-local-hub` (evaluated, v3.0.0) ships only a Python client/CLI; its
server is a Go binary that must be built from its GitHub repository, which this project cannot reach.
This is test code only, never shipped in a package.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlparse

import yaml


@dataclass
class StandInRepo:
    private: bool
    files: dict[str, bytes] = field(default_factory=dict)
    commits: list[str] = field(default_factory=list)


class HubStandIn:
    """Start with `with HubStandIn() as hub: ...`; `hub.endpoint` is the URL to pass to huggingface_hub."""

    def __init__(self) -> None:
        self.repos: dict[str, StandInRepo] = {}
        self.requests: list[dict] = []  # method, path, headers, body of every request
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> HubStandIn:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler_class(self):
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _reply(self, status: int, payload, headers: dict | None = None) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def _not_found(self, repo_id: str) -> None:
                self._reply(404, {"error": f"Repository {repo_id} not found"},
                            {"X-Error-Code": "RepoNotFound", "X-Error-Message": "Repository not found"})

            def _record(self) -> bytes:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                hub.requests.append({"method": self.command, "path": self.path,
                                     "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
                return body

            def _repo_and_rest(self, path: str) -> tuple[str, list[str]]:
                parts = path.split("/")  # ['', 'api', 'models', user, name, ...]
                return f"{parts[3]}/{parts[4]}", parts[5:]

            def do_GET(self) -> None:
                self._record()
                path = unquote(urlparse(self.path).path)
                if path.startswith("/api/models/"):
                    repo_id, rest = self._repo_and_rest(path)
                    repo = hub.repos.get(repo_id)
                    if repo is None:
                        return self._not_found(repo_id)
                    if rest[:1] == ["tree"]:
                        return self._reply(200, [{"type": "file", "path": name, "size": len(data),
                                                  "oid": hashlib.sha1(data).hexdigest()}
                                                 for name, data in sorted(repo.files.items())])
                    return self._reply(200, {"id": repo_id, "private": repo.private,
                                             "sha": repo.commits[-1] if repo.commits else "0" * 40,
                                             "siblings": [{"rfilename": n} for n in sorted(repo.files)]})
                self._reply(404, {"error": f"stand-in does not serve GET {path}"})

            def do_POST(self) -> None:
                body = self._record()
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
                if path.startswith("/api/models/"):
                    repo_id, rest = self._repo_and_rest(path)
                    repo = hub.repos.get(repo_id)
                    if repo is None:
                        return self._not_found(repo_id)
                    if rest[:1] == ["preupload"]:
                        files = json.loads(body)["files"]
                        return self._reply(200, {"files": [{"path": f["path"], "uploadMode": "regular",
                                                            "shouldIgnore": False} for f in files]})
                    if rest[:1] == ["commit"]:
                        for line in body.splitlines():
                            item = json.loads(line)
                            if item["key"] == "file":
                                value = item["value"]
                                repo.files[value["path"]] = base64.b64decode(value["content"])
                        oid = hashlib.sha1(body).hexdigest()
                        repo.commits.append(oid)
                        return self._reply(200, {"commitUrl": f"{hub.endpoint}/{repo_id}/commit/{oid}",
                                                 "commitOid": oid, "pullRequestUrl": None})
                self._reply(404, {"error": f"stand-in does not serve POST {path}"})

        return Handler
