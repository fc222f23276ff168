"""The GOAWAY frames an instance sends are taken out of its byte stream wherever the
reads cut it, and everything else reaches ``h2`` unchanged and in order."""

import pytest
from hyperframe.frame import DataFrame, GoAwayFrame, HeadersFrame, SettingsFrame

from unkai.platform.gateway.h2peer import GoAwaySplitter


def frames() -> tuple[bytes, bytes]:
    """An instance's bytes, and what of them ``h2`` should get."""
    settings = SettingsFrame(0, settings={SettingsFrame.MAX_CONCURRENT_STREAMS: 100})
    headers = HeadersFrame(1, data=b"\x88", flags=["END_HEADERS"])
    data = DataFrame(1, data=b"d" * 20_000)
    goaway = GoAwayFrame(0, last_stream_id=1, error_code=0, additional_data=b"bye")
    ending = DataFrame(1, data=b"last", flags=["END_STREAM"])
    kept = [settings, headers, data, ending]
    sent = [settings, headers, data, goaway, ending]
    return b"".join(f.serialize() for f in sent), b"".join(f.serialize() for f in kept)


@pytest.mark.parametrize("size", [1, 7, 9, 4096, 1 << 20])
def test_goaway_is_taken_out_wherever_reads_cut_the_stream(size: int) -> None:
    sent, kept = frames()
    splitter = GoAwaySplitter()
    passed, goaways = b"", []
    for at in range(0, len(sent), size):
        data, found = splitter.split(sent[at : at + size])
        passed += data
        goaways += found
    assert passed == kept
    assert goaways == [(1, 0)]


def test_a_malformed_goaway_goes_to_h2_which_refuses_it() -> None:
    short = b"\x00\x00\x04\x07\x00\x00\x00\x00\x00" + b"\x00\x00\x00\x01"
    assert GoAwaySplitter().split(short) == (short, [])
