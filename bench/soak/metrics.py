"""Reading a Gatehouse metrics listener (--metrics-port, Prometheus text format 0.0.4)."""

from __future__ import annotations

import re

import httpx2

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


class Scrape:
    def __init__(self, text: str) -> None:
        self.text = text
        self.samples: list[tuple[str, dict[str, str], float]] = []
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            match = _SAMPLE.match(line)
            if not match:
                continue
            name, labels, value = match.groups()
            try:
                number = float(value)
            except ValueError:
                continue
            self.samples.append((name, dict(_LABEL.findall(labels or "")), number))

    def total(self, name: str, **labels: str) -> float:
        return sum(v for n, l, v in self.samples if n == name and all(l.get(k) == x for k, x in labels.items()))

    def where(self, name: str, predicate) -> float:
        return sum(v for n, l, v in self.samples if n == name and predicate(l))

    def server_errors(self) -> float:
        """HTTP answers with a 5xx status, all routes."""
        return self.where("gatehouse_http_requests_total", lambda l: l.get("status", "").startswith("5"))

    def requests(self) -> float:
        return self.total("gatehouse_http_requests_total")

    def by(self, name: str, *keys: str) -> dict[tuple, float]:
        out: dict[tuple, float] = {}
        for n, l, v in self.samples:
            if n == name:
                key = tuple(l.get(k, "") for k in keys)
                out[key] = out.get(key, 0.0) + v
        return out


def scrape(url: str, timeout: float = 5.0) -> Scrape | None:
    try:
        response = httpx2.get(url, timeout=timeout)
    except httpx2.HTTPError:
        return None
    return Scrape(response.text) if response.status_code == 200 else None
