"""Reading event files as numbered line chunks (ingestion.events.lines)."""

import gzip

from ingestion.events.lines import iter_line_chunks


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
