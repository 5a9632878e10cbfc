"""Label Studio JSON ⇄ ModOps rows.

Label Studio exports a JSON array of tasks: ``{"id", "data": {...}, "annotations": [{"result":
[{"type": "choices", "value": {"choices": [...]}}], "completed_by", "created_at",
"lead_time"}], "meta"}``. We read ``data`` as the item's fields (``text`` and friends), choice
results as labels, and keep ModOps-only facts (final labels, gold) in the task's ``meta`` so a
ModOps export round-trips exactly.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from modops.domain import ValidationError
from modops.domain.fields import CONTENT_FIELDS
from modops.io.records import parse_time

ITEM_DATA_FIELDS = CONTENT_FIELDS


def _labeler_name(completed_by: Any) -> str:
    if isinstance(completed_by, dict):
        name = completed_by.get("username") or completed_by.get("email")
        if name:
            return str(name)
        if "id" in completed_by:
            return f"ls-user-{completed_by['id']}"
    if isinstance(completed_by, int | str) and str(completed_by):
        return f"ls-user-{completed_by}"
    raise ValueError("annotation has no completed_by user")


def _choices(result: Any) -> list[str]:
    if not isinstance(result, list):
        raise ValueError("annotation result must be a list")
    labels: list[str] = []
    for region in result:
        if not isinstance(region, dict):
            raise ValueError("annotation result entries must be objects")
        value = region.get("value") or {}
        for key in ("choices", "taxonomy", "labels"):
            if key in value:
                for choice in value[key]:
                    # taxonomy results are paths; the leaf is the label
                    labels.append(choice[-1] if isinstance(choice, list) else choice)
    return labels


def task_to_row(task: Any) -> dict[str, Any]:
    """One Label Studio task → one ModOps import row (validated later like any other row)."""
    if not isinstance(task, dict):
        raise ValueError("each Label Studio task must be an object")
    data = task.get("data")
    if not isinstance(data, dict):
        raise ValueError("task has no data object")
    row = _item_fields(data)
    if "external_id" not in row and task.get("id") is not None:
        row["external_id"] = f"ls-{task['id']}"
    meta: dict[str, Any] = m if isinstance(m := task.get("meta"), dict) else {}
    row.update((key, meta[key]) for key in ("final_labels", "is_gold", "gold_labels")
               if key in meta)
    annotations = [_annotation(ann) for ann in task.get("annotations") or []
                   if not (isinstance(ann, dict) and ann.get("was_cancelled"))]  # a skip
    if annotations:
        row["annotations"] = annotations
    return row


def _item_fields(data: dict[str, Any]) -> dict[str, Any]:
    """The task's ``data``: ModOps fields as they are, any other key into metadata."""
    row: dict[str, Any] = {k: data[k] for k in ITEM_DATA_FIELDS if k in data}
    extra = {k: v for k, v in data.items() if k not in ITEM_DATA_FIELDS}
    if extra:
        row["metadata"] = {**(row.get("metadata") or {}), **extra}
    return row


def _annotation(ann: Any) -> dict[str, Any]:
    """One Label Studio annotation → a ModOps annotation (``lead_time`` gives its start)."""
    if not isinstance(ann, dict):
        raise ValueError("annotations must be objects")
    submitted = ann.get("created_at") or ann.get("updated_at")
    started = None
    lead = ann.get("lead_time")
    if isinstance(lead, int | float) and submitted:
        try:
            end = parse_time(submitted, "created_at")
        except ValidationError as exc:
            raise ValueError(str(exc)) from None
        if end is not None:
            started = (end - timedelta(seconds=float(lead))).isoformat()
    ann_meta: dict[str, Any] = m if isinstance(m := ann.get("meta"), dict) else {}
    return {
        "labeler": _labeler_name(ann.get("completed_by")),
        "labels": _choices(ann.get("result")),
        "submitted_at": submitted,
        "started_at": ann_meta.get("started_at", started),
        "note": ann_meta.get("note"),
        "kind": ann_meta.get("kind", "label"),
    }


def row_to_task(row: dict[str, Any], task_id: int) -> dict[str, Any]:
    """One exported ModOps row → a Label Studio task (choices named after taxonomy keys)."""
    data = {k: row[k] for k in ITEM_DATA_FIELDS if row.get(k) is not None}
    annotations = []
    for i, ann in enumerate(row.get("annotations") or [], 1):
        lead = None
        end = parse_time(ann.get("submitted_at"), "submitted_at")
        start = parse_time(ann.get("started_at"), "started_at")
        if start is not None and end is not None:
            lead = (end - start).total_seconds()
        annotations.append(
            {
                "id": task_id * 100 + i,
                "completed_by": {"username": ann["labeler"]},
                "result": [
                    {
                        "from_name": "label",
                        "to_name": "text",
                        "type": "choices",
                        "value": {"choices": list(ann["labels"])},
                    }
                ],
                "created_at": ann["submitted_at"],
                "lead_time": lead,
                "was_cancelled": False,
                "meta": {
                    "started_at": ann.get("started_at"),
                    "note": ann.get("note"),
                    "kind": ann.get("kind", "label"),
                },
            }
        )
    meta = {k: row[k] for k in ("final_labels", "gold_labels") if row.get(k) is not None}
    if row.get("is_gold"):
        meta["is_gold"] = True
    return {
        "id": task_id,
        "data": data,
        "annotations": annotations,
        "predictions": [],
        "meta": meta,
    }
