"""The embedding store: keyed by content, hits are not re-embedded, a killed run keeps finished
shards, writers in parallel never mix up vectors; and the embed_images stage on real files: a
replaced photo is embedded anew, a touched one is not, and its receipt guards the reader."""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mis.embedding_cache import EmbeddingCache, content_key
from mis.embeddings import task_embeddings
from mis.images import build_manifest
from mis.settings import SimilaritySettings
from mis.stages.embeddings import embed_images
from mis.storage import write_arrays, write_table

from conftest import TINY_SIMILARITY


def vector_of(key: str) -> np.ndarray:
    """A vector that only this key has (what a correct store returns for it)."""
    return np.frombuffer(bytes.fromhex(key), dtype=np.uint8)[:4].astype(np.float32)


class CountingEmbedder:
    """Embeds each key as ``vector_of`` it, and records what it was asked."""

    def __init__(self, keys: list[str]):
        self.keys, self.calls = keys, []

    def __call__(self, positions: list[int]) -> np.ndarray:
        self.calls.append(list(positions))
        return np.stack([vector_of(self.keys[i]) for i in positions])


def keys_of(*names: str) -> list[str]:
    return [content_key(name.encode()) for name in names]


def test_hits_are_not_re_embedded(tmp_path: Path) -> None:
    keys = keys_of("a", "b", "c")
    embed = CountingEmbedder(keys)
    assert EmbeddingCache(tmp_path).fill(keys, embed, block=2) == 3
    assert embed.calls == [[0, 1], [2]]
    more = keys + keys_of("d") + keys_of("a")  # "a" twice: embedded once
    cache = EmbeddingCache(tmp_path)  # reopened from disk
    embed = CountingEmbedder(more)
    assert len(cache) == 3 and cache.fill(more, embed, block=2) == 1
    assert embed.calls == [[3]]
    np.testing.assert_array_equal(cache.get([more[3], more[0]]), [vector_of(more[3]), vector_of(more[0])])


def test_killed_run_keeps_finished_shards(tmp_path: Path) -> None:
    keys = keys_of(*"abcde")

    def dies_on_third_block(positions: list[int]) -> np.ndarray:
        if 4 in positions:
            raise KeyboardInterrupt("killed")
        return np.zeros((len(positions), 3), dtype=np.float32)

    with pytest.raises(KeyboardInterrupt):
        EmbeddingCache(tmp_path).fill(keys, dies_on_third_block, block=2)
    cache = EmbeddingCache(tmp_path)
    assert len(cache) == 4 and cache.missing(keys) == [4]
    assert len(list(tmp_path.glob("*.keys.npy"))) == len(list(tmp_path.glob("*.emb.npy"))) == 2


def test_mismatched_block_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="2 keys for 1 embeddings"):
        EmbeddingCache(tmp_path).add(["a", "b"], np.zeros((1, 2)))


def write_through_the_store(folder: Path, keys: list[str], start: multiprocessing.Event, counts) -> None:
    """One writer: wait for the start, then fill the store with every key, block by block."""
    start.wait()
    with EmbeddingCache(folder).writing() as cache:
        counts.append(cache.fill(keys, CountingEmbedder(keys), block=3))


def test_two_writers_in_parallel_never_mix_up_vectors(tmp_path: Path) -> None:
    """Two processes embed overlapping sets into one store at the same moment: one waits for the
    other, every image is embedded once, and every stored vector is its own key's."""
    first, second = keys_of(*map(str, range(20))), keys_of(*map(str, range(10, 30)))
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        start, counts = manager.Event(), manager.list()
        writers = [
            context.Process(target=write_through_the_store, args=(tmp_path, keys, start, counts))
            for keys in (first, second)
        ]
        for writer in writers:
            writer.start()
        start.set()
        for writer in writers:
            writer.join(timeout=120)
            assert writer.exitcode == 0
        assert sorted(counts) == [10, 20]  # the second writer found the overlap stored
    cache = EmbeddingCache(tmp_path)
    union = sorted(set(first) | set(second))
    assert len(cache) == 30 and cache.missing(union) == []
    np.testing.assert_array_equal(cache.get(union), np.stack([vector_of(key) for key in union]))


def test_a_waiting_writer_says_so(tmp_path: Path, caplog) -> None:
    holder = multiprocessing.get_context("spawn").Process(target=hold_the_lock, args=(tmp_path, 2.0))
    holder.start()
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / ".lock").is_file() or not (tmp_path / ".lock").read_text():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        with caplog.at_level(logging.INFO, logger="mis.embedding_cache"), EmbeddingCache(tmp_path).writing():
            pass
    finally:
        holder.join(timeout=60)
    assert "is being written by" in caplog.text and f"pid {holder.pid}" in caplog.text
    assert "lock taken after" in caplog.text


def hold_the_lock(folder: Path, seconds: float) -> None:
    with EmbeddingCache(folder).writing():
        time.sleep(seconds)


# The stage, on real photos and a random tiny ViT (conftest.TINY_SIMILARITY).


def stage(folder: Path, out: Path, cache: Path, name: str = "m") -> dict:
    """embed_images for tasks that use every photo of ``folder``; its report."""
    manifest = build_manifest(str(folder), [".jpg"])
    write_table(manifest, out / "manifest.csv")
    images = np.arange(len(manifest)).reshape(1, 1, -1)
    write_arrays(
        out / "tasks.npz", max_refs=images, min_refs=images, max_queries=images[:, :, 0], min_queries=images[:, :, 0]
    )
    embed_images(
        model_name=name,
        similarity=SimilaritySettings.from_config({**TINY_SIMILARITY, "num_workers": 0}),
        images_root=folder,
        manifest_path=out / "manifest.csv",
        tasks_path=out / "tasks.npz",
        device="cpu",
        threads=1,
        cache_dir=cache,
        receipt_path=out / f"{name}.npz",
        report_path=out / f"{name}.json",
    )
    return pd.read_json(out / f"{name}.json", typ="series").to_dict()


def test_a_replaced_photo_is_embedded_anew_and_a_touched_one_is_not(small_image_folder: Path, tmp_path: Path) -> None:
    folder, cache = small_image_folder, tmp_path / "store"
    photos = sorted(folder.iterdir())
    assert stage(folder, tmp_path, cache)["embedded"] == len(photos)
    images, before = task_embeddings(tmp_path / "m.npz", cache)
    os.utime(photos[0], ns=(time.time_ns(), time.time_ns() + 10**9))  # touched: same bytes
    data = photos[2].read_bytes()
    replacement = photos[1].read_bytes()[: len(data)].ljust(len(data), b"\0")  # another photo, same size
    photos[2].write_bytes(replacement)
    report = stage(folder, tmp_path, cache)
    assert (report["embedded"], report["from_cache"]) == (1, len(photos) - 1)
    images, after = task_embeddings(tmp_path / "m.npz", cache)
    np.testing.assert_array_equal(np.delete(after, 2, axis=0), np.delete(before, 2, axis=0))
    assert not np.allclose(after[2], before[2])
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    stage(folder, fresh, tmp_path / "fresh_store")  # a clean store agrees for the replaced photo
    np.testing.assert_allclose(task_embeddings(fresh / "m.npz", tmp_path / "fresh_store")[1][2], after[2], atol=1e-6)


def test_a_store_changed_since_the_receipt_is_an_error(small_image_folder: Path, tmp_path: Path) -> None:
    stage(small_image_folder, tmp_path, tmp_path / "store")
    shutil.rmtree(tmp_path / "store")
    with pytest.raises(ValueError, match="not in the embedding store.*--forcerun embed_images"):
        task_embeddings(tmp_path / "m.npz", tmp_path / "store")
    stage(small_image_folder, tmp_path, tmp_path / "store", name="other")  # rebuilt, other vectors
    for path in (tmp_path / "store").glob("*.emb.npy"):
        np.save(path, np.load(path) + 1)
    with pytest.raises(ValueError, match="holds other vectors"):
        task_embeddings(tmp_path / "m.npz", tmp_path / "store")
