"""The SSE event type and its encoder, sans-IO (str fields in, UTF-8 bytes out).

Wire rules (WHATWG HTML, 9.2.5 "Parsing an event stream",
https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream):

- ``data`` may hold any text; every CRLF, CR or LF is one line break and each piece goes on its
  own ``data: `` line, always with the single space so a leading space in the value survives.
- ``event`` and ``id`` are one line each: CR or LF in them would let a caller inject whole
  fields or events, so they are refused, as is NUL in ``id`` (a parser ignores such an id).
- ``retry`` is a non-negative int (a parser only accepts ASCII digits).
- A comment-only event is a heartbeat: ``: text`` ended by one LF and no blank line, so no
  client ever sees it as an (empty) event.

Lines end with a lone LF: the shortest legal line end, understood by every parser.
"""

from __future__ import annotations

from typing import Any

from lambda_sse.errors import InvalidEventError

__all__ = ["ServerSentEvent", "encode"]


def _check(data: object, event: object, id: object, retry: object, comment: object) -> None:
    """Raise InvalidEventError naming the first field that cannot be encoded safely."""
    if data is not None and not isinstance(data, str):
        raise InvalidEventError(
            f"data must be a str or None, got {type(data).__name__}"
            " (serialise it first, e.g. with json.dumps)"
        )
    if event is not None:
        if not isinstance(event, str):
            raise InvalidEventError(f"event must be a str or None, got {type(event).__name__}")
        if "\n" in event or "\r" in event:
            raise InvalidEventError(f"event must not contain CR or LF, got {event!r}")
    if id is not None:
        if not isinstance(id, str):
            raise InvalidEventError(f"id must be a str or None, got {type(id).__name__}")
        if "\n" in id or "\r" in id or "\0" in id:
            raise InvalidEventError(f"id must not contain CR, LF or NUL, got {id!r}")
    if retry is not None and (not isinstance(retry, int) or isinstance(retry, bool) or retry < 0):
        raise InvalidEventError(f"retry must be a non-negative int (milliseconds), got {retry!r}")
    if comment is not None and not isinstance(comment, str):
        raise InvalidEventError(f"comment must be a str or None, got {type(comment).__name__}")


def _plain(
    data: str | None, event: str | None, id: str | None, retry: int | None, comment: str | None
) -> tuple[str | None, str | None, str | None, int | None, str | None]:
    """Checked fields as exact str and int: a subclass's own __format__ must not reach the wire."""
    return (
        None if data is None else data[:],  # a full slice of a str subclass is a plain str
        None if event is None else event[:],
        None if id is None else id[:],
        None if retry is None else int(retry),
        None if comment is None else comment[:],
    )


def _lines(prefix: str, text: str) -> str:
    """``text`` as one ``prefix`` line per piece between CRLF, CR or LF, each ending in LF."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return prefix + text.replace("\n", "\n" + prefix) + "\n"


def _not_utf8(exc: UnicodeEncodeError) -> InvalidEventError:
    # Checked lazily, on the rare failure, rather than scanning every field at construction.
    return InvalidEventError(
        f"event text cannot be encoded as UTF-8 ({exc.reason}: "
        f"{exc.object[exc.start : exc.end]!r}); a lone surrogate usually comes from bad JSON"
    )


def _encode(
    data: str | None, event: str | None, id: str | None, retry: int | None, comment: str | None
) -> bytes:
    """Encode fields already checked by :func:`_check`."""
    if event is None and id is None and retry is None and comment is None:
        # The hot path: a data-only event. One scan per line-break kind, one concatenation.
        if data is None:
            return b"\n"
        if "\n" in data or "\r" in data:
            return (_lines("data: ", data) + "\n").encode()
        return ("data: " + data + "\n\n").encode()
    out = "" if comment is None else _lines(": ", comment)
    if data is None and event is None and id is None and retry is None:
        return out.encode()  # a heartbeat: no blank line, so no client dispatches anything
    # f-strings build each step in one go, with no intermediate strings.
    if event is not None:
        out = f"{out}event: {event}\n"
    if id is not None:
        out = f"{out}id: {id}\n"
    if retry is not None:
        out = f"{out}retry: {retry}\n"
    if data is not None:
        if "\n" in data or "\r" in data:
            out += _lines("data: ", data)
        else:
            out = f"{out}data: {data}\n"
    return (out + "\n").encode()


def encode(
    data: str | None = None,
    event: str | None = None,
    id: str | None = None,
    retry: int | None = None,
    comment: str | None = None,
) -> bytes:
    """Encode one event without building a :class:`ServerSentEvent` (same checks, same bytes).

    >>> encode("hello", event="greeting", id="1")
    b'event: greeting\\nid: 1\\ndata: hello\\n\\n'
    """
    _check(data, event, id, retry, comment)
    data, event, id, retry, comment = _plain(data, event, id, retry, comment)
    try:
        return _encode(data, event, id, retry, comment)
    except UnicodeEncodeError as exc:
        raise _not_utf8(exc) from None


class ServerSentEvent:
    """One Server-Sent Event, immutable.

    Built by hand, every field is checked at construction (:class:`InvalidEventError`, a
    ``ValueError``, names the field). Built by :class:`~lambda_sse.sse.SSEDecoder`, ``event`` is
    the type (``"message"`` when the stream named none), ``data`` the joined data lines and
    ``id`` the stream's last event id at dispatch.
    """

    __slots__ = ("_comment", "_data", "_event", "_id", "_retry")
    __match_args__ = ("data", "event", "id", "retry", "comment")

    _data: str | None
    _event: str | None
    _id: str | None
    _retry: int | None
    _comment: str | None

    def __init__(
        self,
        data: str | None = None,
        event: str | None = None,
        id: str | None = None,
        retry: int | None = None,
        comment: str | None = None,
    ) -> None:
        # The checks of _check, inlined for the common exact types; anything else (a failure,
        # a str or int subclass) goes to _check, which raises or accepts with a precise message.
        if not (
            (data is None or type(data) is str)
            and (event is None or (type(event) is str and "\n" not in event and "\r" not in event))
            and (
                id is None
                or (type(id) is str and "\n" not in id and "\r" not in id and "\0" not in id)
            )
            and (retry is None or (type(retry) is int and retry >= 0))
            and (comment is None or type(comment) is str)
        ):
            _check(data, event, id, retry, comment)
            data, event, id, retry, comment = _plain(data, event, id, retry, comment)
        self._data = data
        self._event = event
        self._id = id
        self._retry = retry
        self._comment = comment

    @property
    def data(self) -> str | None:
        """The data; lines joined with LF when decoded."""
        return self._data

    @property
    def event(self) -> str | None:
        """The event type; ``"message"`` on decoded events that named none."""
        return self._event

    @property
    def id(self) -> str | None:
        """The event id; on decoded events, the stream's last event id at dispatch."""
        return self._id

    @property
    def retry(self) -> int | None:
        """The reconnection time in milliseconds, if this event sets it."""
        return self._retry

    @property
    def comment(self) -> str | None:
        """A comment (heartbeat) written before the fields."""
        return self._comment

    def encode(self) -> bytes:
        """The event on the wire, UTF-8, lines ended by LF."""
        try:
            return _encode(self._data, self._event, self._id, self._retry, self._comment)
        except UnicodeEncodeError as exc:
            raise _not_utf8(exc) from None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ServerSentEvent):
            return NotImplemented
        return (
            self._data == other._data
            and self._event == other._event
            and self._id == other._id
            and self._retry == other._retry
            and self._comment == other._comment
        )

    def __hash__(self) -> int:
        return hash((self._data, self._event, self._id, self._retry, self._comment))

    def __repr__(self) -> str:
        fields = (
            f"{name}={value!r}"
            for name, value in (
                ("data", self._data),
                ("event", self._event),
                ("id", self._id),
                ("retry", self._retry),
                ("comment", self._comment),
            )
            if value is not None
        )
        return f"ServerSentEvent({', '.join(fields)})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (ServerSentEvent, (self._data, self._event, self._id, self._retry, self._comment))
