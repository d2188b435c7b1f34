"""Near-duplicate detection: MinHash over word 3-shingles, with locality-sensitive banding.

The same news item syndicated by two outlets, or a repost with a small edit, has a high Jaccard
similarity of its word 3-shingles. MinHash signatures estimate that similarity; banding the
signature (``BANDS`` bands of ``ROWS`` values) turns "similar" into "shares a band bucket", so the
warehouse finds candidates with an equality join instead of comparing every pair.

The hashing is vectorised over a whole delivery: every distinct word is hashed once (blake2b, so
signatures are stable across processes and machines), a shingle's hash mixes its three word
hashes, and the ``NUM_PERM`` hash functions are multiply-shift hashes ``(a * x + b) >> 32`` applied
to a matrix of shingles at once. A change to any of this changes ``SCHEME``, and the warehouse then
rebuilds its index (``warehouse.near.ensure_near_index``), because signatures of two schemes
cannot be compared.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np

NUM_PERM = 126
BANDS = 42
ROWS = NUM_PERM // BANDS  # a pair with Jaccard 0.4 becomes a candidate with probability 0.93
# Estimated Jaccard of word 3-shingles from which two items count as the same story. Syndicated
# rewrites of one news item in the sample have a true Jaccard of 0.46-0.48; unrelated articles stay
# below 0.15.
SIMILARITY = 0.3
MIN_WORDS = 12  # shorter texts are too short to call near-duplicates
SCHEME = "minhash-ms32-blake2b-v2"
SEED = 20261127
# Shingles hashed per block: a block's (shingles x NUM_PERM) matrix stays near 4 MB.
_BLOCK = 4_096

_rng = np.random.default_rng(SEED)
_A = _rng.integers(1, 2**63, size=NUM_PERM, dtype=np.uint64) * np.uint64(2) + np.uint64(1)  # odd
_B = _rng.integers(0, 2**63, size=NUM_PERM, dtype=np.uint64) * np.uint64(2)
_SHINGLE_MIX = _rng.integers(1, 2**63, size=3, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
_BAND_MIX = _rng.integers(1, 2**63, size=ROWS, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
del _rng


class _WordHashes(dict[str, int]):
    """word -> stable 64-bit hash; a lookup that hits costs no Python call. Bounded: past the
    limit, new words are hashed but not kept."""

    LIMIT = 1_000_000

    def __missing__(self, word: str) -> int:
        value = int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "little")
        if len(self) < self.LIMIT:
            self[word] = value
        return value


_word_hashes = _WordHashes()


@dataclass(frozen=True, slots=True, eq=False)
class Fingerprints:
    """Fingerprints of a batch of texts, as arrays (a row per text with at least ``MIN_WORDS`` words):
    an object per text cost more than computing its signature."""

    texts: np.ndarray  # (n,) position in the batch of the text of each row
    signatures: np.ndarray  # (n, NUM_PERM) uint32
    buckets: np.ndarray  # (n, BANDS) uint64, one bucket id per band

    def __len__(self) -> int:
        return len(self.texts)


def _mix(x: np.ndarray) -> np.ndarray:
    """The 64-bit finaliser of splitmix64: spreads every input bit over the whole word."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def fingerprints(normalised: Sequence[str]) -> Fingerprints:
    """MinHash fingerprints of texts already passed through ``normalise_for_hash``; a text with
    fewer than ``MIN_WORDS`` words has none."""
    word_lists = [text.split() for text in normalised]
    counted = [i for i, words in enumerate(word_lists) if len(words) >= MIN_WORDS]
    signatures = np.empty((len(counted), NUM_PERM), dtype=np.uint32)
    if not counted:
        return Fingerprints(np.array(counted, dtype=np.int64), signatures, band_buckets(signatures))
    lengths = np.array([len(word_lists[i]) for i in counted])
    words = np.fromiter(
        map(_word_hashes.__getitem__, chain.from_iterable(word_lists[i] for i in counted)),
        dtype=np.uint64,
        count=int(lengths.sum()),
    )
    # A shingle starts at every word but the last two of its text.
    ends = np.cumsum(lengths)
    starts_here = np.ones(len(words), dtype=bool)
    starts_here[ends - 1] = starts_here[ends - 2] = False
    shingles = words[:-2] * _SHINGLE_MIX[0] + words[1:-1] * _SHINGLE_MIX[1] + words[2:] * _SHINGLE_MIX[2]
    shingles = _mix(shingles[starts_here[:-2]])
    sizes = lengths - 2
    starts = ends - lengths - 2 * np.arange(len(counted))
    # Whole texts per block, so that a text's minimum is taken over all its shingles at once; small
    # blocks keep the (shingles x NUM_PERM) matrix in the processor's cache. floor(v / 2^32) is
    # monotone, so the shift comes after the minimum.
    first = 0
    while first < len(counted):
        last = int(np.searchsorted(starts, starts[first] + _BLOCK, side="right"))
        last = max(last, first + 1)
        lo, hi = starts[first], starts[last - 1] + sizes[last - 1]
        hashed = shingles[lo:hi, None] * _A
        hashed += _B
        signatures[first:last] = np.minimum.reduceat(hashed, starts[first:last] - lo, axis=0) >> np.uint64(32)
        first = last
    return Fingerprints(np.array(counted, dtype=np.int64), signatures, band_buckets(signatures))


def band_buckets(signatures: np.ndarray) -> np.ndarray:
    """(texts x BANDS) bucket ids: one 63-bit hash of each band's ``ROWS`` values (fits BIGINT)."""
    bands = signatures.reshape(len(signatures), BANDS, ROWS)
    # The sum of the band's values times their multipliers, a column at a time (wrapping arithmetic:
    # the same sums as one reduction, and much faster than reducing an axis of three).
    combined = bands[:, :, 0].astype(np.uint64) * _BAND_MIX[0]
    for row in range(1, ROWS):
        combined += bands[:, :, row].astype(np.uint64) * _BAND_MIX[row]
    return _mix(combined) >> np.uint64(1)


def similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray | float:
    """Estimated Jaccard similarity of a signature with one signature, or with each row of a stack."""
    equal = np.asarray(b) == np.asarray(a)
    return np.count_nonzero(equal, axis=-1) / equal.shape[-1]
