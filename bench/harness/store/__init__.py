"""Store benchmark: the same hub workloads on the SQLite store and on the PostgreSQL store, in one run, on the same
machine, with the same release binary and the same settings but the store.

Run it through bench/store.sh, which installs wrk and the Python packages and builds the release binary:

    bench/store.sh [--workers 8] [--login-duration 15] [--refresh-duration 10] [--tool-duration 8] [--warmup 2]

or directly, from bench/.venv with bench/ on the module path (as root, or as a user who can run PostgreSQL):

    PYTHONPATH=bench bench/.venv/bin/python -m harness.store --gatehouse-bin .build/release/gatehouse [options]

Each backend gets a fresh hub (`gatehouse hub --dev-auto-approve` with the embedded authorization server, the same
GATEHOUSE_SECRET_KEY): first SQLite (`--database-path`, a new file), then PostgreSQL (`--database-url`, a throwaway
cluster from scripts/postgres.sh, made durable like the SQLite store unless --postgres-durability throwaway). The
hub, and PostgreSQL with it, run on one CPU (--server-cpu), the load generators (these Python workers, wrk) on the
other (--client-cpu), so the hub and its database share one core in both cases. On each hub, in this order:

  logins     --workers threads, each with a client registered once (RFC 7591) and a keep-alive connection, loop
             for --login-duration seconds: GET /authorize (auto-approved: the 303 carries the code), POST /token
             with the code and the PKCE verifier; completed logins/s and their latency as the client saw it
  refresh    the same workers, each rotating its latest refresh token (POST /token grant_type=refresh_token)
             for --refresh-duration seconds; rotations/s and latency
  whoami     one login's access token, wrk (1 thread, --connections) calling tools/call whoami (2026-07-28
             stateless) for --tool-duration seconds: no store access after the first request (the user is cached)
  notes_add  the same token after add_tool notes (max_notes 10000): each call a store transaction that locks the
             user's row, counts the notes against the quota and inserts one; measured in rounds of --notes-round
             seconds (--tool-duration in all), each from an empty notebook (remove_tool and add_tool between rounds,
             not timed), as the quota would stop a fast store within seconds; the percentiles merge the rounds
             (the wrk script's latency at every 0.1 %, weighted by each round's requests)
  notes_list the newest 20 notes of the notebook the last notes_add round filled: a read per call

Every phase has a warm-up of --warmup seconds first (not counted). For each phase the report gives the rate, the
latency percentiles and the CPU time per operation of the hub and of PostgreSQL (its whole process tree), and on
PostgreSQL what its backends were doing (pg_stat_activity sampled every 100 ms: on CPU, waiting for a lock, for the
WAL, or idle inside a transaction waiting for the hub) and its commit, rollback and deadlock counters.

Results: bench/results/store-latest.md and .json; hub logs, wrk output and psql samples in bench/results/tmp/store/.

Modules: __main__ (entry point), options (command line), backends (the hub on each store, the PostgreSQL cluster),
pgstats (PostgreSQL counters and wait sampling), oauth_load (the login and refresh workers), benchmark (the phases on
each backend) and report (Markdown and JSON).
"""
