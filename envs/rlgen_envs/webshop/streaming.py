"""Incremental readers for the original WebShop JSON files, which are too large to `json.load`.

The product file of the original (`items_shuffle.json`) is one top-level JSON array of about
1.2 million records (5.5 GB); the attribute and human-instruction files are top-level objects
keyed by product id. These readers decode one element at a time with
`json.JSONDecoder.raw_decode` over a buffer refilled in chunks, so memory holds one chunk plus the
element being decoded, never the file.

A syntax error is fatal (a stream cannot resynchronize safely) and names the byte-ish offset;
records that decode but do not fit the schema are the caller's to skip and count.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from typing import Any

DEFAULT_CHUNK_CHARS = 1 << 20
_WHITESPACE = " \t\n\r"
_DELIMITER = re.compile(r"[\s,\]}:]")


class _Stream:
    """A text buffer over a file that refills in chunks and drops what has been consumed."""

    def __init__(self, path: str | os.PathLike, chunk_chars: int) -> None:
        if chunk_chars < 1:
            raise ValueError("chunk_chars must be >= 1")
        self.path = os.fspath(path)
        self._file = open(self.path, encoding="utf-8")
        self._chunk = chunk_chars
        self.buf = ""
        self.pos = 0
        self.consumed = 0  # characters dropped from the front of the buffer
        self.eof = False
        self._decoder = json.JSONDecoder()

    def close(self) -> None:
        self._file.close()

    def _fill(self) -> bool:
        if self.eof:
            return False
        data = self._file.read(self._chunk)
        if not data:
            self.eof = True
            return False
        if self.pos > 0:
            self.consumed += self.pos
            self.buf = self.buf[self.pos :]
            self.pos = 0
        self.buf += data
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
            raise ValueError(f"{self.path}: expected one of {chars!r} at character {self.offset}, found {found}")
        self.pos += 1
        return char

    @property
    def offset(self) -> int:
        return self.consumed + self.pos

    def value(self) -> Any:
        """Decode one JSON value, reading more chunks while it is cut off at the buffer's end."""
        if self.peek() not in '{["':
            # A bare number or literal may go on in the next chunk ("2" of "2.5"): read up to a
            # delimiter first.
            while _DELIMITER.search(self.buf, self.pos) is None and self._fill():
                pass
        while True:
            try:
                obj, end = self._decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as err:
                if self._fill():
                    continue
                raise ValueError(f"{self.path}: invalid JSON at character {self.consumed + err.pos}: {err.msg}") from None
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
            raise ValueError(f"{stream.path}: trailing data after the top-level array at character {stream.offset}")
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
            raise ValueError(f"{stream.path}: trailing data after the top-level object at character {stream.offset}")
    finally:
        stream.close()
