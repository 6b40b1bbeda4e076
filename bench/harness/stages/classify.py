"""The stages of the hot path and the classification of each sample into one of them."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

from .perf import Frame

KERNEL = "kernel: TCP, syscalls, scheduling"
OTHER = "other (Swift runtime, libc, unattributed)"


@dataclass(frozen=True)
class Stage:
    """A stage of the hot path: regexes on a frame's entity text and on its library's file name."""

    name: str
    symbols: tuple[str, ...]
    libraries: tuple[str, ...] = ()

    @property
    def symbol_pattern(self) -> re.Pattern[str]:
        return _compiled(self.symbols)

    @property
    def library_pattern(self) -> re.Pattern[str] | None:
        return _compiled(self.libraries) if self.libraries else None


@lru_cache(maxsize=None)
def _compiled(patterns: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


STAGES: tuple[Stage, ...] = (
    Stage("token check", (r"\bGatehouseAuth\.", r"AuthMiddleware", r"CachingVerifier", r"BearerCredentials")),
    Stage("hub user lookup", (r"UserProvisioningMiddleware", r"UserDirectory")),
    Stage("argument validation", (r"JSONSchemaValidator", r"CompiledSchema")),
    Stage("JSON parsing", (r"JSONParser", r"JSONRPCMessage", r"JSONBody", r"\bValue\.parse\b")),
    Stage("response writing (JSON)", (r"JSONWriter", r"JSONRPCResponse")),
    Stage("MCP checks and dispatch", (r"\bGatehouseMCP\.", r"\bGatehouseHub\.")),
    Stage("Gatehouse HTTP glue (middleware, route)", (r"\bGatehouseServer\.",)),
    Stage("Hummingbird router and application", (r"\bHummingbird\.",)),
    Stage(
        "HTTP/1 parsing and encoding",
        (r"\bNIOHTTP1\.", r"llhttp", r"\bHummingbirdCore\.", r"\bHTTPTypes\.", r"\bNIOHTTPTypes\."),
    ),
    Stage("SwiftNIO event loop and channels", (r"\bNIOPosix\.", r"\bNIOCore\.")),
    Stage(
        "Swift concurrency and dispatch",
        (r"swift_task", r"swift_job", r"_dispatch", r"^dispatch_", r"\bswift::\w*(?:Job|Task|Executor)"),
        ("libswift_Concurrency", "libdispatch"),
    ),
    Stage("logging", (r"\bLogging\.",)),
)
"""The stages in precedence order for a frame that matches several; see the package docstring."""


def _without_brackets(text: str) -> str:
    """`text` without what is inside <...>, (...) and [...] (nested), the brackets themselves kept."""
    out, depth = [], 0
    for char in text:
        if char in "<([":
            if depth == 0:
                out.append(char)
            depth += 1
        elif char in ">)]":
            depth = max(depth - 1, 0)
            if depth == 0:
                out.append(char)
        elif depth == 0:
            out.append(char)
    return "".join(out)


_PRIVATE_NAME = re.compile(r"\((\w+) in _[0-9A-F]+\)")
_EXTENSION = re.compile(r"\(extension in (\w+)\):")
_RETURN_TYPE = re.compile(r"→.*?(?= in |$)")


def entity_text(demangled: str) -> str:
    """The part of a demangled name that says whose code it is: no generic arguments, parameters or
    return types ("closure #1 () -> () in M.T.f(x: M2.U) -> M3.V" becomes "closure #1 ()  in M.T.f() ").

    Private names lose their file discriminator ("M.(JSONParser in _040C…).parseValue" becomes
    "M.JSONParser.parseValue") and an extension names its module ("(extension in M):N.T.f" becomes "M:N.T.f").
    """
    text = _EXTENSION.sub(r"\1:", _PRIVATE_NAME.sub(r"\1", demangled))
    text = _without_brackets(text.replace("->", "→"))
    return _RETURN_TYPE.sub("", text)


class Classifier:
    """Gives each sample its stage, from the demangled names of its frames."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names
        self._stage_of: dict[Frame, str | None] = {}

    def frame_stage(self, frame: Frame) -> str | None:
        """The first stage in STAGES whose patterns match the frame, or None."""
        if frame not in self._stage_of:
            text = entity_text(self.names.get(frame.symbol, frame.symbol))
            self._stage_of[frame] = next((s.name for s in STAGES if _matches(s, text, frame.library)), None)
        return self._stage_of[frame]

    def sample_stage(self, frames: list[Frame]) -> tuple[str, Frame | None]:
        """Kernel if the leaf is in the kernel, else the stage of the frame nearest the leaf that has one;
        with the frame that decided it (None for kernel and other)."""
        if frames and frames[0].in_kernel:
            return KERNEL, None
        for frame in frames:
            stage = self.frame_stage(frame)
            if stage is not None:
                return stage, frame
        return OTHER, None


def _matches(stage: Stage, text: str, library: str) -> bool:
    if stage.symbol_pattern.search(text):
        return True
    pattern = stage.library_pattern
    return pattern is not None and pattern.search(library) is not None


@dataclass
class Tally:
    """Samples counted by stage and by leaf symbol, and (for --debug) what the unattributed samples hold."""

    total: int = 0
    by_stage: Counter[str] = field(default_factory=Counter)
    by_leaf: Counter[Frame] = field(default_factory=Counter)
    claims: Counter[tuple[str, Frame]] = field(default_factory=Counter)
    other_leaves: Counter[Frame] = field(default_factory=Counter)
    other_frames: Counter[Frame] = field(default_factory=Counter)


def classify(samples: list[list[Frame]], classifier: Classifier) -> Tally:
    """Count every sample under its stage and its leaf (self-time) symbol."""
    tally = Tally()
    for frames in samples:
        if not frames:
            continue
        stage, claimed_by = classifier.sample_stage(frames)
        tally.total += 1
        tally.by_stage[stage] += 1
        tally.by_leaf[frames[0]] += 1
        if claimed_by is not None:
            tally.claims[(stage, claimed_by)] += 1
        if stage == OTHER:
            tally.other_leaves[frames[0]] += 1
            tally.other_frames.update(set(frames))
    return tally
