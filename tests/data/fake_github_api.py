"""A fake GitHub REST API for tests/org_audit.sh, on loopback only.

GET /orgs/acme/repos: 250 repositories in pages of per_page (100), linked by
Link: rel="next" as GitHub does, with archived repositories, forks and private
ones among them. /orgs/solo/repos is a 404 and /users/solo/repos one page (a
user account). /orgs/evil/repos links its next page to another host.
/orgs/locked/repos answers 401 without a token. Every request's path and
whether it had "Authorization: Bearer <token>" go to the log file.

    python3 fake_github_api.py PORT_FILE LOG_FILE
"""
import json
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port_file, log_file = sys.argv[1], sys.argv[2]


def acme():
    repos = []
    for i in range(250):
        repos.append({
            "full_name": f"acme/r{i:03d}",
            "clone_url": f"https://github.com/acme/r{i:03d}.git",
            "archived": i % 10 == 0,
            "fork": i % 25 == 1,
            "private": i % 3 == 0,
        })
    return repos


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def send(self, code, body, link=None):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if link:
            self.send_header("Link", link)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(url.query)
        auth = self.headers.get("Authorization", "")
        with open(log_file, "a", encoding="utf-8") as log:
            log.write(f"{url.path}?{url.query}\t{auth}\n")
        page = int(q.get("page", ["1"])[0])
        per = int(q.get("per_page", ["30"])[0])
        base = f"http://{self.headers.get('Host')}{url.path}"
        if url.path == "/orgs/acme/repos":
            repos = acme()
            chunk = repos[(page - 1) * per:page * per]
            last = (len(repos) + per - 1) // per
            link = None
            if page < last:
                # As GitHub: next and last, in either order.
                link = (f'<{base}?per_page={per}&type=all&page={last}>; rel="last", '
                        f'<{base}?per_page={per}&type=all&page={page + 1}>; rel="next"')
            return self.send(200, chunk, link)
        if url.path == "/orgs/solo/repos":
            return self.send(404, {"message": "Not Found"})
        if url.path == "/users/solo/repos":
            return self.send(200, [{"full_name": "solo/dotfiles", "clone_url": "https://github.com/solo/dotfiles.git",
                                    "archived": False, "fork": False, "private": False}])
        if url.path == "/orgs/evil/repos":
            return self.send(200, [{"full_name": "evil/a", "clone_url": "https://github.com/evil/a.git"}],
                             '<http://127.0.0.2:9/orgs/evil/repos?page=2>; rel="next"')
        if url.path == "/orgs/locked/repos":
            if not auth:
                return self.send(401, {"message": "Requires authentication"})
            return self.send(200, [{"full_name": "locked/secret-sauce", "clone_url": "https://github.com/locked/secret-sauce.git",
                                    "archived": False, "fork": False, "private": True}])
        return self.send(404, {"message": "Not Found"})


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file + ".tmp", "w", encoding="utf-8") as f:
    f.write(str(server.server_address[1]))
import os  # noqa: E402

os.replace(port_file + ".tmp", port_file)
server.serve_forever()
