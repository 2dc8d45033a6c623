"""Server-sent events: an incremental parser of `text/event-stream` (the WHATWG rules) and its Event.

Written here rather than pulled in: the format is a dozen lines of rules, and the client needs to see the
raw stream end (a dropped connection) to resume with Last-Event-ID.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    """One dispatched event: its `id:` (None when the message had none), `event:` type and `data:` text."""

    event: str
    data: str
    id: str | None = None

    @property
    def payload(self) -> dict[str, Any]:
        """The data as JSON (catgan's events always carry a JSON object); {} when it is not JSON."""
        try:
            value = json.loads(self.data)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {"value": value}


@dataclass
class SSEParser:
    """Feed it text as it arrives; it returns the events each piece completes (a partial one waits)."""

    last_event_id: str | None = None
    retry_ms: int | None = None
    _id: str | None = None  # the id: of the event being read; it becomes last_event_id only when that dispatches
    _line: str = ""
    _pending_cr: bool = False
    _event: str = ""
    _data: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._id = self.last_event_id

    def reset(self) -> None:
        """Forget a half-read event (its connection dropped); keep the last dispatched id for the reconnect."""
        self._line, self._pending_cr, self._event, self._data, self._id = "", False, "", [], self.last_event_id

    def feed(self, text: str) -> list[Event]:
        """Consume `text`; return the events whose terminating blank line it contained."""
        events: list[Event] = []
        for char in text:
            if self._pending_cr:
                self._pending_cr = False
                if char == "\n":  # the \n of a \r\n pair: the line already ended at \r
                    continue
            if char in "\r\n":
                self._pending_cr = char == "\r"
                event = self._end_line()
                if event is not None:
                    events.append(event)
            else:
                self._line += char
        return events

    def _end_line(self) -> Event | None:
        line, self._line = self._line, ""
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None  # a comment: the server's keep-alive
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\x00" not in value:
            self._id = value or None
        elif name == "retry" and value.isdigit():
            self.retry_ms = int(value)
        return None

    def _dispatch(self) -> Event | None:
        data, kind = self._data, self._event
        self._data, self._event, self.last_event_id = [], "", self._id
        if not data:
            return None
        return Event(event=kind or "message", data="\n".join(data), id=self.last_event_id)


def parse_stream(chunks: Iterable[bytes], parser: SSEParser | None = None) -> Iterator[Event]:
    """Events from raw byte chunks (UTF-8, split anywhere); an unfinished last event is dropped, as the spec says."""
    parser = parser or SSEParser()
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    parser.reset()
    for chunk in chunks:
        yield from parser.feed(decoder.decode(chunk))
    yield from parser.feed(decoder.decode(b"", final=True))
