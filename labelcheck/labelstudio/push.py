"""Push a lead's adjudicated label back to Label Studio as an annotation on the task.

The annotation is credited to the Label Studio user with the lead's e-mail when there is
one (``completed_by``), else to the owner of the API key, and flagged ``ground_truth``:
in Label Studio that marks the reference answer of a task, which an adjudication is.
Its result carries an id of the form ``labelcheck-adjudication-<id>`` so that a create
whose response was lost (a timeout: creating is not idempotent and is never retried
blindly) is found on the task instead of created twice.  A sync leaves these
annotations out of the agreement data (:func:`labelcheck.pipeline.run_sync`): they are
a lead's decision, not another annotator's answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labelcheck.labelstudio.client import LabelStudioConnection, explain, make_client, no_retry, with_retries

RESULT_ID_PREFIX = "labelcheck-adjudication-"
#: labelcheck value type -> (Label Studio result type, value key)
RESULT_TYPES = {"choice": ("choices", "choices"), "rating": ("rating", "rating"),
                "number": ("number", "number")}


@dataclass(frozen=True)
class PushResult:
    annotation_id: int
    completed_by: int | None  # the Label Studio user credited; None: the key's owner
    created: bool  # False when an earlier attempt had already created it


def adjudication_result(adjudication_id: int, *, from_name: str, to_name: str, value_type: str,
                        label: Any) -> list[dict[str, Any]]:
    """The annotation's ``result`` list for one label of a control tag."""
    if value_type not in RESULT_TYPES:
        raise ValueError(f"pushing {value_type} answers to Label Studio is not supported "
                         f"(only {', '.join(RESULT_TYPES)})")
    result_type, key = RESULT_TYPES[value_type]
    value: Any = [label] if key == "choices" else label
    return [{"id": f"{RESULT_ID_PREFIX}{adjudication_id}", "from_name": from_name, "to_name": to_name,
             "type": result_type, "value": {key: value}, "origin": "manual"}]


def push_adjudication(connection: LabelStudioConnection, *, adjudication_id: int, task_id: int,
                      from_name: str, to_name: str, value_type: str, label: Any,
                      lead_email: str | None = None, client: Any = None) -> PushResult:
    """Create the adjudicated label as an annotation of ``task_id``.  Raises
    :class:`~labelcheck.labelstudio.client.ConnectionProblem` (with what was being done)."""
    client = client or make_client(connection)
    result = adjudication_result(adjudication_id, from_name=from_name, to_name=to_name,
                                 value_type=value_type, label=label)
    what = f"creating the adjudicated annotation on task {task_id}"
    try:
        earlier = _find(client, task_id, adjudication_id)
        if earlier is not None:
            return PushResult(annotation_id=earlier, completed_by=None, created=False)
        user_id = _user_id(client, lead_email) if lead_email else None
        extra = {"completed_by": user_id} if user_id is not None else {}
        try:
            created = client.annotations.create(task_id, result=result, ground_truth=True, was_cancelled=False,
                                                request_options=no_retry(), **extra)
        except Exception:
            found = _find(client, task_id, adjudication_id)  # the create may have landed
            if found is None:
                raise
            return PushResult(annotation_id=found, completed_by=user_id, created=True)
    except Exception as err:
        raise explain(err, connection, what) from err
    return PushResult(annotation_id=int(created.id), completed_by=user_id, created=True)


def _find(client: Any, task_id: int, adjudication_id: int) -> int | None:
    marker = f"{RESULT_ID_PREFIX}{adjudication_id}"
    annotations = with_retries(lambda: client.annotations.list(task_id, request_options=no_retry()))
    for annotation in annotations:
        for item in getattr(annotation, "result", None) or []:
            if isinstance(item, dict) and item.get("id") == marker:
                return int(annotation.id)
    return None


def _user_id(client: Any, email: str) -> int | None:
    wanted = email.strip().lower()
    for user in with_retries(lambda: list(client.users.list(request_options=no_retry()))):
        if str(getattr(user, "email", "") or "").strip().lower() == wanted:
            return int(user.id)
    return None
