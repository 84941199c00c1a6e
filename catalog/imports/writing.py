"""Writing, set-based: the clean rows are copied into temp tables and upserted; what changed is
returned for the events."""

from __future__ import annotations

from dataclasses import dataclass, field

from catalog.imports.kinds import ImportKind

# The SQL below is assembled only from the constant column lists of this module.


def _copy_into_temp(cursor, *, table: str, columns: str, rows: list[tuple]) -> None:
    # ON COMMIT DROP cleans up after the service; the DROP covers a second import inside
    # one outer transaction (the tests).
    cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{table}")
    cursor.execute(f"CREATE TEMP TABLE {table} ({columns}) ON COMMIT DROP")
    names = ", ".join(c.strip().split()[0] for c in columns.split(","))
    with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    cursor.execute(f"ANALYZE {table}")


# (column, its name in the event's `changed` list): what decides whether a stored part changed.
_PART_FIELDS = [
    ("category_id", "category"), ("number", "number"), ("name_id", "name_id"),
    ("name_en", "name_en"), ("attributes", "attributes"), ("weight_g", "weight_g"),
    ("length_mm", "length_mm"), ("width_mm", "width_mm"), ("height_mm", "height_mm"),
    ("status", "status"),
]
_PART_COLUMNS = [c for c, _name in _PART_FIELDS]


def _joined(prefix: str) -> str:
    return ", ".join(prefix + c for c in _PART_COLUMNS)


@dataclass
class _Changes:
    created: list[int] = field(default_factory=list)
    # Stored parts that changed -> what changed (field names; link ids for crossrefs/fitment).
    updated: dict[int, dict[str, list]] = field(default_factory=dict)

    def part_ids(self) -> list[int]:
        return sorted(set(self.created) | set(self.updated))


def _write_parts(cursor, clean: list[tuple], *, columns: set[str]) -> _Changes:
    _copy_into_temp(
        cursor, table="catalog_import_part",
        columns="row_no int, brand_id bigint, category_id bigint, number text, number_key text, "
                "name_id text, name_en text, attributes jsonb, weight_g int, length_mm int, "
                "width_mm int, height_mm int, status text, sup_brand_id bigint, sup_key text",
        rows=clean,
    )
    cursor.execute("DROP TABLE IF EXISTS pg_temp.catalog_import_created")
    cursor.execute(
        "CREATE TEMP TABLE catalog_import_created (id bigint PRIMARY KEY) ON COMMIT DROP"
    )
    # New parts first, without their successor: it may be another new part of the file.
    cursor.execute(
        f"""
        WITH inserted AS (
            INSERT INTO catalog_part (brand_id, number_key, {_joined("")}, description,
                superseded_by_id, version, search_text, created_at, updated_at)
            SELECT i.brand_id, i.number_key, {_joined("i.")}, '', NULL, 1, '', now(), now()
            FROM catalog_import_part i ORDER BY i.row_no
            ON CONFLICT (brand_id, number_key) DO NOTHING
            RETURNING id
        )
        INSERT INTO catalog_import_created SELECT id FROM inserted
        """  # noqa: S608
    )
    cursor.execute("SELECT id FROM catalog_import_created ORDER BY id")
    changes = _Changes(created=[r[0] for r in cursor.fetchall()])
    # Then every part that differs from its row, new parts with a successor included. An
    # optional column left out of the header leaves the stored value alone. `o` is the row as
    # this statement found it, so RETURNING can say what changed. A stored part's version
    # goes up by one; a new part stays at 1.
    fields = [(c, f"i.{c}", name) for c, name in _PART_FIELDS
              if c != "attributes" or "attributes" in columns]
    if "superseded_by_number" in columns:
        fields.append(("superseded_by_id", "s.id", "superseded_by"))
    changed = ", ".join(f"CASE WHEN o.{c} IS DISTINCT FROM {new} THEN '{name}' END"
                        for c, new, name in fields)
    cursor.execute(
        f"""
        UPDATE catalog_part p
        SET {", ".join(f"{c} = {new}" for c, new, _name in fields)}, updated_at = now(),
            version = p.version + CASE WHEN EXISTS (
                SELECT 1 FROM catalog_import_created c WHERE c.id = p.id) THEN 0 ELSE 1 END
        FROM catalog_import_part i
        JOIN catalog_part o ON o.brand_id = i.brand_id AND o.number_key = i.number_key
        LEFT JOIN catalog_part s ON s.brand_id = i.sup_brand_id AND s.number_key = i.sup_key
        WHERE p.id = o.id
          AND ({", ".join("o." + c for c, _new, _name in fields)})
              IS DISTINCT FROM ({", ".join(new for _c, new, _name in fields)})
        RETURNING p.id, array_remove(ARRAY[{changed}], NULL)
        """  # noqa: S608
    )
    created = set(changes.created)
    for part_id, names in cursor.fetchall():
        if part_id not in created:
            changes.updated[part_id] = {"changed": sorted(names)}
    return changes


_LINK_SQL = {
    ImportKind.CROSSREFS: (
        "row_no int, part_id bigint, brand_name text, number text, number_key text, is_oe boolean",
        """
        INSERT INTO catalog_crossreference AS t (part_id, brand_name, number, number_key, is_oe)
        SELECT part_id, brand_name, number, number_key, is_oe
        FROM catalog_import_link ORDER BY row_no
        ON CONFLICT (part_id, brand_name, number_key) DO UPDATE
            SET number = EXCLUDED.number, is_oe = EXCLUDED.is_oe
            WHERE (t.number, t.is_oe) IS DISTINCT FROM (EXCLUDED.number, EXCLUDED.is_oe)
        RETURNING t.part_id, (t.xmax = 0) AS inserted, t.id
        """,
    ),
    ImportKind.FITMENT: (
        "row_no int, part_id bigint, variant_id bigint, position text, quantity int, note text",
        """
        INSERT INTO catalog_fitment AS t (part_id, variant_id, position, quantity, note, part_category_id)
        SELECT l.part_id, l.variant_id, l.position, l.quantity, l.note, p.category_id
        FROM catalog_import_link l JOIN catalog_part p ON p.id = l.part_id ORDER BY l.row_no
        ON CONFLICT (variant_id, part_id, position) DO UPDATE
            SET quantity = EXCLUDED.quantity, note = EXCLUDED.note
            WHERE (t.quantity, t.note) IS DISTINCT FROM (EXCLUDED.quantity, EXCLUDED.note)
        RETURNING t.part_id, (t.xmax = 0) AS inserted, t.variant_id
        """,
    ),
}


def _write_links(cursor, *, kind: str, clean: list[tuple]) -> tuple[int, int, _Changes]:
    columns, upsert = _LINK_SQL[kind]
    _copy_into_temp(cursor, table="catalog_import_link", columns=columns, rows=clean)
    if kind == ImportKind.FITMENT:
        # New rows carry their part's category (Fitment.part_category_id): the parts are locked
        # first (in key order, as the services lock them), so no change of category commits
        # between the category read below and this transaction's commit.
        cursor.execute("SELECT 1 FROM catalog_part WHERE id IN (SELECT part_id FROM catalog_import_link) "
                       "ORDER BY id FOR SHARE")
    # Rows equal to the stored ones are not returned; (xmax = 0) tells an inserted row from
    # one the upsert updated.
    cursor.execute(upsert)
    results = cursor.fetchall()
    changes = _Changes()
    for part_id, inserted, link_id in results:
        entry = changes.updated.setdefault(part_id, {"added": [], "modified": []})
        entry["added" if inserted else "modified"].append(link_id)
    if changes.updated:
        cursor.execute(
            "UPDATE catalog_part SET version = version + 1, updated_at = now() WHERE id = ANY(%s)",
            [sorted(changes.updated)],
        )
    created = sum(1 for _part_id, inserted, _link_id in results if inserted)
    return created, len(results) - created, changes
