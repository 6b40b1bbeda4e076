"""The `gatehouse` command-line MCP client (login, tools, call, ping, logout, client-config),
run as a subprocess against three kinds of server:

  a. our hub with the embedded authorization server and --dev-auto-approve;
  b. a peer nobody here wrote: the official Python SDK's MCPServer with its own
     authorization-server routes (peers/sdk_auth_server.py, fixture sdk_auth_peer);
  c. small broken servers (peers/fake_oauth.py) and damaged state on a real hub, where the
     CLI must stop with exit code 1 and one clear "gatehouse: ..." line, and never hang.

Every run gets --config-dir in a temp dir (and HOME/XDG_CONFIG_HOME in another, so a missed
--config-dir cannot touch the real ~/.config), --no-browser where a login can happen, and a
hard timeout. With --no-browser the CLI prints the URL to open on a stderr line of its own
that starts with http; `follow=True` plays the user's browser: a thread reads stderr and GETs
every such URL following redirects. Both authorization servers approve at once, so the
redirects end at the CLI's loopback callback.

Environment: GATEHOUSE_BIN (default <repo>/.build/debug/gatehouse).
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest

from conftest import DEFAULT_BIN, DEV_USER, GatehouseServer, PeerServer, start_extra_server
from mcp_wire import HUB_TOOLS
from peers.fake_oauth import PRM_PATH_AWARE, PRM_ROOT, FakeConfig, FakeServer, as_metadata_paths

BINARY = Path(os.environ.get("GATEHOUSE_BIN", str(DEFAULT_BIN))).resolve()
# Upper bound of one CLI run; a run that needs longer is a hang and fails the test.
CLI_TIMEOUT_S = 30.0
# Upper bound of the follower's GET of the authorization URL (all redirects included).
FOLLOW_TIMEOUT_S = 10.0
HTTP_TIMEOUT_S = 5.0
# --timeout given to runs that must give up waiting for the callback.
SHORT_LOGIN_TIMEOUT_S = 3
EX_USAGE = 64

# Every CLI run of this module, for the "no token in any output" check.
TRANSCRIPTS: list["Run"] = []


# ======================================================================================
# Running the CLI
# ======================================================================================


@dataclass
class Followed:
    """One authorization URL the follower opened, and where the redirects ended."""

    url: str
    final_url: str = ""
    status: int | None = None
    error: str | None = None
    page: str = ""  # the start of the last page's text


@dataclass
class Run:
    argv: list[str]
    code: int | None
    stdout: str
    stderr: str
    seconds: float
    followed: list[Followed] = field(default_factory=list)
    timed_out: bool = False

    @property
    def stderr_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]

    @property
    def urls(self) -> list[str]:
        """The lines of stderr that are a URL to open (a login was started)."""
        return [line.strip() for line in self.stderr_lines if line.lstrip().startswith("http")]

    @property
    def error_line(self) -> str:
        lines = self.stderr_lines
        return lines[-1] if lines else ""

    def describe(self) -> str:
        follows = "\n".join(
            f"  followed {f.url}\n    -> {f.status} {f.final_url} {f.error or ''}\n    page: {f.page!r}"
            for f in self.followed
        )
        return (
            f"$ {' '.join(self.argv)}\n"
            f"exit code {self.code}{' (killed after the time limit)' if self.timed_out else ''}, {self.seconds:.1f} s\n"
            f"--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}\n"
            + (f"--- browser ---\n{follows}\n" if follows else "")
        )


def _follow(url: str, record: Followed) -> None:
    try:
        with httpx2.Client(timeout=FOLLOW_TIMEOUT_S, follow_redirects=True) as http:
            response = http.get(url)
        record.status = response.status_code
        record.final_url = str(response.url)
        record.page = response.text[:500]
    except Exception as error:  # recorded and shown; the CLI's own outcome is asserted
        record.error = repr(error)


class CLI:
    """The gatehouse CLI with one token cache (config dir) and a sealed-off home."""

    def __init__(self, root: Path) -> None:
        self.config_dir = root / "config"
        self.home = root / "home"
        self.home.mkdir(parents=True, exist_ok=True)

    @property
    def tokens_path(self) -> Path:
        return self.config_dir / "tokens.json"

    def env(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("GATEHOUSE_", "HUB_", "MCP_", "WORKOS_")) and key not in ("LOG_LEVEL",)
        }
        env["HOME"] = str(self.home)
        env["XDG_CONFIG_HOME"] = str(self.home / "xdg")
        env["BROWSER"] = "true"  # should a browser be opened anyway, open nothing
        env["NO_COLOR"] = "1"
        return env

    def run(
        self,
        command: str,
        *positionals: str,
        options: tuple[str, ...] = (),
        follow: bool = False,
        config: bool = True,
        timeout: float = CLI_TIMEOUT_S,
    ) -> Run:
        """`gatehouse COMMAND [--config-dir DIR] OPTIONS POSITIONALS` (options first, so that
        key=value arguments cannot swallow them)."""
        argv = [str(BINARY), command]
        if config:
            argv += ["--config-dir", str(self.config_dir)]
        argv += [*options, *positionals]
        started = time.monotonic()
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self.env(),
            cwd=str(self.home),
            start_new_session=True,
        )
        stdout_chunks: list[bytes] = []
        stderr_lines: list[str] = []
        followed: list[Followed] = []
        follow_threads: list[threading.Thread] = []

        def read_stdout() -> None:
            assert process.stdout is not None
            stdout_chunks.append(process.stdout.read())

        def read_stderr() -> None:
            assert process.stderr is not None
            for raw in iter(process.stderr.readline, b""):
                line = raw.decode(errors="replace")
                stderr_lines.append(line)
                if follow and line.strip().startswith("http"):
                    record = Followed(line.strip())
                    followed.append(record)
                    thread = threading.Thread(target=_follow, args=(record.url, record), daemon=True)
                    follow_threads.append(thread)
                    thread.start()

        readers = [threading.Thread(target=read_stdout, daemon=True), threading.Thread(target=read_stderr, daemon=True)]
        for reader in readers:
            reader.start()
        timed_out = False
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
        for reader in readers:
            reader.join(timeout=5)
        for thread in follow_threads:
            thread.join(timeout=FOLLOW_TIMEOUT_S)
        run = Run(
            argv,
            None if timed_out else process.returncode,
            b"".join(stdout_chunks).decode(errors="replace"),
            "".join(stderr_lines),
            time.monotonic() - started,
            followed,
            timed_out,
        )
        TRANSCRIPTS.append(run)
        assert not timed_out, f"the CLI did not finish within {timeout:.0f} s (a hang):\n{run.describe()}"
        return run

    def ok(self, command: str, *positionals: str, **kwargs: Any) -> Run:
        """A run that must succeed (exit 0)."""
        run = self.run(command, *positionals, **kwargs)
        assert run.code == 0, f"expected success:\n{run.describe()}"
        return run

    def login(self, url: str, *extra: str) -> Run:
        """`login URL --no-browser` with the follower; must succeed and leave a token."""
        run = self.ok("login", url, options=("--no-browser", *extra), follow=True)
        assert run.urls, f"login printed no URL to open:\n{run.describe()}"
        assert self.stored(url) is not None, f"no entry for {url} in {self.tokens_path} after login:\n{run.describe()}"
        return run

    def call(self, url: str, tool: str, *arguments: str, options: tuple[str, ...] = (), follow: bool = False,
             login_timeout: int = 10) -> Run:
        return self.run(
            "call", url, tool, *arguments,
            options=("--no-browser", "--timeout", str(login_timeout), *options), follow=follow,
        )

    # ------------------------------------------------------------------ the token cache

    def cache(self) -> dict[str, Any]:
        if not self.tokens_path.exists():
            return {}
        return json.loads(self.tokens_path.read_text())

    def stored(self, url: str) -> dict[str, Any] | None:
        return self.cache().get(url)

    def stored_value(self, url: str, *names: str) -> Any:
        """A field of the cached login for `url`, found by name wherever it sits (snake_case or
        camelCase, any depth): e.g. stored_value(url, "client_id")."""
        entry = self.stored(url)
        assert entry is not None, f"nothing cached for {url}: {sorted(self.cache())}"
        found = find_field(entry, {normalize(name) for name in names})
        assert found is not None, f"no {names} in the cached login: {sorted(flatten_keys(entry))}"
        return found


def normalize(name: str) -> str:
    return name.replace("_", "").replace("-", "").lower()


def find_field(value: Any, names: set[str]) -> Any:
    if isinstance(value, dict):
        for key, item in value.items():
            if normalize(key) in names and item not in (None, ""):
                return item
        for item in value.values():
            found = find_field(item, names)
            if found is not None:
                return found
    elif isinstance(value, list):
        for item in value:
            found = find_field(item, names)
            if found is not None:
                return found
    return None


def flatten_keys(value: Any, prefix: str = "") -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield prefix + key
            yield from flatten_keys(item, prefix + key + ".")


def expect_failure(run: Run, *patterns: str, code: int = 1) -> None:
    """Exit `code`, and a last stderr line "gatehouse: ..." matching one of `patterns` (regex,
    case-insensitive)."""
    assert run.code == code, f"expected exit code {code}:\n{run.describe()}"
    line = run.error_line
    assert line.startswith("gatehouse:"), f"the last stderr line should be 'gatehouse: ...':\n{run.describe()}"
    assert any(re.search(pattern, line, re.IGNORECASE) for pattern in patterns), (
        f"the error line {line!r} does not say what is wrong (expected one of {patterns}):\n{run.describe()}"
    )


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def expect_loopback_redirect(redirect_uri: str) -> int:
    """http://127.0.0.1:PORT/callback (RFC 8252 §7.3); returns PORT."""
    match = re.fullmatch(r"http://127\.0\.0\.1:(\d+)/callback", redirect_uri)
    assert match, f"redirect_uri {redirect_uri!r} is not http://127.0.0.1:PORT/callback"
    return int(match.group(1))


@pytest.fixture(autouse=True)
def _binary_has_the_client() -> None:
    if not BINARY.is_file():
        pytest.fail(f"gatehouse binary not found at {BINARY}; run `swift build` or set GATEHOUSE_BIN", pytrace=False)


@pytest.fixture
def cli(tmp_path: Path) -> CLI:
    return CLI(tmp_path)


# ======================================================================================
# a. Against our hub (embedded authorization server, --dev-auto-approve)
# ======================================================================================


@pytest.fixture(scope="module")
def client_hub():
    """A hub of this module's own (its registration rate limit and users are not shared)."""
    server = start_extra_server("client-hub", ["--dev-auto-approve"])
    try:
        yield server
    finally:
        server.stop(check=True)


@pytest.fixture(scope="module")
def hub_cli(client_hub: GatehouseServer):
    """One token cache shared by the hub tests below, in file order: logged in once."""
    with tempfile.TemporaryDirectory(prefix="gatehouse-cli-") as root:
        cli = CLI(Path(root))
        cli.first_login = cli.login(client_hub.mcp_url)  # type: ignore[attr-defined]
        yield cli


def test_login_against_the_hub(client_hub: GatehouseServer, hub_cli: CLI) -> None:
    """One URL to open on a stderr line of its own (other lines "gatehouse: ..."), an
    authorization request with PKCE S256, state and the resource, a native public client
    registered with a loopback redirect, and the login cached under the URL, mode 0600."""
    run: Run = hub_cli.first_login  # type: ignore[attr-defined]
    url = client_hub.mcp_url
    for line in run.stderr_lines:
        assert line.startswith("http") or line.startswith("gatehouse:"), f"stray stderr line {line!r}:\n{run.describe()}"
    assert len(run.urls) == 1, run.describe()
    authorize = run.urls[0]
    assert authorize.startswith(client_hub.base_url + "/authorize?"), run.describe()
    params = query_of(authorize)
    assert params.get("response_type") == "code", params
    assert params.get("code_challenge_method") == "S256" and len(params.get("code_challenge", "")) == 43, params
    assert len(params.get("state", "")) >= 16, f"state too short or missing: {params}"
    assert params.get("resource") == url, params
    port = expect_loopback_redirect(params.get("redirect_uri", ""))

    # The browser's trip ended at the CLI's loopback callback with a success page.
    assert len(run.followed) == 1 and run.followed[0].error is None, run.describe()
    assert run.followed[0].final_url.startswith(f"http://127.0.0.1:{port}/callback?"), run.describe()
    assert run.followed[0].status == 200, run.describe()

    # Dynamic registration as a native public client (RFC 7591 + RFC 8252).
    rows = client_hub.query("SELECT id, metadata FROM oauth_clients")
    assert len(rows) == 1, rows
    client_id, metadata = rows[0][0], json.loads(rows[0][1])
    assert params.get("client_id") == client_id
    assert metadata.get("token_endpoint_auth_method") == "none", metadata
    assert metadata.get("application_type") == "native", metadata
    assert params["redirect_uri"] in metadata.get("redirect_uris", []), metadata

    # The cache: keyed by the URL, owner-only, with the registration and both tokens.
    mode = hub_cli.tokens_path.stat().st_mode & 0o777
    assert mode == 0o600, f"{hub_cli.tokens_path} has mode {oct(mode)}, expected 0o600"
    assert list(hub_cli.cache()) == [url], sorted(hub_cli.cache())
    assert hub_cli.stored_value(url, "client_id", "clientID") == client_id
    assert hub_cli.stored_value(url, "access_token", "accessToken").count(".") == 2
    assert hub_cli.stored_value(url, "refresh_token", "refreshToken")


def test_call_add_uses_the_cached_token(client_hub: GatehouseServer, hub_cli: CLI) -> None:
    run = hub_cli.call(client_hub.mcp_url, "add", "a=2", "b=3", login_timeout=SHORT_LOGIN_TIMEOUT_S)
    assert run.code == 0 and run.stdout.strip() == "5", run.describe()
    assert not run.urls, f"the call logged in again instead of using the cached token:\n{run.describe()}"


def test_tools_table_and_json(client_hub: GatehouseServer, hub_cli: CLI) -> None:
    url = client_hub.mcp_url
    table = hub_cli.ok("tools", url, options=("--no-browser", "--timeout", str(SHORT_LOGIN_TIMEOUT_S)))
    lines = [line for line in table.stdout.splitlines() if line.strip()]
    assert lines and "NAME" in lines[0] and "DESCRIPTION" in lines[0], table.describe()
    names = sorted(line.split()[0] for line in lines[1:])
    assert names == HUB_TOOLS, table.describe()
    add_line = next(line for line in lines if line.split()[0] == "add")
    assert "Adds two numbers" in add_line, table.describe()

    as_json = hub_cli.ok("tools", url, options=("--json", "--no-browser", "--timeout", str(SHORT_LOGIN_TIMEOUT_S)))
    tools = json.loads(as_json.stdout)
    assert isinstance(tools, list), as_json.describe()
    assert sorted(tool["name"] for tool in tools) == HUB_TOOLS
    add = next(tool for tool in tools if tool["name"] == "add")
    assert add["inputSchema"]["required"] == ["a", "b"], add
    assert not table.urls and not as_json.urls


def test_call_arguments_json_and_tool_errors(client_hub: GatehouseServer, hub_cli: CLI) -> None:
    """key=value values are JSON when they parse, else strings; --json-args; --json prints
    the whole result; a tool result with isError exits 1 with its text on stderr."""
    url = client_hub.mcp_url
    whole = hub_cli.call(url, "add", "a=2", "b=3", options=("--json",))
    assert whole.code == 0, whole.describe()
    result = json.loads(whole.stdout)
    assert result.get("structuredContent") == {"result": 5}, result
    assert result["content"][0] == {"type": "text", "text": "5"} or result["content"][0]["text"] == "5", result

    by_json_args = hub_cli.call(url, "add", options=("--json-args", '{"a": 2.5, "b": 3}'))
    assert by_json_args.code == 0 and by_json_args.stdout.strip() == "5.5", by_json_args.describe()

    hello = hub_cli.call(url, "echo", "text=hello world")
    assert hello.code == 0 and hello.stdout.strip() == "hello world", hello.describe()
    # A JSON string stays a string ("2"), a bare 2 is a number, which echo refuses.
    quoted = hub_cli.call(url, "echo", 'text="2"')
    assert quoted.code == 0 and quoted.stdout.strip() == "2", quoted.describe()
    number = hub_cli.call(url, "echo", "text=2")
    assert number.code == 1, f"echo with a number should be a tool error:\n{number.describe()}"
    assert number.stdout.strip() == "", number.describe()
    assert re.search(r"invalid arguments", number.stderr, re.IGNORECASE), number.describe()


def test_call_whoami_is_the_dev_user(client_hub: GatehouseServer, hub_cli: CLI) -> None:
    run = hub_cli.call(client_hub.mcp_url, "whoami")
    assert run.code == 0 and DEV_USER in run.stdout, run.describe()
    whole = hub_cli.call(client_hub.mcp_url, "whoami", options=("--json",))
    assert whole.code == 0, whole.describe()
    who = json.loads(whole.stdout)["structuredContent"]
    assert who["email"] == DEV_USER and who["authenticated"] is True, who
    assert who["client_id"] == hub_cli.stored_value(client_hub.mcp_url, "client_id", "clientID"), who


def test_ping(client_hub: GatehouseServer, hub_cli: CLI) -> None:
    run = hub_cli.run("ping", client_hub.mcp_url, timeout=15)
    assert run.code == 0, run.describe()
    assert not run.urls, run.describe()


def test_no_token_in_any_output(client_hub: GatehouseServer, hub_cli: CLI) -> None:
    """Neither the access nor the refresh token appears in anything the CLI printed in this
    module so far, nor in the hub's log."""
    url = client_hub.mcp_url
    secrets_ = [
        hub_cli.stored_value(url, "access_token", "accessToken"),
        hub_cli.stored_value(url, "refresh_token", "refreshToken"),
    ]
    outputs = [(run.argv[1] + " stdout", run.stdout) for run in TRANSCRIPTS] + [
        (run.argv[1] + " stderr", run.stderr) for run in TRANSCRIPTS
    ]
    outputs.append(("hub log", client_hub.log_text()))
    for secret in secrets_:
        assert isinstance(secret, str) and len(secret) > 20
        for name, text in outputs:
            assert secret not in text, f"a token appears in the {name}"
            assert secret[-24:] not in text, f"the tail of a token appears in the {name}"


def test_logout_then_call_logs_in_again(client_hub: GatehouseServer, hub_cli: CLI) -> None:
    """logout forgets the login here and revokes its refresh token at the hub (RFC 7009), so a
    copy of the token is useless; the next call signs in again."""
    url = client_hub.mcp_url
    before = hub_cli.stored(url)
    assert before is not None and before.get("refreshToken"), hub_cli.cache()
    out = hub_cli.run("logout", url)
    assert out.code == 0, out.describe()
    assert "refresh token revoked" in out.stdout, out.describe()
    assert hub_cli.stored(url) is None, f"logout left {url} in the cache: {hub_cli.cache()}"
    reused = httpx2.post(
        client_hub.base_url + "/token",
        data={"grant_type": "refresh_token", "refresh_token": before["refreshToken"], "client_id": before["clientID"]},
        timeout=HTTP_TIMEOUT_S,
    )
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant", reused.text

    again = hub_cli.call(url, "add", "a=2", "b=3", follow=True)
    assert again.code == 0 and again.stdout.strip() == "5", again.describe()
    assert len(again.urls) == 1, f"expected one new login:\n{again.describe()}"
    assert hub_cli.stored(url) is not None

    everything = hub_cli.run("logout", options=("--all",))
    assert everything.code == 0, everything.describe()
    assert hub_cli.cache() == {}, hub_cli.cache()


def test_bad_usage_is_exit_64(cli: CLI) -> None:
    """A bad command line: exit 64 (EX_USAGE, sysexits.h) and an error that names what is wrong,
    before anything is contacted (port 9 is discard). 78 (EX_CONFIG) is for bad settings."""
    url = "http://127.0.0.1:9/mcp"
    cases = [
        (cli.call(url, "add", options=("--json-args", "{not json")), r"--json-args must be a JSON object"),
        (cli.call("not a url", "add", "a=1", "b=2"), r"not an MCP endpoint URL"),
        (cli.call(url, "add", "a"), r"is not key=value"),
        (cli.run("client-config", "emacs", url, config=False), r"claude|cursor|vscode"),
    ]
    for run, pattern in cases:
        assert run.code == EX_USAGE, f"expected exit code {EX_USAGE}:\n{run.describe()}"
        assert re.search(pattern, run.stderr, re.IGNORECASE), f"the error does not say {pattern!r}:\n{run.describe()}"


def test_client_config_snippets(cli: CLI) -> None:
    url = "http://127.0.0.1:8884/mcp"
    claude = cli.ok("client-config", "claude", url, config=False)
    assert re.search(r"claude mcp add --transport http \S+ " + re.escape(url), claude.stdout), claude.describe()
    for client in ("cursor", "vscode"):
        run = cli.ok("client-config", client, url, config=False)
        document = json.loads(run.stdout)
        assert url in json.dumps(document), run.describe()
        assert find_field(document, {"url"}) == url, document


# ======================================================================================
# b. Against the official Python SDK's server + authorization server
# ======================================================================================


def peer_requests(peer: PeerServer, path: str) -> list[dict[str, Any]]:
    response = httpx2.get(peer.base_url + "/_peer/requests", timeout=HTTP_TIMEOUT_S)
    assert response.status_code == 200, response.text
    return [entry for entry in response.json() if entry["path"] == path]


@pytest.fixture(scope="module")
def peer_cli(sdk_auth_peer: PeerServer):
    with tempfile.TemporaryDirectory(prefix="gatehouse-cli-peer-") as root:
        cli = CLI(Path(root))
        cli.first_login = cli.login(sdk_auth_peer.mcp_url)  # type: ignore[attr-defined]
        yield cli


def test_sdk_peer_login(sdk_auth_peer: PeerServer, peer_cli: CLI) -> None:
    """DCR and PKCE as the SDK implements them: one registration as a native public client,
    an authorization request with S256 and the resource, a token request with the verifier,
    the redirect URI and the resource."""
    run: Run = peer_cli.first_login  # type: ignore[attr-defined]
    url = sdk_auth_peer.mcp_url
    registrations = peer_requests(sdk_auth_peer, "/register")
    assert len(registrations) == 1 and registrations[0]["status"] == 201, registrations
    metadata = registrations[0]["json"]
    assert metadata.get("token_endpoint_auth_method") == "none", metadata
    assert metadata.get("application_type") == "native", metadata
    [redirect_uri] = metadata["redirect_uris"]
    expect_loopback_redirect(redirect_uri)

    authorizations = peer_requests(sdk_auth_peer, "/authorize")
    assert len(authorizations) == 1 and authorizations[0]["status"] == 302, authorizations
    query = authorizations[0]["query"]
    assert query.get("code_challenge_method") == "S256" and query.get("code_challenge"), query
    assert query.get("resource") == url, query
    assert query.get("redirect_uri") == redirect_uri, query
    assert "error=" not in authorizations[0]["location"], authorizations[0]

    tokens = peer_requests(sdk_auth_peer, "/token")
    assert len(tokens) == 1 and tokens[0]["status"] == 200, tokens
    form = tokens[0]["form"]
    assert form.get("grant_type") == "authorization_code", form
    assert form.get("code_verifier") == "<present>" and form.get("redirect_uri") == redirect_uri, form
    assert form.get("resource") == url, form
    assert run.urls and run.urls[0].startswith(sdk_auth_peer.base_url + "/authorize?"), run.describe()
    mode = peer_cli.tokens_path.stat().st_mode & 0o777
    assert mode == 0o600, oct(mode)


def test_sdk_peer_call_and_tools(sdk_auth_peer: PeerServer, peer_cli: CLI) -> None:
    url = sdk_auth_peer.mcp_url
    added = peer_cli.call(url, "add", "a=2", "b=3", login_timeout=SHORT_LOGIN_TIMEOUT_S)
    assert added.code == 0 and added.stdout.strip() == "5", added.describe()
    assert not added.urls, added.describe()

    table = peer_cli.ok("tools", url, options=("--no-browser", "--timeout", str(SHORT_LOGIN_TIMEOUT_S)))
    lines = [line for line in table.stdout.splitlines() if line.strip()]
    assert "NAME" in lines[0] and [line.split()[0] for line in lines[1:]] == ["add"], table.describe()
    assert "Add two integers" in lines[1], table.describe()
    as_json = peer_cli.ok("tools", url, options=("--json", "--no-browser", "--timeout", str(SHORT_LOGIN_TIMEOUT_S)))
    tools = json.loads(as_json.stdout)
    assert [tool["name"] for tool in tools] == ["add"], tools
    assert set(tools[0]["inputSchema"]["required"]) == {"a", "b"}, tools

    whole = peer_cli.call(url, "add", "a=2", "b=3", options=("--json",))
    assert whole.code == 0 and json.loads(whole.stdout).get("structuredContent") == {"result": 5}, whole.describe()
    ping = peer_cli.run("ping", url, timeout=15)
    assert ping.code == 0, ping.describe()


def test_sdk_peer_login_again_after_revocation(sdk_auth_peer: PeerServer, peer_cli: CLI) -> None:
    """The peer forgets every token (a server-side revocation), so the next call gets a 401,
    its refresh fails with invalid_grant and the CLI signs in again. The SDK matches redirect
    URIs exactly (no RFC 8252 port leeway), so the CLI must come back on the port it
    registered, or register again."""
    url = sdk_auth_peer.mcp_url
    forgotten = httpx2.post(sdk_auth_peer.base_url + "/_peer/revoke-all", timeout=HTTP_TIMEOUT_S)
    assert forgotten.status_code == 200 and forgotten.json()["forgotten"] >= 2, forgotten.text

    again = peer_cli.call(url, "add", "a=2", "b=3", follow=True)
    assert again.code == 0 and again.stdout.strip() == "5", again.describe()
    assert len(again.urls) == 1, again.describe()
    refreshes = [entry for entry in peer_requests(sdk_auth_peer, "/token") if entry["form"].get("grant_type") == "refresh_token"]
    assert refreshes and refreshes[-1]["status"] == 400, refreshes
    authorizations = peer_requests(sdk_auth_peer, "/authorize")
    assert authorizations[-1]["status"] == 302 and "error=" not in authorizations[-1]["location"], authorizations[-1]


def test_sdk_peer_refreshes_an_expired_access_token(tmp_path: Path) -> None:
    """A peer whose access tokens live 2 s: after they expire, `call` refreshes them at the
    SDK's token endpoint (rotating refresh tokens) instead of signing in again."""
    peer = PeerServer("sdk-auth-short-ttl", "sdk_auth_server.py", ["--access-token-ttl", "2"])
    try:
        peer.start()
    except RuntimeError as error:
        pytest.fail(str(error), pytrace=False)
    try:
        cli = CLI(tmp_path)
        url = peer.mcp_url
        cli.login(url)
        first_refresh = cli.stored_value(url, "refresh_token", "refreshToken")
        for _ in range(2):
            time.sleep(2.5)
            run = cli.call(url, "add", "a=2", "b=3", login_timeout=SHORT_LOGIN_TIMEOUT_S)
            assert run.code == 0 and run.stdout.strip() == "5", run.describe()
            assert not run.urls, f"the CLI signed in again instead of refreshing:\n{run.describe()}"
        refreshes = [entry for entry in peer_requests(peer, "/token") if entry["form"].get("grant_type") == "refresh_token"]
        assert len(refreshes) >= 2 and all(entry["status"] == 200 for entry in refreshes), refreshes
        assert all(entry["form"].get("resource") in (None, url) for entry in refreshes), refreshes
        assert cli.stored_value(url, "refresh_token", "refreshToken") != first_refresh, "the rotated refresh token was not kept"
    finally:
        peer.stop(check=True)


# ======================================================================================
# Discovery order (2026-07-28): fake servers that publish their metadata in one place only
# ======================================================================================

ROOT_AS = as_metadata_paths("")
TENANT_AS = as_metadata_paths("/tenant")
DISCOVERY_CASES = {
    # 401 without resource_metadata: path-aware, then root protected-resource metadata.
    "prm-at-root-only": (
        FakeConfig(challenge_metadata=False, prm_paths=[PRM_ROOT]),
        [PRM_PATH_AWARE, PRM_ROOT, ROOT_AS["oauth"]],
    ),
    # Issuer without a path: RFC 8414, then OpenID Connect discovery.
    "issuer-root-oidc-only": (
        FakeConfig(as_paths=[ROOT_AS["oidc-insert"]]),
        [PRM_PATH_AWARE, ROOT_AS["oauth"], ROOT_AS["oidc-insert"]],
    ),
    # Issuer with a path: RFC 8414 path-insert, OIDC path-insert, OIDC appended.
    "issuer-path-oauth": (
        FakeConfig(issuer_path="/tenant", as_paths=[TENANT_AS["oauth"]]),
        [PRM_PATH_AWARE, TENANT_AS["oauth"]],
    ),
    "issuer-path-oidc-insert": (
        FakeConfig(issuer_path="/tenant", as_paths=[TENANT_AS["oidc-insert"]]),
        [PRM_PATH_AWARE, TENANT_AS["oauth"], TENANT_AS["oidc-insert"]],
    ),
    "issuer-path-oidc-append": (
        FakeConfig(issuer_path="/tenant", as_paths=[TENANT_AS["oidc-append"]]),
        [PRM_PATH_AWARE, TENANT_AS["oauth"], TENANT_AS["oidc-insert"], TENANT_AS["oidc-append"]],
    ),
}


@pytest.mark.parametrize("case", list(DISCOVERY_CASES))
def test_discovery_order(cli: CLI, case: str) -> None:
    config, expected = DISCOVERY_CASES[case]
    with FakeServer(config) as fake:
        run = cli.run("login", fake.mcp_url, options=("--no-browser", "--timeout", "10"), follow=True)
        metadata_requests = [r.path for r in fake.requests if r.method == "GET" and "/.well-known/" in r.path]
        assert metadata_requests == expected, f"{fake.describe()}\n{run.describe()}"
        assert run.code == 0, f"{fake.describe()}\n{run.describe()}"
        [token_request] = fake.requests_to("/token")
        form = dict(parse_qs(token_request.body.decode()))
        assert form.get("resource") == [fake.mcp_url] and form.get("grant_type") == ["authorization_code"], form
        assert run.urls and run.urls[0].startswith(fake.base_url + "/authorize?"), run.describe()
        assert query_of(run.urls[0]).get("resource") == fake.mcp_url
        assert len(run.followed) == 1 and run.followed[0].status == 200, (
            f"the browser got no answer from the loopback callback:\n{run.describe()}"
        )
    assert cli.stored(fake.mcp_url) is not None


# ======================================================================================
# c. Errors: a clear message, exit code 1, no hang
# ======================================================================================


@pytest.mark.parametrize("command", ["login", "call"])
def test_server_without_any_metadata(cli: CLI, command: str) -> None:
    """401 without resource_metadata and 404 on every well-known: nothing to sign in with."""
    with FakeServer(FakeConfig(no_metadata=True)) as fake:
        if command == "login":
            run = cli.run("login", fake.mcp_url, options=("--no-browser", "--timeout", "5"))
        else:
            run = cli.call(fake.mcp_url, "add", "a=1", "b=2", login_timeout=5)
        expect_failure(run, r"metadata", r"oauth-protected-resource", r"discover", r"authorization server")
        assert not run.urls, run.describe()
        assert fake.requests_to("/.well-known/oauth-protected-resource/mcp"), fake.describe()
        assert fake.requests_to("/.well-known/oauth-protected-resource"), fake.describe()
        assert not fake.requests_to("/register"), fake.describe()
    assert cli.stored(fake.mcp_url) is None


@pytest.mark.parametrize("methods", [None, ["plain"]], ids=["no-methods", "plain-only"])
def test_authorization_server_without_s256(cli: CLI, methods: list[str] | None) -> None:
    with FakeServer(FakeConfig(pkce_methods=methods)) as fake:
        run = cli.run("login", fake.mcp_url, options=("--no-browser", "--timeout", "5"))
        expect_failure(run, r"S256", r"PKCE")
        assert not run.urls, run.describe()
        assert fake.requests_to("/.well-known/oauth-authorization-server"), fake.describe()
        assert not fake.requests_to("/register") and not fake.requests_to("/authorize"), fake.describe()


def test_issuer_mismatch(cli: CLI) -> None:
    """RFC 8414 §3.3: the issuer in the metadata must be the one it was fetched for."""
    with FakeServer() as fake:
        fake.config.issuer = fake.base_url + "/elsewhere"
        run = cli.run("login", fake.mcp_url, options=("--no-browser", "--timeout", "5"))
        expect_failure(run, r"issuer")
        assert not run.urls, run.describe()
        assert not fake.requests_to("/register") and not fake.requests_to("/authorize"), fake.describe()


def test_state_mismatch(cli: CLI) -> None:
    """A callback whose state is not the one sent is refused, and its code never redeemed."""
    with FakeServer(FakeConfig(authorize_state="forged-state")) as fake:
        run = cli.run("login", fake.mcp_url, options=("--no-browser", "--timeout", "15"), follow=True)
        expect_failure(run, r"state")
        assert len(run.urls) == 1 and len(run.followed) == 1, run.describe()
        assert run.followed[0].status is not None, (
            f"the loopback callback dropped the browser's connection instead of answering it:\n{run.describe()}"
        )
        assert run.followed[0].final_url.startswith("http://127.0.0.1:"), run.describe()
        assert "Signed in" not in run.followed[0].page, f"the browser was told the sign-in worked:\n{run.describe()}"
        assert len(fake.requests_to("/register")) == 1 and len(fake.requests_to("/authorize")) == 1, fake.describe()
        assert not fake.requests_to("/token"), f"the CLI redeemed a code with a forged state:\n{fake.describe()}"
        assert run.seconds < 14, f"the CLI waited for the timeout instead of refusing the callback:\n{run.describe()}"
    assert cli.stored(fake.mcp_url) is None or find_field(cli.stored(fake.mcp_url), {"accesstoken"}) is None


def test_authorization_response_from_another_issuer(cli: CLI) -> None:
    """RFC 9207: the AS advertises authorization_response_iss_parameter_supported, and the
    callback's `iss` names another issuer (a mix-up): refused, the code never redeemed."""
    with FakeServer(FakeConfig(authorize_iss="https://evil.example.test")) as fake:
        run = cli.run("login", fake.mcp_url, options=("--no-browser", "--timeout", "15"), follow=True)
        expect_failure(run, r"\biss\b", r"issuer", r"mix-up")
        assert len(run.followed) == 1 and run.followed[0].status is not None, (
            f"the loopback callback dropped the browser's connection instead of answering it:\n{run.describe()}"
        )
        assert "Signed in" not in run.followed[0].page, f"the browser was told the sign-in worked:\n{run.describe()}"
        assert not fake.requests_to("/token"), f"the CLI redeemed a code from another issuer:\n{fake.describe()}"
        assert run.seconds < 14, run.describe()


def test_callback_timeout(client_hub: GatehouseServer, cli: CLI) -> None:
    """Nobody opens the URL: the CLI gives up after --timeout and says so."""
    run = cli.run("login", client_hub.mcp_url, options=("--no-browser", "--timeout", str(SHORT_LOGIN_TIMEOUT_S)), timeout=20)
    expect_failure(run, r"timed out", r"timeout", r"no response", r"did not", r"waited")
    assert len(run.urls) == 1, run.describe()
    assert SHORT_LOGIN_TIMEOUT_S - 0.5 <= run.seconds < SHORT_LOGIN_TIMEOUT_S + 10, run.describe()
    assert cli.stored(client_hub.mcp_url) is None or find_field(cli.stored(client_hub.mcp_url), {"accesstoken"}) is None


# ------------------------------------------------------------------ refresh failures on a real hub


@dataclass
class DamagedLogins:
    hub: GatehouseServer
    revoked: CLI  # its refresh token was revoked through /revoke
    unregistered: CLI  # its client registration and refresh families were deleted from the store
    unregistered_client_id: str


@pytest.fixture(scope="module")
def damaged_logins():
    """A hub whose access tokens live 10 s; two logins, one with its refresh token revoked,
    one whose client was deleted from the store; then 11 s, so both access tokens expired."""
    hub = start_extra_server(
        "client-short-ttl",
        ["--dev-auto-approve", "--env", "GATEHOUSE_ACCESS_TOKEN_TTL=10", "--env", "GATEHOUSE_JWT_LEEWAY=0"],
    )
    try:
        with tempfile.TemporaryDirectory(prefix="gatehouse-cli-damaged-") as root:
            revoked, unregistered = CLI(Path(root) / "revoked"), CLI(Path(root) / "unregistered")
            url = hub.mcp_url
            revoked.login(url)
            unregistered.login(url)
            logged_in_at = time.monotonic()

            client_id = revoked.stored_value(url, "client_id", "clientID")
            response = httpx2.post(
                hub.base_url + "/revoke",
                data={"token": revoked.stored_value(url, "refresh_token", "refreshToken"), "client_id": client_id},
                timeout=HTTP_TIMEOUT_S,
            )
            assert response.status_code == 200, response.text
            assert hub.query("SELECT count(*) FROM oauth_refresh_families WHERE client_id = ? AND revoked_at IS NULL", (client_id,))[0][0] == 0

            gone = unregistered.stored_value(url, "client_id", "clientID")
            assert gone != client_id
            connection = sqlite3.connect(hub.database_path, timeout=5.0)
            try:
                with connection:
                    connection.execute("DELETE FROM oauth_refresh_tokens WHERE family_id IN (SELECT id FROM oauth_refresh_families WHERE client_id = ?)", (gone,))
                    connection.execute("DELETE FROM oauth_refresh_families WHERE client_id = ?", (gone,))
                    connection.execute("DELETE FROM oauth_clients WHERE id = ?", (gone,))
            finally:
                connection.close()
            assert hub.query("SELECT count(*) FROM oauth_clients WHERE id = ?", (gone,))[0][0] == 0

            time.sleep(max(0.0, logged_in_at + 11.0 - time.monotonic()))
            yield DamagedLogins(hub, revoked, unregistered, gone)
    finally:
        hub.stop(check=True)


def test_revoked_refresh_token_needs_a_new_login(damaged_logins: DamagedLogins) -> None:
    """The access token expired and its refresh token was revoked: `call` starts a new login.
    Nobody follows it: it fails, saying the user must sign in again. With the browser: 5."""
    url, cli = damaged_logins.hub.mcp_url, damaged_logins.revoked
    alone = cli.call(url, "add", "a=2", "b=3", login_timeout=SHORT_LOGIN_TIMEOUT_S)
    expect_failure(alone, r"sign(ing)?[ -]in", r"log(ging)?[ -]?in")
    assert re.search(r"(sign(ing)?[ -]in|log(ging)?[ -]?in) again", alone.stderr, re.IGNORECASE), alone.describe()
    assert len(alone.urls) == 1, f"expected a new login to start:\n{alone.describe()}"

    followed = cli.call(url, "add", "a=2", "b=3", follow=True)
    assert followed.code == 0 and followed.stdout.strip() == "5", followed.describe()
    assert len(followed.urls) == 1, followed.describe()


def test_deleted_registration_registers_again(damaged_logins: DamagedLogins) -> None:
    """The hub no longer knows the client: the refresh fails (invalid_client / invalid_grant),
    the CLI registers again, signs in (followed) and the call succeeds."""
    hub, cli = damaged_logins.hub, damaged_logins.unregistered
    url = hub.mcp_url
    run = cli.call(url, "add", "a=2", "b=3", follow=True)
    assert run.code == 0 and run.stdout.strip() == "5", run.describe()
    assert len(run.urls) == 1, run.describe()
    new_id = cli.stored_value(url, "client_id", "clientID")
    assert new_id != damaged_logins.unregistered_client_id, "the CLI kept the deleted registration"
    assert hub.query("SELECT count(*) FROM oauth_clients WHERE id = ?", (new_id,))[0][0] == 1
    assert query_of(run.urls[0]).get("client_id") == new_id, run.describe()
