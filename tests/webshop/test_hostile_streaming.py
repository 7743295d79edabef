"""Hostile WebShop files: a syntax error near the start of a huge file, bytes that are not UTF-8.

The streaming loader buffered the whole file (re-decoding it on every refill, quadratic time)
before reporting a syntax error near its start, and its encoding errors named no file. Now a
certain error is reported where it is, with memory bounded by a chunk, and an encoding error
names the file and the byte.
"""

from __future__ import annotations

import json
import tracemalloc

import pytest

from rlgen_envs.webshop import iter_json_array, iter_json_object


def _peak_bytes(call):
    tracemalloc.start()
    try:
        call()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def _big_tail(n=40_000):
    """About 8 MB of valid records."""
    return ",".join(json.dumps({"asin": f"B{i:09d}", "pad": "x" * 180}) for i in range(n))


@pytest.mark.parametrize(
    "head, where",
    [
        ('[{"asin": "B1"} {"asin": "B2"}, ', "expected one of ',]' at character 16, found '{'"),  # no comma between records
        ('[{"asin": "B1"}, {"asin" "B2"}, ', "invalid JSON at character 25: Expecting ':' delimiter"),  # no colon inside one
        ('[{"asin": "B1"}, {"asin": tru}, ', "invalid JSON at character 26: Expecting value"),  # a misspelt literal
        ('[{"asin": "B1", "n": 1x}, ', "invalid JSON at character 22: Expecting ',' delimiter"),  # garbage after a number
    ],
)
def test_a_syntax_error_near_the_start_is_reported_without_reading_on(tmp_path, head, where):
    path = tmp_path / "items_shuffle.json"
    path.write_text(head + _big_tail() + "]", encoding="utf-8")

    def read():
        with pytest.raises(ValueError, match=rf"{where}; the file is corrupt") as info:
            list(iter_json_array(path, chunk_chars=4096))
        assert str(path) in str(info.value)

    assert _peak_bytes(read) < 1_000_000  # the 8 MB file was not buffered


def test_an_object_file_reports_its_error_early_too(tmp_path):
    path = tmp_path / "items_ins_v2.json"
    path.write_text('{"B1": {"a": [1, 2}, ' + ",".join(f'"K{i}": {{"pad": "{"y" * 180}"}}' for i in range(40_000)) + "}", encoding="utf-8")

    def read():
        with pytest.raises(ValueError, match=r"invalid JSON at character 18"):
            list(iter_json_object(path, chunk_chars=4096))

    assert _peak_bytes(read) < 1_000_000


def test_one_huge_element_is_read_in_linear_memory_and_correctly(tmp_path):
    """A valid element spanning thousands of chunks (the buffer grows by doubling, not by a chunk
    per retry) decodes to what json.load gives."""
    element = {"asin": "B1", "reviews": [{"text": "é" * 50, "stars": i % 5, "score": -1.5e-3 * i} for i in range(20_000)]}
    path = tmp_path / "items.json"
    path.write_text(json.dumps([element, {"asin": "B2"}], ensure_ascii=False), encoding="utf-8")
    assert list(iter_json_array(path, chunk_chars=64)) == [element, {"asin": "B2"}]


TRICKY = [
    -12345678901234567890,
    1.5e10,
    -2.5e-7,
    0,
    -0.0,
    True,
    False,
    None,
    "\\\"\u00e9\U0001F600 \u2028",
    {"k": [-1, 2.0, "x"], "": {}},
    [[[]]],
]


@pytest.mark.parametrize("ensure_ascii", [True, False])
def test_values_cut_at_every_point_still_decode(tmp_path, ensure_ascii):
    """Early error reporting must not mistake a value cut at a chunk's end for an error: every
    chunk size from 1 to 40 bytes cuts every token (literals, exponents, escapes, multi-byte
    characters) somewhere."""
    path = tmp_path / "tricky.json"
    path.write_text(json.dumps(TRICKY, ensure_ascii=ensure_ascii), encoding="utf-8")
    obj = {f"k{i}": v for i, v in enumerate(TRICKY)}
    opath = tmp_path / "tricky_obj.json"
    opath.write_text(json.dumps(obj, ensure_ascii=ensure_ascii, indent=2), encoding="utf-8")
    for chunk in range(1, 41):
        assert list(iter_json_array(path, chunk_chars=chunk)) == TRICKY, chunk
        assert dict(iter_json_object(opath, chunk_chars=chunk)) == obj, chunk


@pytest.mark.parametrize("chunk", [1, 5, 4096])
def test_bytes_that_are_not_utf8_name_the_file_and_the_byte(tmp_path, chunk):
    path = tmp_path / "items_shuffle.json"
    good = b'[{"asin": "B1"}, '
    path.write_bytes(good + '{"asin": "caf\u00e9"}]'.encode("latin-1"))  # é as one latin-1 byte
    stream = iter_json_array(path, chunk_chars=chunk)
    if chunk < 20:
        assert next(stream) == {"asin": "B1"}  # records before the bad byte still stream
    with pytest.raises(ValueError, match=rf"not UTF-8 text at byte {len(good) + 13} .*convert it to UTF-8") as info:
        list(stream)
    assert str(path) in str(info.value)


def test_a_file_cut_inside_a_character_names_the_file(tmp_path):
    path = tmp_path / "items.json"
    path.write_bytes(b'["' + "é".encode()[:1])  # ends inside a two-byte character
    with pytest.raises(ValueError, match="not UTF-8 text at byte 2") as info:
        list(iter_json_array(path, chunk_chars=3))
    assert str(path) in str(info.value)
