"""The history store and sync: records kept between the vendors and the reports.

`sync()` writes a provider account's records into the store, idempotently and incrementally;
`open_store()` opens it for reading (`Store.records`, `Store.gaps`, `Store.revisions`). SQLite
(the default, in the user data folder) and PostgreSQL (`voice-usage[postgres]`) behave alike.
"""

from voice_usage._store._db import SCHEMA_VERSION, StoreError
from voice_usage._store._location import STORE_ENV, default_store_path
from voice_usage._store._store import Revision, Store, WriteCounts, open_store
from voice_usage._store._sync import (
    FIRST_SYNC_DAYS,
    MAX_LOOKBACK_DAYS,
    Series,
    SeriesResult,
    SyncResult,
    sync,
    sync_series,
)

__all__ = [
    "FIRST_SYNC_DAYS",
    "MAX_LOOKBACK_DAYS",
    "SCHEMA_VERSION",
    "STORE_ENV",
    "Revision",
    "Series",
    "SeriesResult",
    "Store",
    "StoreError",
    "SyncResult",
    "WriteCounts",
    "default_store_path",
    "open_store",
    "sync",
    "sync_series",
]
