"""The master tap ring: what goes in comes out in order, across the wrap; an overrun reports its gap."""

import numpy as np

from groovebox.engine.tap import MasterTap


def blocks(count: int, frames: int, start: int = 0):
    for index in range(start, start + count):
        yield np.full((frames, 2), index, np.float32)


def test_blocks_come_out_in_order_across_the_wrap():
    tap = MasterTap(1000)
    taken = []
    for index, block in enumerate(blocks(40, 96)):
        tap.write(block, 96)
        if index % 3 == 2:
            audio, lost = tap.read()
            assert lost == 0
            taken.append(audio)
    taken.append(tap.read()[0])
    np.testing.assert_array_equal(np.concatenate(taken)[:, 0], np.repeat(np.arange(40), 96))


def test_a_reader_a_whole_ring_behind_gets_the_newest_audio_and_the_gap():
    tap = MasterTap(1000)
    for block in blocks(30, 100):
        tap.write(block, 100)
    audio, lost = tap.read()
    assert lost == 2000 and len(audio) == 1000
    np.testing.assert_array_equal(audio[:, 0], np.repeat(np.arange(20, 30), 100))
    assert tap.read()[0].shape == (0, 2)
