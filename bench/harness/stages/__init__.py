"""Where the time goes: a stage profile of Gatehouse's authenticated hot path under wrk, sampled with perf.

Run it through bench/profile.sh, which installs wrk and perf and builds the release binary:

    bench/profile.sh [--duration 10] [--warmup 3] [--mode stateless|session] [--no-auth] [--debug]

or directly, from bench/.venv with bench/ on the module path:

    PYTHONPATH=bench bench/.venv/bin/python -m harness.stages --gatehouse-bin .build/release/gatehouse

What it does:
  1. Starts the local OAuth issuer and the release Gatehouse hub as the benchmark does (run
     gatehouse-stateless: JWT auth, pinned to CPU 0 with taskset, wrk on CPU 1), checks it with the
     benchmark's probes, and warms it up with wrk.
  2. Runs wrk (stateless 2026-07-28 `tools/call add`, 16 connections, 2 threads, 10 s by default: the
     benchmark's load) while `perf record -e cpu-clock -F 999 -g -p <server pid> -- sleep <s>` samples the
     server process (cpu-clock, a software timer: this VM has no hardware counters). perf runs on wrk's CPU;
     its recording starts before wrk and ends after it, so every request of the run is inside the window.
     taskset execs the server, so the Popen pid is the server's; this is checked through /proc/PID/exe.
  3. `perf script --no-demangle` gives each sample's call chain; Swift symbols are demangled with
     `swift demangle` and every sample is given to one stage (below).
  4. Writes bench/results/profile-latest.md and .json: wrk's req/s during the profiled run (perf sampling
     slows the server, so this is not the benchmark's figure), the server's CPU time per request from
     /proc, and per stage its share of the server's CPU samples and µs per request (share × server CPU
     seconds / requests), then the top self-time symbols.

Classification of a sample:
  - a sample whose leaf frame is in the kernel ([kernel.kallsyms]) is "kernel: TCP, syscalls, scheduling";
  - otherwise the call chain is walked from the leaf towards the root and the sample goes to the stage of the
    FIRST frame that matches a stage's patterns, so retain/release or malloc called from the JSON parser
    count as JSON parsing, and a frame of the middleware that calls the verifier counts only for what is not
    spent below it in a nearer stage;
  - a sample with no matching frame at all is "other (Swift runtime, libc, unattributed)".
  A frame's text is its demangled name (`swift demangle`, then c++filt for the runtime's C++) reduced to the
  entity it belongs to: generic arguments, parameter lists and return types are dropped ("generic
  specialization <GatehouseServer.Context> of Hummingbird.Router.respond(...) -> ..." becomes "generic
  specialization <> of Hummingbird.Router.respond()"), so a function is not claimed by the types it merely
  takes or returns; private names lose their file discriminator ("(JSONParser in _040C…)" is "JSONParser").
  The patterns (STAGES) are regular expressions on that text, and some also on the frame's library file
  name; a frame that matches several stages takes the first in STAGES ("in conformance
  GatehouseServer.AuthMiddleware : Hummingbird.RouterMiddleware" is a token check, not Hummingbird).

Limits: cpu-clock samples at 999 Hz, so a 10 s run at full load gives about 10 000 samples (a stage under 1 %
is noise); attribution is inclusive by the nearest stage frame, so a stage's figure holds the runtime and
library work it called; inlining across modules moves cost between stages (a specialised NIO or stdlib
function inlined into a Gatehouse frame counts as Gatehouse); frames of libraries built without frame
pointers (libc) can hide their immediate caller; Swift async code only has the current synchronous part of
a task on the stack, so time is attributed to the stage of the partial function that is running.

Exit status 0 when the profile was written and every request answered 2xx, 1 when the server failed or wrk
saw errors (nothing is written on failure), 130 when interrupted.

Modules: __main__ (entry point), options (command line), profiler (one profile: issuer, server, wrk, perf),
perf (perf record, perf script, demangling), classify (the stages and each sample's stage) and report (the
figures, --debug output, Markdown and the files).
"""
