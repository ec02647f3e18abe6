"""Streams a mirror table's live rows with their child rows, ordered by mongo_id, in pages.

The order is byte order (`~<~`, the order of the `varchar_pattern_ops` index Django creates for
the unique `mongo_id`), which for 24 lower-case hex characters is the order of the ObjectIds, so
the stream can be merge-joined with a MongoDB cursor sorted by `_id`. Each page is one short
query (keyset pagination): no long transaction, constant memory. Tombstones are skipped: they
stand for absent documents.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import connections

from dualwrite.mapping import CollectionMapping
from dualwrite.mirror_sql import quote

Row = dict[str, Any]
Children = dict[str, list[Row]]


def scan_live_rows(
    mapping: CollectionMapping, *, lower: str | None = None, page_size: int = 2000, using: str = "default"
) -> Iterator[tuple[Row, Children]]:
    """(row, child rows by table) of every live row with mongo_id >= `lower`, in mongo_id order."""
    table = quote(mapping.table)
    last, inclusive = (lower or ""), True
    while True:
        operator = "~>=~" if inclusive else "~>~"
        with connections[using].cursor() as cursor:
            cursor.execute(
                f"SELECT * FROM {table} WHERE NOT source_deleted AND mongo_id {operator} %s"
                " ORDER BY mongo_id USING ~<~ LIMIT %s",
                [last, page_size],
            )
            names = [d[0] for d in cursor.description]
            page = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
            if not page:
                return
            children: dict[str, Children] = {
                row["mongo_id"]: {c.table: [] for c in mapping.children} for row in page
            }
            for child in mapping.children:
                cursor.execute(
                    f"SELECT * FROM {quote(child.table)} WHERE {quote(child.parent_column)} = ANY(%s)",
                    [list(children)],
                )
                child_names = [d[0] for d in cursor.description]
                for values in cursor.fetchall():
                    child_row = dict(zip(child_names, values, strict=True))
                    children[child_row[child.parent_column]][child.table].append(child_row)
        for row in page:
            yield row, children[row["mongo_id"]]
        if len(page) < page_size:
            return
        last, inclusive = page[-1]["mongo_id"], False
