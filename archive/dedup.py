"""Fingerprints for exact duplicates and reprints: pure functions over an article's text.

What DESIGN.md measured: a reprint on another site (other boilerplate, converted script, a
paragraph edited) is only recognisable after traditional->simplified conversion (OpenCC)
and removal of punctuation and spaces. On that normalised text, MinHash (128 permutations)
over character 5-grams put every reprint at >= 0.59 estimated Jaccard similarity and every
unrelated article at <= 0.04; LSH at 0.5 found all variants and nothing else.

The LSH index lives in the database (archive/lsh.py): 32 bands of 4 rows, each band hashed
to one 64-bit key. A candidate shares at least one band key; it is a match when its
signature agrees with ours on at least SIMILARITY_THRESHOLD of the 128 values.
"""

from __future__ import annotations

import hashlib
import re
import struct
import zlib
from array import array
from dataclasses import dataclass
from functools import lru_cache

from textnorm import simplified

NUM_PERM = 128
BANDS, ROWS = 32, 4  # a pair at Jaccard 0.59 shares a band with probability 0.98; at 0.04, 1e-4
SHINGLE = 5
SIMILARITY_THRESHOLD = 0.5
MIN_CHARS = 30  # shorter texts (a caption, a one-line notice) say too little to call reprints
# stored signatures only compare with signatures made the same way: changing the seed, the
# hash or the permutations means recomputing every stored fingerprint (`muniarchive reprocess`)
SEED = 20201202
_PRIME = (1 << 61) - 1
_MASK = (1 << 32) - 1

_NOT_TEXT = re.compile(r"[\W_]+")


def normalise(text: str) -> str:
    """The text that dedup compares: simplified script, no punctuation, no spaces."""
    return _NOT_TEXT.sub("", simplified(text))


@dataclass(frozen=True)
class Fingerprint:
    text_hash: str  # sha256 of the normalised text: exact duplicates
    signature: bytes  # NUM_PERM MinHash values, uint32 native byte order
    band_keys: tuple[int, ...]  # BANDS signed 64-bit keys for the LSH index


@lru_cache(maxsize=1)
def _permutations():
    import numpy as np  # here, not at the top: only where fingerprints are made (the crawl's worker)

    rng = np.random.default_rng(SEED)
    return (rng.integers(1, _PRIME, NUM_PERM, dtype=np.uint64), rng.integers(0, _PRIME, NUM_PERM, dtype=np.uint64))


def minhash(shingles: set[str]):
    """NUM_PERM MinHash values (uint32) of a set of strings: the minimum over the set of
    (a * crc32(s) + b) mod (2^61 - 1), per random affine permutation (a, b), as datasketch
    computes them. Written out because importing datasketch also imports scipy (a second
    and tens of MB in every crawl's extraction worker) for its LSH, which lives in the
    database here."""
    import numpy as np

    a, b = _permutations()
    hashes = np.fromiter((zlib.crc32(s.encode("utf-8")) for s in shingles), dtype=np.uint64, count=len(shingles))
    with np.errstate(over="ignore"):  # a * h wraps at 2^64 as in datasketch: still a fixed permutation
        values = ((hashes[:, None] * a + b) % np.uint64(_PRIME)) & np.uint64(_MASK)
    return values.min(axis=0).astype(np.uint32)


def fingerprint(body: str | None) -> Fingerprint | None:
    """The fingerprint of an article body, or None when there is too little text."""
    if not body:
        return None
    text = normalise(body)
    if len(text) < MIN_CHARS:
        return None
    shingles = {text[i:i + SHINGLE] for i in range(len(text) - SHINGLE + 1)}
    values = minhash(shingles)
    return Fingerprint(hashlib.sha256(text.encode("utf-8")).hexdigest(), values.tobytes(), band_keys(values))


def band_keys(values) -> tuple[int, ...]:
    keys = []
    for band in range(BANDS):
        chunk = values[band * ROWS:(band + 1) * ROWS].tobytes()
        digest = hashlib.blake2b(struct.pack("<B", band) + chunk, digest_size=8).digest()
        keys.append(struct.unpack("<q", digest)[0])
    return tuple(keys)


def similarity(signature_a: bytes, signature_b: bytes) -> float:
    """Estimated Jaccard similarity of two texts from their signatures (plain Python: the
    archive writer compares a handful per article, and numpy would be memory in every crawl)."""
    return sum(x == y for x, y in zip(array("I", signature_a), array("I", signature_b), strict=True)) / NUM_PERM
