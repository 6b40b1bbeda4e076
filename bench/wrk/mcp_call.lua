-- wrk script for bench/harness: POST /mcp `tools/call add` with a JSON-RPC id of its own per request.
--
--   wrk -t2 -c16 -d10s --latency -s bench/wrk/mcp_call.lua http://127.0.0.1:PORT/mcp [-- key=value ...]
--
-- Settings come from the environment, or from `key=value` arguments after `--` (which win):
--   MCP_BENCH_MODE      / mode=      stateless (2026-07-28: Mcp-Method/Mcp-Name headers, `_meta` envelope)
--                                    or session (Mcp-Session-Id, no `_meta`); default stateless
--   MCP_BENCH_PROTOCOL  / protocol=  MCP-Protocol-Version header; default 2026-07-28 (stateless) or
--                                    2025-11-25 (session)
--   MCP_BENCH_TOOL      / tool=      the name the `add` tool is called by (Mcp-Name and params.name); default
--                                    add (through a gateway, upstream `hub`'s add is hub_add)
--   MCP_BENCH_TOKEN     / token=     bearer token for the Authorization header (none if empty)
--   MCP_BENCH_SESSION   / session=   Mcp-Session-Id (session mode)
--   MCP_BENCH_ID_BASE   / id_base=   added to every id, so two wrk runs against one session never reuse
--                                    an id (a request still in flight from the warm-up could otherwise
--                                    collide with the measured run); default 0
--   MCP_BENCH_ARGUMENTS / arguments= the tool's arguments, a JSON object sent as is on every request
--                                    (bench/store.sh: notes_add, notes_list, whoami); default
--                                    {"a":N,"b":1} with N counting requests
--   MCP_BENCH_QUANTILES              1 adds "quantiles_us" to the result line: the latency at every 0.1 %
--                                    (0.1 … 100), so several runs' distributions can be merged
--                                    (environment only: done() does not see the script's arguments)
--
-- Ids are id_base + counter * 1000 + thread index: unique across requests and across wrk threads
-- (up to 1000 threads). In session mode two in-flight requests with the same id would hang.
--
-- done() prints one JSON line: requests, duration_us, bytes, non2xx, rpc_errors (2xx responses that
-- carry a JSON-RPC error or a tool result with isError true), errors (wrk's socket errors and its
-- status>399 count), the first non-2xx status and body seen, and latency percentiles in microseconds.

local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("thread_index", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

local counter = 0
-- Globals, not locals: done() reads them from each thread with thread:get().
non2xx = 0
rpc_errors = 0
first_bad_status = 0
first_bad_body = ""
local mode = "stateless"
local id_base = 0
-- Read in done(), which runs in the main Lua state: init() only runs in each thread's state.
local quantiles = os.getenv("MCP_BENCH_QUANTILES") or ""
local body_format

local function setting(args, key, env_name, default)
  for _, arg in ipairs(args or {}) do
    local k, v = string.match(arg, "^([%w_]+)=(.*)$")
    if k == key then return v end
  end
  local value = os.getenv(env_name)
  if value == nil or value == "" then return default end
  return value
end

function init(args)
  mode = setting(args, "mode", "MCP_BENCH_MODE", "stateless")
  local default_protocol = (mode == "session") and "2025-11-25" or "2026-07-28"
  local protocol = setting(args, "protocol", "MCP_BENCH_PROTOCOL", default_protocol)
  local tool = setting(args, "tool", "MCP_BENCH_TOOL", "add")
  local token = setting(args, "token", "MCP_BENCH_TOKEN", "")
  local session = setting(args, "session", "MCP_BENCH_SESSION", "")
  id_base = tonumber(setting(args, "id_base", "MCP_BENCH_ID_BASE", "0")) or 0
  -- Fixed arguments go into the format as they are: any % in them is doubled for string.format.
  local fixed = setting(args, "arguments", "MCP_BENCH_ARGUMENTS", "")
  local arguments = (fixed ~= "") and string.gsub(fixed, "%%", "%%%%") or '{"a":%d,"b":1}'

  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Accept"] = "application/json, text/event-stream"
  wrk.headers["MCP-Protocol-Version"] = protocol
  if token ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. token
  end
  if mode == "session" then
    if session ~= "" then
      wrk.headers["Mcp-Session-Id"] = session
    end
    body_format = '{"jsonrpc":"2.0","id":%.0f,"method":"tools/call","params":{"name":"' .. tool .. '",'
      .. '"arguments":' .. arguments .. '}}'
  else
    wrk.headers["Mcp-Method"] = "tools/call"
    wrk.headers["Mcp-Name"] = tool
    body_format = '{"jsonrpc":"2.0","id":%.0f,"method":"tools/call","params":{"name":"' .. tool .. '",'
      .. '"arguments":' .. arguments .. ','
      .. '"_meta":{"io.modelcontextprotocol/protocolVersion":"' .. protocol .. '",'
      .. '"io.modelcontextprotocol/clientCapabilities":{}}}}'
  end
end

function request()
  counter = counter + 1
  local id = id_base + counter * 1000 + (thread_index or 0)
  local body = string.format(body_format, id, counter % 1000000)
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if first_bad_status == 0 then
      first_bad_status = status
      first_bad_body = string.sub(body or "", 1, 300)
    end
  elseif body and (string.find(body, '"isError"%s*:%s*true') or string.find(body, '"error"%s*:%s*{')) then
    rpc_errors = rpc_errors + 1
    if first_bad_status == 0 then
      first_bad_status = status
      first_bad_body = string.sub(body, 1, 300)
    end
  end
end

-- ',"quantiles_us":[...]' (the latency at 0.1 %, 0.2 %, … 100 %) when asked for, else "".
local function quantile_member(latency)
  if quantiles == "" or quantiles == "0" then return "" end
  local values = {}
  for i = 1, 1000 do
    values[i] = string.format("%d", latency:percentile(i / 10))
  end
  return ',"quantiles_us":[' .. table.concat(values, ",") .. ']'
end

local function json_string(s)
  s = string.gsub(s, '[%c"\\]', function(c)
    if c == '"' then return '\\"' end
    if c == "\\" then return "\\\\" end
    return string.format("\\u%04x", string.byte(c))
  end)
  return '"' .. s .. '"'
end

function done(summary, latency, requests)
  local total_non2xx, total_rpc_errors = 0, 0
  local bad_status, bad_body = 0, ""
  for _, thread in ipairs(threads) do
    total_non2xx = total_non2xx + (thread:get("non2xx") or 0)
    total_rpc_errors = total_rpc_errors + (thread:get("rpc_errors") or 0)
    local status = thread:get("first_bad_status") or 0
    if bad_status == 0 and status ~= 0 then
      bad_status = status
      bad_body = thread:get("first_bad_body") or ""
    end
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"bytes":%d,"non2xx":%d,"rpc_errors":%d,'
      .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
      .. '"first_bad_status":%d,"first_bad_body":%s,'
      .. '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f,"stdev":%.1f}%s}\n',
    summary.requests, summary.duration, summary.bytes, total_non2xx, total_rpc_errors,
    e.connect, e.read, e.write, e.status, e.timeout,
    bad_status, json_string(bad_body),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean, latency.stdev, quantile_member(latency)))
end
