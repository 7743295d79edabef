"""Incremental readers for the original WebShop JSON files, which are too large to `json.load`.

The product file of the original (`items_shuffle.json`) is one top-level JSON array of about
1.2 million records (5.5 GB); the attribute and human-instruction files are top-level objects
keyed by product id. These readers decode one element at a time with
`json.JSONDecoder.raw_decode` over a buffer refilled in chunks, so memory holds one chunk plus the
element being decoded, never the file.

A syntax error is fatal (a stream cannot resynchronize safely) and names the file and the
character offset. It is reported as soon as it is certain: a decode error that more text could
not cure (anything but a value cut off at the buffer's end, `_may_be_cut`) is raised at once,
instead of reading the rest of a 5 GB file first. A value that is cut off is retried with the
buffer at least doubled, so a large element costs linear, not quadratic, time. Bytes that are
not UTF-8 are an error naming the file and the byte offset. Records that decode but do not fit
the schema are the caller's to skip and count.
"""

from __future__ import annotations

import codecs
import json
import os
import re
from collections.abc import Iterator
from typing import Any

DEFAULT_CHUNK_CHARS = 1 << 20
_WHITESPACE = " \t\n\r"
_DELIMITER = re.compile(r"[\s,\]}:]")
_TOKEN_BREAK = re.compile(r'[\s,:\[\]{}"]')
_LONGEST_CUT_TOKEN = 16
"""Longest unfinished token a decode error can point at when the text is merely cut off: a literal
(`-Infinity`, 9 characters) or a number's suffix (`e+`). Cut strings report themselves as
unterminated, and every other cut fails at the buffer's very end."""
_FIX = "the file is corrupt, truncated or not the original WebShop file: download it again"


class _Stream:
    """A text buffer over a file that refills in chunks and drops what has been consumed.

    The file is read as bytes, `chunk_chars` at a time (at least), and decoded as UTF-8
    incrementally, so a decoding error knows its byte offset."""

    def __init__(self, path: str | os.PathLike, chunk_chars: int) -> None:
        if chunk_chars < 1:
            raise ValueError("chunk_chars must be >= 1")
        self.path = os.fspath(path)
        self._file = open(self.path, "rb")
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._bytes = 0  # bytes read from the file
        self._chunk = chunk_chars
        self.buf = ""
        self.pos = 0
        self.consumed = 0  # characters dropped from the front of the buffer
        self.eof = False
        self._decoder = json.JSONDecoder()

    def close(self) -> None:
        self._file.close()

    def _fill(self, at_least: int = 0) -> bool:
        """Append the next chunk, of at least `at_least` bytes (callers pass the unconsumed
        length to double the buffer); False at end of file."""
        if self.eof:
            return False
        data = self._file.read(max(self._chunk, at_least))
        pending = len(self._utf8.getstate()[0])  # bytes of a character split by the last read
        try:
            text = self._utf8.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            raise ValueError(
                f"{self.path}: not UTF-8 text at byte {self._bytes - pending + exc.start} ({exc.reason}); "
                "the file is corrupt or in another encoding: download it again or convert it to UTF-8"
            ) from None
        self._bytes += len(data)
        if not data:
            self.eof = True
            return False
        if self.pos > 0:
            self.consumed += self.pos
            self.buf = self.buf[self.pos :]
            self.pos = 0
        self.buf += text
        return True

    def peek(self) -> str:
        """The next non-whitespace character ('' at end of file), not consumed."""
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in _WHITESPACE:
                self.pos += 1
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._fill():
                return ""

    def expect(self, chars: str) -> str:
        char = self.peek()
        if char == "" or char not in chars:
            found = "end of file" if char == "" else repr(char)
            raise ValueError(f"{self.path}: expected one of {chars!r} at character {self.offset}, found {found}; {_FIX}")
        self.pos += 1
        return char

    @property
    def offset(self) -> int:
        return self.consumed + self.pos

    def _may_be_cut(self, err: json.JSONDecodeError) -> bool:
        """Whether more text could cure `err`: the value runs into the buffer's end (an
        unterminated string, or an unfinished token at the very end), and the file goes on."""
        if self.eof:
            return False
        if err.msg.startswith("Unterminated string"):
            return True
        tail = self.buf[err.pos :]
        return len(tail) <= _LONGEST_CUT_TOKEN and _TOKEN_BREAK.search(tail.lstrip()) is None

    def value(self) -> Any:
        """Decode one JSON value, reading more while it is cut off at the buffer's end."""
        if self.peek() not in '{["':
            # A bare number or literal may go on in the next chunk ("2" of "2.5"): read up to a
            # delimiter first.
            while _DELIMITER.search(self.buf, self.pos) is None and self._fill(len(self.buf) - self.pos):
                pass
        while True:
            try:
                obj, end = self._decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as err:
                if self._may_be_cut(err) and self._fill(len(self.buf) - self.pos):
                    continue
                raise ValueError(f"{self.path}: invalid JSON at character {self.consumed + err.pos}: {err.msg}; {_FIX}") from None
            self.pos = end
            return obj


def iter_json_array(path: str | os.PathLike, chunk_chars: int = DEFAULT_CHUNK_CHARS) -> Iterator[Any]:
    """Yield the elements of a file holding one top-level JSON array, one at a time."""
    stream = _Stream(path, chunk_chars)
    try:
        stream.expect("[")
        if stream.peek() == "]":
            stream.pos += 1
        else:
            while True:
                yield stream.value()
                if stream.expect(",]") == "]":
                    break
        if stream.peek() != "":
            raise ValueError(f"{stream.path}: trailing data after the top-level array at character {stream.offset}; {_FIX}")
    finally:
        stream.close()


def iter_json_object(path: str | os.PathLike, chunk_chars: int = DEFAULT_CHUNK_CHARS) -> Iterator[tuple[str, Any]]:
    """Yield the (key, value) pairs of a file holding one top-level JSON object, one at a time."""
    stream = _Stream(path, chunk_chars)
    try:
        stream.expect("{")
        if stream.peek() == "}":
            stream.pos += 1
        else:
            while True:
                if stream.peek() != '"':
                    stream.expect('"')  # raises with the position
                key = stream.value()
                stream.expect(":")
                yield key, stream.value()
                if stream.expect(",}") == "}":
                    break
        if stream.peek() != "":
            raise ValueError(f"{stream.path}: trailing data after the top-level object at character {stream.offset}; {_FIX}")
    finally:
        stream.close()
