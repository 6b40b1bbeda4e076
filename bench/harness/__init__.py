"""Authenticated HTTP benchmark: Gatehouse against FastMCP, the official Python MCP SDK server and the ceiling.

Run it through bench/http.sh, which installs wrk and the Python packages and builds the release binaries
(gatehouse and bench-ceiling):

    bench/http.sh [--duration 10] [--warmup 3] [--rounds 3] [--connections 16] [--threads 2]

or directly, from bench/.venv with bench/ on the module path:

    PYTHONPATH=bench bench/.venv/bin/python -m harness --gatehouse-bin .build/release/gatehouse \
        --ceiling-bin .build/release/bench-ceiling [options]

What it does, one server at a time:
  1. A local OAuth issuer (a thread here) generates an RSA key and serves RFC 8414 metadata
     (/.well-known/oauth-authorization-server) and the JWKS (/jwks) on 127.0.0.1.
  2. Each server starts pinned to one core (`taskset -c 0`), on a free 127.0.0.1 port, verifying RS256
     tokens from that issuer (iss, aud = the server's MCP endpoint URL, exp, signature by JWKS kid).
  3. Probes: a tools/call with the token must answer 200 with the sum, one without a token must be
     refused (401) when auth is on. Session runs first do initialize + notifications/initialized. The
     ceiling has no auth: its call must echo the id and the exact sum, and no refusal is tried; Gatehouse
     with auth off and the token sent gets the call only.
  4. wrk (pinned to another core) warms up, then measures: req/s and latency percentiles from
     bench/wrk/mcp_call.lua, server CPU time (utime+stime of the server's process tree from
     /proc/PID/stat, after minus before, per request) and peak RSS (VmHWM).
  5. The server is stopped (SIGTERM, then SIGKILL), and the next one starts.

Runs: Gatehouse, FastMCP and the SDK in the stateless 2026-07-28 protocol and in a 2025-11-25 session,
all with auth, plus Gatehouse stateless with auth off, and with auth off while wrk sends the token all the
same (the cost of carrying the header), plus the ceiling (bench/Ceiling, `bench-ceiling --port P`: a bare
Hummingbird route that decodes the same stateless request with JSONDecoder and answers the sum, with no auth
and no MCP checks; the report gives Gatehouse's req/s as shares of it). The runs of that comparison (the
three Gatehouse stateless runs and the ceiling) are measured --rounds times (default 3), interleaved round by
round, each time in a fresh server process; the report takes each one's median round. The other runs are
measured once, before the rounds. A server that fails to start or to answer is recorded as failed with the
reason, and the others still run. Results: bench/results/http-latest.json, .md and .png; server logs and raw
wrk output in bench/results/tmp/ (a round's files end in -r1, -r2, ...).

Modules: __main__ (entry point), options (command line), benchmark (every run, the report), runs (what
a run is), rounds (the order of the rounds, a repeated run's median round), issuer (tokens, JWKS), servers
(each server's process), probes (MCP checks before the load), http_client, wrk (the load), measure (one
measurement's figures), procstats (/proc), pinning (taskset), environment (machine, versions), comparisons
(ratios, auth cost, the ceiling), markdown_report, chart, results (the output files), paths and console.
"""
