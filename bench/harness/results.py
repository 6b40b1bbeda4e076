"""Writing the report to disk: <output>.json, .md and .png."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .chart import chart
from .console import log
from .markdown_report import markdown


@dataclass(frozen=True)
class ResultFiles:
    """The three files a report is written to."""

    json: Path
    markdown: Path
    png: Path

    @classmethod
    def at(cls, output: Path) -> ResultFiles:
        """The files for `output`, a path without suffix."""
        return cls(output.with_suffix(".json"), output.with_suffix(".md"), output.with_suffix(".png"))


def write_results(report: dict[str, Any], output: Path) -> ResultFiles:
    """Write the JSON, the Markdown and the chart; a chart failure is logged, not raised."""
    files = ResultFiles.at(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    files.json.write_text(json.dumps(report, indent=2) + "\n")
    files.markdown.write_text(markdown(report))
    try:
        chart(report, files.png)
    except Exception as error:  # the numbers are written already; a chart failure must not lose them
        log(f"chart failed: {type(error).__name__}: {error}")
    return files
