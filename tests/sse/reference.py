"""A deliberately naive SSE parser, written line for line from WHATWG HTML 9.2.5 and 9.2.6, to
check the fast decoder against (differential testing). It decodes the whole stream first, as the
spec does, and walks it one code point at a time: slow, and obviously right."""

from __future__ import annotations

from dataclasses import dataclass, field

ASCII_DIGITS = frozenset("0123456789")


@dataclass
class Outcome:
    events: list[tuple[str, str, str]] = field(default_factory=list)  # (type, data, lastEventId)
    last_event_id: str = ""
    retry: int | None = None


def parse(stream: bytes) -> Outcome:
    text = stream.decode("utf-8", "replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    lines: list[str] = []
    line: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\r":
            lines.append("".join(line))
            line = []
            if i + 1 < len(text) and text[i + 1] == "\n":
                i += 1
        elif char == "\n":
            lines.append("".join(line))
            line = []
        else:
            line.append(char)
        i += 1
    # An unterminated last line never completes, so it is never processed.
    out = Outcome()
    data = ""
    event_type = ""
    id_buffer = ""
    for current in lines:
        if current == "":
            out.last_event_id = id_buffer
            if data == "":
                event_type = ""
                continue
            if data.endswith("\n"):
                data = data[:-1]
            out.events.append((event_type or "message", data, out.last_event_id))
            data = ""
            event_type = ""
            continue
        if current.startswith(":"):
            continue
        if ":" in current:
            name, value = current.split(":", 1)
            if value.startswith(" "):
                value = value[1:]
        else:
            name, value = current, ""
        if name == "event":
            event_type = value
        elif name == "data":
            data += value + "\n"
        elif name == "id":
            if "\0" not in value:
                id_buffer = value
        elif name == "retry" and value and all(c in ASCII_DIGITS for c in value):
            out.retry = int(value)
    return out
