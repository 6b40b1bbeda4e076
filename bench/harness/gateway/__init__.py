"""Gateway benchmark: what `gatehouse gateway` adds in front of an MCP server, against the same server called
directly in the same run.

Run it through bench/gateway.sh, which installs wrk and the Python packages and builds the release binary:

    bench/gateway.sh [--duration 10] [--warmup 3] [--rounds 3] [--rows hub-stateless,...] [--note TEXT]

or directly, from bench/.venv with bench/ on the module path:

    PYTHONPATH=bench bench/.venv/bin/python -m harness.gateway --gatehouse-bin .build/release/gatehouse [options]

Rows (--rows; runs.ROWS): an upstream, the client's protocol, and what the gateway speaks to the upstream:
  hub-stateless                     `gatehouse hub --provider none`, 2026-07-28 stateless client, gateway on auto
  hub-session                       the hub, 2025-11-25 session client, gateway on auto
  hub-session-upstream-session      the same, the gateway forced to a 2025-11-25 session toward the hub
                                    (a --config file with "protocol": "session"): downstream session → upstream session
  fastmcp-session                   FastMCP 4.1.2 (bench/peers/fastmcp_server.py --no-auth, stateful), session
                                    client, gateway on auto
  fastmcp-session-upstream-session  the same, the gateway forced to a session toward FastMCP
  fastmcp-stateless                 FastMCP, 2026-07-28 stateless client, gateway on auto (also FastMCP's own
                                    figures in the protocol a gateway on auto speaks to it)
"Auto" is what `--upstream NAME=URL` does: a stateless client is served with 2026-07-28 when the upstream's
server/discover offers it, a downstream session with an upstream session of its own (unless the upstream refuses
initialize), and with no 2026-07-28 everyone gets sessions. The report says what each upstream offered (the harness asks its server/discover
itself) and which era each gateway used (its "upstream protocol found" log line, at --log-level info, which logs
nothing per request).

Every row is measured under two loads: the latency load (wrk -t1 -c1: nothing queues, so the p50 difference is
the time the gateway adds to one call) and the throughput load (wrk -t2 -c16, the main benchmark's). Each target
(an upstream directly, or the gateway in front of it, under one load) is measured --rounds times, interleaved:
round 1 measures every target once, with each row's direct and gateway targets side by side, then round 2, and so
on; every measurement starts fresh processes (the upstream, and the gateway), checks them with a call (the main
harness's probe: a 200 with the sum), warms up, and measures. The report's figures are medians over the rounds,
figure by figure, and every comparison is against the direct upstream of the same run; where the gateway spoke
the upstream another protocol than the client spoke (a session client, a stateless upstream), the report also
compares it with the upstream called directly in that protocol, if the run measured it.

Placement (2 cores): the upstream is pinned where the main harness pins servers (CPU 0), wrk to CPU 1, and the
gateway to wrk's CPU by default (--gateway-cpu), so it never takes CPU time from the upstream: in front of FastMCP
this asks whether the gateway is ever the bottleneck. In front of the hub the gateway shares its core with wrk,
and the throughput there is what one core left over by wrk serves. The CPU time of the upstream, the gateway,
wrk and everything else is read from /proc over each measured run; other processes above 5 % of a measurement
are listed as problems.

The request is the main benchmark's (bench/wrk/mcp_call.lua: tools/call add {a: N, b: 1}, a unique id per
request); through the gateway the tool is NAME_add (hub_add, fastmcp_add). Auth is off everywhere: the gateway
runs with --provider none, so this measures forwarding, not token checks.

Results: bench/results/gateway-latest.md and .json; logs, wrk output and working directories in
bench/results/tmp/gateway/.

Modules: __main__ (entry point), options (command line), runs (rows, targets, the order of the rounds), stack
(the upstream and gateway processes of one measurement), probes (server/discover, the gateway's era), measure
(one measurement), benchmark (every measurement, the report), comparisons (medians, what the gateway adds, the
goals) and report (Markdown and JSON).
"""
