"""The embedding store: hits are not re-embedded, a killed run keeps finished shards."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mis.embedding_cache import EmbeddingCache, image_keys


class CountingEmbedder:
    """Embeds image i as a vector of its key's length, and records what it was asked."""

    def __init__(self, keys: list[str]):
        self.keys, self.calls = keys, []

    def __call__(self, positions: list[int]) -> np.ndarray:
        self.calls.append(list(positions))
        return np.array([[len(self.keys[i]), i] for i in positions], dtype=np.float32)


def test_hits_are_not_re_embedded(tmp_path: Path) -> None:
    keys = list(image_keys(["a.jpg", "b.jpg", "c.jpg"], [10, 20, 30]))
    embed = CountingEmbedder(keys)
    assert EmbeddingCache(tmp_path).fill(keys, embed, block=2) == 3
    assert embed.calls == [[0, 1], [2]]
    more = keys + list(image_keys(["d.jpg"], [40]))
    cache = EmbeddingCache(tmp_path)  # reopened from disk
    embed = CountingEmbedder(more)
    assert len(cache) == 3 and cache.fill(more, embed, block=2) == 1
    assert embed.calls == [[3]]
    np.testing.assert_array_equal(cache.get([more[3], more[0]]), [[len(more[3]), 3], [len(more[0]), 0]])


def test_a_changed_file_is_a_new_entry(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    cache.add(image_keys(["a.jpg"], [10]), np.ones((1, 2)))
    assert cache.missing(image_keys(["a.jpg", "a.jpg"], [10, 11])) == [1]


def test_killed_run_keeps_finished_shards(tmp_path: Path) -> None:
    keys = list(image_keys([f"{i}.jpg" for i in range(5)], [1] * 5))

    def dies_on_third_block(positions: list[int]) -> np.ndarray:
        if 4 in positions:
            raise KeyboardInterrupt("killed")
        return np.zeros((len(positions), 3), dtype=np.float32)

    with pytest.raises(KeyboardInterrupt):
        EmbeddingCache(tmp_path).fill(keys, dies_on_third_block, block=2)
    cache = EmbeddingCache(tmp_path)
    assert len(cache) == 4 and cache.missing(keys) == [4]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0.emb.npy", "0.keys.npy", "1.emb.npy", "1.keys.npy"]


def test_mismatched_block_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="2 keys for 1 embeddings"):
        EmbeddingCache(tmp_path).add(["a", "b"], np.zeros((1, 2)))
