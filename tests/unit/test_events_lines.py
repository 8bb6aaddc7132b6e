"""Reading event files as numbered line chunks (ingestion.events.lines)."""

import gzip

import pytest

from ingestion.events.lines import iter_line_chunks, lines_at, starts_every_line_with_brace


def numbered(path, chunk_bytes):
    chunks = list(iter_line_chunks(path, chunk_bytes))
    return [
        (chunk.first_line + i, line, chunk.terminated)
        for chunk in chunks
        for i, line in enumerate(chunk.lines.to_pylist())
    ]


def test_line_numbers_run_on_across_small_chunks(tmp_path):
    path = tmp_path / "a.jsonl"
    lines = [f'{{"n": {n}}}\n'.encode() for n in range(1, 101)]
    path.write_bytes(b"".join(lines))
    result = numbered(path, chunk_bytes=64)
    assert [n for n, _, _ in result] == list(range(1, 101))
    assert [line for _, line, _ in result] == lines
    assert all(terminated for _, _, terminated in result)


def test_gzip_file_reads_like_plain_one(tmp_path):
    content = b'{"a": 1}\r\n\n{"b": 2}\n'
    plain, packed = tmp_path / "a.jsonl", tmp_path / "a.jsonl.gz"
    plain.write_bytes(content)
    packed.write_bytes(gzip.compress(content))
    assert (
        numbered(plain, 1024)
        == numbered(packed, 1024)
        == [
            (1, b'{"a": 1}\r\n', True),
            (2, b"\n", True),
            (3, b'{"b": 2}\n', True),
        ]
    )


def test_last_line_without_newline_is_marked_unterminated(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'{"a": 1}\n{"b": 2')
    assert numbered(path, 4) == [(1, b'{"a": 1}\n', True), (2, b'{"b": 2', False)]


def test_line_longer_than_a_chunk_stays_whole(tmp_path):
    path = tmp_path / "a.jsonl"
    long_line = b'{"k": "' + b"x" * 500 + b'"}\n'
    path.write_bytes(long_line + b"{}\n")
    assert numbered(path, 16) == [(1, long_line, True), (2, b"{}\n", True)]


def test_empty_file_has_no_lines(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_bytes(b"")
    assert numbered(path, 16) == []


def test_lines_can_start_further_on_and_be_looked_up_by_number(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_bytes(b"one\ntwo\nthree\nfour")
    assert [(n, line) for n, line, _ in numbered_from(path, 5, 3)] == [(3, b"three\n"), (4, b"four")]
    assert lines_at(path, {2, 4}, 5) == {2: "two\n", 4: "four"}
    assert lines_at(path, set(), 5) == {}


def numbered_from(path, chunk_bytes, from_line):
    return [
        (chunk.first_line + i, line, chunk.terminated)
        for chunk in iter_line_chunks(path, chunk_bytes, from_line)
        for i, line in enumerate(chunk.lines.to_pylist())
    ]


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz"])
@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'{"a":1}\n{"b":2}\n', True),
        (b'{"a":1}\n{"b":2}', True),
        (b"", True),
        (b'{"a":1}\n\n{"b":2}\n', False),
        (b'{"a":1}\n  {"b":2}\n', False),
        (b'{"a":1}\n{"b":2}\n\n', False),
        (b'\n{"a":1}\n', False),
        (b'\xef\xbb\xbf{"a":1}\n', False),
        (b'[{"a":1}]\n', False),
    ],
)
def test_files_whose_every_line_starts_with_a_brace_are_told_apart(tmp_path, suffix, content, expected):
    path = tmp_path / f"a{suffix}"
    path.write_bytes(gzip.compress(content) if suffix.endswith(".gz") else content)
    # 3-byte blocks put block boundaries everywhere, also right after a newline.
    assert starts_every_line_with_brace(path, 3) is expected
    assert starts_every_line_with_brace(path, 1 << 20) is expected
