"""Counter-based random streams: draw ``i`` is a pure function of (seed, stream, ``i``).

A run can therefore be extended or split into chunks without changing any draw it already
made, and adding an input (a new stream) never shifts the draws of the others.
"""

from __future__ import annotations

import hashlib
import numbers
import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

from cxsim.errors import CxsimError

__all__ = ["SEEDS", "SeedError", "check_seed", "normal_scores", "stream_id", "uniforms"]


class SeedError(CxsimError, ValueError):
    """A seed outside ``[0, 2**64)``: a clear error wherever the seed came from."""


#: Seeds are whole numbers in ``[0, SEEDS)``: the generator's key is 64 bits, so a larger seed
#: would wrap onto a smaller one and silently repeat its draws.
SEEDS = 2**64

# splitmix64 constants (Steele, Lea & Flood 2014; finaliser "Mix13" by D. Stafford).
_MASK64 = (1 << 64) - 1
_GOLDEN_GAMMA = 0x9E3779B97F4A7C15
_MIX_M1 = 0xBF58476D1CE4E5B9
_MIX_M2 = 0x94D049BB133111EB
# Separates the second per-stream key from the first so the two mixing rounds differ.
_KEY2_SALT = 0xD1B54A32D192ED03
# Uniforms are (k + 0.5) / 2**52 for a 52-bit k: every value is exact in float64 and the
# extremes are 2**-53 and 1 - 2**-53.  (With 53 bits the top value would round to 1.0.)
_UNIFORM_BITS = 52
U_MIN = 2.0**-53
U_MAX = 1.0 - 2.0**-53


# Counter-based random numbers
# --------------------------------------------------------------------------------------


def stream_id(name: str) -> int:
    """Stable 64-bit stream id for a name (normally the input's dotted path).

    The first 8 bytes of BLAKE2b of the UTF-8 name, read little-endian, so the id is
    the same on every run, platform and Python version (unlike ``hash``).

    Examples
    --------
    >>> stream_id("retention.churn_reduction") == stream_id("retention.churn_reduction")
    True
    >>> 0 <= stream_id("x") < 2**64
    True
    """
    if not isinstance(name, str):
        raise TypeError(f"stream name must be a str, got {type(name).__name__}")
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def _mix64(x: int) -> int:
    """splitmix64 finaliser on a Python int (used once per call to derive the keys)."""
    x &= _MASK64
    x = ((x ^ (x >> 30)) * _MIX_M1) & _MASK64
    x = ((x ^ (x >> 27)) * _MIX_M2) & _MASK64
    return x ^ (x >> 31)


def _mix64_inplace(x: np.ndarray, scratch: np.ndarray) -> None:
    """splitmix64 finaliser on a uint64 array, in place (uint64 products wrap mod 2**64)."""
    np.right_shift(x, np.uint64(30), out=scratch)
    np.bitwise_xor(x, scratch, out=x)
    np.multiply(x, np.uint64(_MIX_M1), out=x)
    np.right_shift(x, np.uint64(27), out=scratch)
    np.bitwise_xor(x, scratch, out=x)
    np.multiply(x, np.uint64(_MIX_M2), out=x)
    np.right_shift(x, np.uint64(31), out=scratch)
    np.bitwise_xor(x, scratch, out=x)


def check_seed(seed: Any) -> int:
    """``seed`` as an int in ``[0, 2**64)``; anything else (``True``, ``1.5``, ``-1``, ``2**64``)
    is refused with a :class:`SeedError`, never wrapped.

    >>> check_seed(2**64 - 1) == 2**64 - 1
    True
    >>> check_seed(2**64)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cxsim.uncertainty.streams.SeedError: seed must be a whole number from 0 to 2**64 − 1 (got ...)
    """
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise SeedError(f"seed must be a whole number from 0 to 2**64 − 1 (got {seed!r:.60})")
    value = int(seed)
    if not 0 <= value < SEEDS:
        shown = (
            str(value)  # Python refuses to print an int of more than 4,300 digits
            if value.bit_length() < 256
            else f"a whole number of about {value.bit_length() * 0.30103:,.0f} digits"
        )
        raise SeedError(f"seed must be a whole number from 0 to 2**64 − 1 (got {shown})")
    return value


def check_range(start: int, stop: int) -> tuple[int, int]:
    start, stop = operator.index(start), operator.index(stop)
    if not 0 <= start <= stop:
        raise ValueError(f"need 0 <= start <= stop, got start={start}, stop={stop}")
    return start, stop


def uniforms(seed: int, stream: int, start: int, stop: int) -> np.ndarray:
    """Uniform draws ``start`` to ``stop - 1`` of one stream, strictly inside (0, 1).

    Counter-based: draw ``i`` is a pure function of ``(seed, stream, i)``, so any range
    can be generated on its own and prefixes or chunks of a run agree exactly.  Each
    draw is splitmix64 at position ``i`` of a stream keyed by (seed, stream), mixed a
    second time with another key; the top 52 bits ``k`` give ``(k + 0.5) / 2**52``.

    Parameters
    ----------
    seed : int
        Run seed, ``0 <= seed < 2**64`` (:func:`check_seed`).
    stream : int
        Stream id, usually :func:`stream_id` of the input's path (modulo 2**64).
    start, stop : int
        Draw indices, ``0 <= start <= stop``.

    Returns
    -------
    numpy.ndarray
        float64 array of shape ``(stop - start,)``, values in [2**-53, 1 - 2**-53].

    Examples
    --------
    >>> u = uniforms(42, stream_id("x"), 0, 1000)
    >>> u.shape, bool(((u > 0) & (u < 1)).all())
    ((1000,), True)
    >>> bool((uniforms(42, stream_id("x"), 250, 1000) == u[250:]).all())
    True
    """
    start, stop = check_range(start, stop)
    seed = check_seed(seed)
    stream = operator.index(stream) & _MASK64
    key1 = _mix64(_mix64(seed + _GOLDEN_GAMMA) ^ stream)
    key2 = _mix64(key1 ^ _KEY2_SALT)
    x = np.arange(start, stop, dtype=np.uint64)
    scratch = np.empty_like(x)
    np.multiply(x, np.uint64(_GOLDEN_GAMMA), out=x)
    np.add(x, np.uint64(key1), out=x)
    _mix64_inplace(x, scratch)
    np.bitwise_xor(x, np.uint64(key2), out=x)
    _mix64_inplace(x, scratch)
    np.right_shift(x, np.uint64(64 - _UNIFORM_BITS), out=x)
    u = x.astype(np.float64)
    u += 0.5
    u *= 2.0**-_UNIFORM_BITS
    return u


def normal_scores(seed: int, streams: Sequence[int], start: int, stop: int) -> np.ndarray:
    """Standard-normal draws, one row per stream: ``ndtri(uniforms(...))``.

    Examples
    --------
    >>> z = normal_scores(7, [stream_id("a"), stream_id("b")], 0, 5)
    >>> z.shape
    (2, 5)
    """
    from scipy.special import ndtri  # imported on use: loading scenarios needs no scipy

    start, stop = check_range(start, stop)
    out = np.empty((len(streams), stop - start))
    for row, stream in enumerate(streams):
        out[row] = ndtri(uniforms(seed, stream, start, stop))
    return out


# --------------------------------------------------------------------------------------
