"""The dense-block memory estimate and its error (mixedmodels.linalg.memory)."""

from __future__ import annotations

import pytest

from mixedmodels.errors import ArgumentError, MemoryLimitError, MixedModelsError
from mixedmodels.linalg import memory


def test_dense_block_bytes_counts_every_copy() -> None:
    assert memory.dense_block_bytes(1000, copies=1) == 8_000_000
    assert memory.dense_block_bytes(16_000) == memory.DENSE_COPIES * 16_000**2 * 8


def test_budget_from_setting(monkeypatch) -> None:
    monkeypatch.setenv("MIXEDMODELS_MEMORY_LIMIT", "512MB")
    assert memory.memory_budget() == 512 * 10**6
    monkeypatch.setenv("MIXEDMODELS_MEMORY_LIMIT", "2GiB")
    assert memory.memory_budget() == 2 * 2**30
    monkeypatch.setenv("MIXEDMODELS_MEMORY_LIMIT", "1234")
    assert memory.memory_budget() == 1234
    monkeypatch.setenv("MIXEDMODELS_MEMORY_LIMIT", "lots")
    with pytest.raises(ArgumentError, match="MIXEDMODELS_MEMORY_LIMIT"):
        memory.memory_budget()


def test_budget_without_setting_is_a_share_of_available(monkeypatch) -> None:
    monkeypatch.delenv("MIXEDMODELS_MEMORY_LIMIT", raising=False)
    if memory.available_memory() is None:
        pytest.skip("available memory unknown on this platform")
    # Fixed: the real figure moves between two calls on a shared machine.
    monkeypatch.setattr(memory, "available_memory", lambda: 10_000_000_000)
    assert memory.memory_budget() == int(memory.SAFETY_FACTOR * 10_000_000_000)


def test_check_raises_a_clear_error_naming_factor_levels_and_bytes(monkeypatch) -> None:
    monkeypatch.setenv("MIXEDMODELS_MEMORY_LIMIT", "1MB")
    memory.check_dense_block("item", 200, 200)  # 3 x 320 kB: fits
    with pytest.raises(MemoryLimitError) as caught:
        memory.check_dense_block("item", 16_000, 16_000)
    message = str(caught.value)
    assert "item" in message and "16,000 levels" in message
    assert f"{memory.dense_block_bytes(16_000):,} bytes" in message
    assert "MIXEDMODELS_MEMORY_LIMIT" in message
    assert isinstance(caught.value, MixedModelsError) and isinstance(caught.value, MemoryError)


def test_small_blocks_skip_the_os_query_but_not_the_setting(monkeypatch) -> None:
    monkeypatch.delenv("MIXEDMODELS_MEMORY_LIMIT", raising=False)
    monkeypatch.setattr(memory, "available_memory", lambda: 0)  # nothing available
    assert memory.fits_in_memory(memory.UNCHECKED_BYTES)
    assert not memory.fits_in_memory(memory.UNCHECKED_BYTES + 1)
    monkeypatch.setenv("MIXEDMODELS_MEMORY_LIMIT", "1MB")
    assert memory.fits_in_memory(10**6)
    assert not memory.fits_in_memory(10**6 + 1)
