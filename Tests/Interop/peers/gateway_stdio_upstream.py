"""A stdio upstream MCP server for the `gatehouse gateway` tests, written with the official Python
SDK (mcp==2.3.0, MCPServer, stdio transport: newline-delimited JSON-RPC on stdin/stdout).

Tools:
  shout(text) -> text.upper() + "!"
  crash()     -> the process exits at once (os._exit(3)) without answering
  pid()       -> the process id, so a test can tell a restarted process from the first

Every start appends a line "started <pid>" to the file named by $GATEWAY_STDIO_STARTS, if set.

Run:  python gateway_stdio_upstream.py   (the gateway starts it: `--upstream NAME=stdio:python3 this.py`)
"""

from __future__ import annotations

import os
import sys

from mcp.server.mcpserver import MCPServer


def main() -> int:
    starts = os.environ.get("GATEWAY_STDIO_STARTS")
    if starts:
        with open(starts, "a", encoding="utf-8") as file:
            file.write(f"started {os.getpid()}\n")
    server = MCPServer("stdio-upstream", version="1")

    @server.tool()
    def shout(text: str) -> str:
        """Upper-case the text and add an exclamation mark."""
        return text.upper() + "!"

    @server.tool()
    def crash() -> str:
        """Exit the process at once, without answering."""
        sys.stderr.write("stdio upstream: crash() called, exiting\n")
        sys.stderr.flush()
        os._exit(3)

    @server.tool()
    def pid() -> int:
        """This process's id."""
        return os.getpid()

    server.run("stdio")
    return 0


if __name__ == "__main__":
    sys.exit(main())
