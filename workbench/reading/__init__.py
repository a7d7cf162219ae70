"""Reading any history: opening it, its stored records, decoding them, loading them.

======================  ==========================================================
module                  its job
======================  ==========================================================
``opening``             :func:`open_history`: the one way in, from any source
``records``             stored records by position, raw, from any store
``decoding``            stored state to Python values: one table, one unwrap step
``loading``             :func:`load_events`: a history as a pandas DataFrame, fast
``_columns``            the loader's column-by-column decoding (internal)
``_leading_timestamps`` the loader's timestamp split (internal)
======================  ==========================================================
"""

from workbench.reading.decoding import STORED_TYPES, Codec, DecodeError, LoadError, short_name
from workbench.reading.loading import event_batches, event_types_of, load_events
from workbench.reading.opening import History, open_history
from workbench.reading.records import Record, RecordReader, open_records

__all__ = [
    "STORED_TYPES",
    "Codec",
    "DecodeError",
    "History",
    "LoadError",
    "Record",
    "RecordReader",
    "event_batches",
    "event_types_of",
    "load_events",
    "open_history",
    "open_records",
    "short_name",
]
