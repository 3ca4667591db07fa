"""Calibration files: a scenario fragment plus the provenance of the fit that made it.

A calibration file is a YAML scenario fragment that a scenario pulls in with
``include: [path]``. Its ``provenance.<fit name>`` block records where the numbers
came from (data file hash, rows used and dropped, method, cxsim version, date), so a
business case can always be traced back to the data behind it.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from cxsim._version import __version__


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a data file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def frame_sha256(frame: Any) -> str:
    """SHA-256 of an in-memory table (for fits run on a DataFrame, not a file)."""
    import pandas as pd

    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes()).hexdigest()


def provenance(
    *,
    method: str,
    rows_used: int,
    rows_dropped: int = 0,
    data_file: str | os.PathLike[str] | None = None,
    data_sha256: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The provenance record every calibration file carries."""
    record: dict[str, Any] = {
        "method": method,
        "data_file": None if data_file is None else str(data_file),
        "data_sha256": data_sha256
        if data_sha256 is not None
        else (file_sha256(data_file) if data_file is not None else None),
        "rows_used": int(rows_used),
        "rows_dropped": int(rows_dropped),
        "cxsim_version": __version__,
        "date": _dt.date.today().isoformat(),
    }
    record.update(extra)
    return _plain(record)


def write_calibration(
    path: str | os.PathLike[str],
    fragment: Mapping[str, Any],
    name: str,
    record: Mapping[str, Any],
    header: str = "",
) -> Path:
    """Write ``fragment`` plus ``provenance: {name: record}`` as YAML to ``path``.

    ``fragment`` holds scenario keys only (``segments``, ``work_groups``, ``responses``,
    ``correlations``); numbers may be plain or distribution mappings.
    """
    document = dict(_plain(fragment))
    document["provenance"] = {name: _plain(dict(record))}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"# {line}".rstrip() for line in header.strip().splitlines()] if header else []
    lines.append(f"# Calibration file written by cxsim {__version__}; include it from a scenario:")
    lines.append(f"#   include: [{path.name}]")
    text = "\n".join(lines) + "\n" + yaml.safe_dump(document, sort_keys=False, width=100)
    path.write_text(text, encoding="utf-8")
    return path


def _plain(value: Any) -> Any:
    """Turn numpy scalars and arrays, tuples and mappings into plain YAML-safe values."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    return value
