"""A stdio upstream MCP server for the soak and the faults, written with the official Python SDK
(mcp, MCPServer, stdio transport). Like Tests/Interop/peers/gateway_stdio_upstream.py, plus a
tool that streams progress slowly, so the process can be killed in the middle of a call.

Tools:
  shout(text)              -> text.upper() + "!"
  pid()                    -> this process's id (a restarted process has another)
  slow_count(n, step=0.5)  reports progress 1..n, sleeping `step` seconds before each, then
                           returns "counted to n"

Every start appends "started <pid>" to the file named by $SOAK_STDIO_STARTS, if set.

Run:  python slow_stdio.py   (the gateway starts it: `--upstream 'NAME=stdio:python3 slow_stdio.py'`)
"""

from __future__ import annotations

import asyncio
import os
import sys

from mcp.server.mcpserver import Context, MCPServer


def main() -> int:
    starts = os.environ.get("SOAK_STDIO_STARTS")
    if starts:
        with open(starts, "a", encoding="utf-8") as file:
            file.write(f"started {os.getpid()}\n")
    server = MCPServer("soak-stdio", version="1")

    @server.tool()
    def shout(text: str) -> str:
        """Upper-case the text and add an exclamation mark."""
        return text.upper() + "!"

    @server.tool()
    def pid() -> int:
        """This process's id."""
        return os.getpid()

    @server.tool()
    async def slow_count(n: int, ctx: Context, step: float = 0.5) -> str:
        """Count to n, reporting progress at every step."""
        for i in range(1, n + 1):
            await asyncio.sleep(step)
            await ctx.report_progress(i, n, f"step {i} of {n}")
        return f"counted to {n}"

    server.run("stdio")
    return 0


if __name__ == "__main__":
    sys.exit(main())
