"""Transcodings the workbench's applications share: one home for each stored form.

eventsourcing stores event attributes as JSON; a type JSON lacks needs a
:class:`~eventsourcing.persistence.Transcoding`, registered by the application
(``register_transcodings``). The name a transcoding writes is part of the stored
history, so every application that writes a type the same way registers the
same transcoding from here rather than a copy of it.

==============  =====================  ==============
transcoding     type                   stored as
==============  =====================  ==============
``date_iso``    ``datetime.date``      ``"2018-03-07"``
==============  =====================  ==============

>>> from datetime import date
>>> from eventsourcing.persistence import JSONTranscoder
>>> transcoder = JSONTranscoder()
>>> transcoder.register(DateAsISO())
>>> transcoder.encode({"starts_on": date(2018, 3, 7)})
b'{"starts_on":{"_type_":"date_iso","_data_":"2018-03-07"}}'
>>> transcoder.decode(_)["starts_on"]
datetime.date(2018, 3, 7)
"""

from __future__ import annotations

from datetime import date

from eventsourcing.persistence import Transcoding

__all__ = ["DateAsISO"]


class DateAsISO(Transcoding):
    """Stores a ``datetime.date`` as ``"2018-03-07"`` (transcoding name ``date_iso``)."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)
