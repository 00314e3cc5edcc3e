"""What the learner sees of an attempt (never the key), and what review may show."""
from __future__ import annotations

import copy
import functools
import json
import math
from types import SimpleNamespace

import sqlalchemy as sa

from quizzes.bank import plain_version, version_columns, version_data
from quizzes.models import Attempt, AttemptSlot, QuestionVersion
from quizzes.opaque import bank_ids, ensure_public_ids, public_view, to_public
from quizzes.qtypes import QuestionType, get_type
from quizzes.richtext import to_safe_html
from training.extensions import db


# Rendering a question (Markdown, the HTML sanitiser) is most of what starting an attempt costs; a
# version's rendering never changes while its content does not, so each process keeps it, with its
# parts already encoded as JSON (slot_json). The key holds the content itself, so an edit in place (a
# version no attempt has used yet) renders anew.
_RENDERED: dict[tuple, tuple[dict, dict, dict]] = {}
_RENDERED_MAX = 5000


def _rendering(version) -> tuple[dict, dict]:
    """(learner view with options and items in authoring order (bank ids), its parts as JSON text)."""
    key = (version.id, version.qtype, version.text_format, version.text)
    cached = _RENDERED.get(key)
    if cached is not None and cached[0] == version.data:  # a dict comparison, no serialising per slot
        return cached[1], cached[2]
    view = get_type(version.qtype).learner_view(version_data(version), {})
    encoded = {"type": _json(view.get("type", version.qtype)), "text": _json(view.get("text_html", ""))}
    for part in ("options", "items"):
        encoded[part] = {entry["id"]: _json(entry.get("text_html", entry.get("text", "")))
                         for entry in view.get(part) or []}
    if len(_RENDERED) >= _RENDERED_MAX:
        _RENDERED.clear()
    _RENDERED[key] = (copy.deepcopy(version.data), view, encoded)
    return view, encoded


def _rendered(version) -> dict:
    """The learner view of a version with options and items in authoring order (bank ids)."""
    return _rendering(version)[0]


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _number_json(value) -> str:
    """A slot's number or mark as JSON, as json.dumps writes it (int.__repr__, float.__repr__), without
    its machinery: a start writes forty of them."""
    if type(value) is int or (type(value) is float and math.isfinite(value)):
        return repr(value)
    return _json(value)


def _in_order(entries: list[dict], wanted) -> list[dict]:
    by_id = {entry["id"]: entry for entry in entries}
    return [by_id[i] for i in QuestionType.ordered(list(by_id), wanted)]


def slot_view(slot: AttemptSlot) -> dict:
    """The learner's view of one slot: type, text, options (and matching items), in the stored order,
    each option and item under the slot's random public id."""
    version = slot.question_version
    order = slot.order or {}
    view = dict(_rendered(version))
    for key in ("options", "items"):
        if view.get(key) and version.qtype != "truefalse":
            view[key] = _in_order(view[key], order.get(key))
    view = public_view(view, ensure_public_ids(slot))
    return {
        "slot": slot.slot,
        "type": view.get("type", version.qtype),
        "text": view.get("text_html", ""),
        "options": [{"id": o["id"], "text": o.get("text_html", o.get("text", ""))} for o in view.get("options", [])],
        **({"items": [{"id": i["id"], "text": i.get("text_html", i.get("text", ""))} for i in view["items"]]}
           if view.get("items") else {}),
        "mark": slot.max_mark,
    }


def public_response(slot: AttemptSlot):
    """The slot's saved answer in the public ids its learner was shown (the quiz page and the API)."""
    return to_public(slot.question_version.qtype, slot.response, ensure_public_ids(slot))


def attempt_payload(attempt: Attempt) -> dict:
    """The attempt as started, with the saved answers: the API's and the quiz page's data.

    When the attempt's slots are not in memory (a start in a sitting, a read of an attempt), they are
    read with their questions in one plain query instead of as ORM objects (exam day's start)."""
    slots = attempt.slots if "slots" not in sa.inspect(attempt).unloaded else plain_slots(attempt.id)
    if slots is None:
        slots = attempt.slots
    return payload_of(attempt, slots)


def payload_of(attempt, slots) -> dict:
    """The payload from an attempt's fields (an Attempt, or the same names) and its slots."""
    return {
        "attempt_id": attempt.id,
        "quiz_id": attempt.quiz_id,
        "state": attempt.state,
        "number": attempt.number,
        "started_at": attempt.started_at.isoformat(),
        "deadline": attempt.deadline.isoformat() if attempt.deadline else None,
        "questions": [slot_view(slot) for slot in slots],
        "answers": {str(slot.slot): public_response(slot) for slot in slots if slot.response is not None},
        "saved_at": {str(slot.slot): slot.saved_at.isoformat() for slot in slots if slot.saved_at},
    }


def slot_json(slot) -> str:
    """slot_view(slot) as JSON text, put together from the parts its version's rendering keeps encoded:
    what a start sends of each question, without building and serialising the view again per slot."""
    version = slot.question_version
    _view, encoded = _rendering(version)
    order = slot.order or {}
    ids = ensure_public_ids(slot)
    parts = ['{"slot":', _number_json(slot.slot), ',"type":', encoded["type"], ',"text":', encoded["text"]]
    for part in ("options", "items"):
        texts = encoded[part]
        if part == "items" and not texts:
            continue  # slot_view shows items only when the question has them
        bank_order = list(texts) if version.qtype == "truefalse" else QuestionType.ordered(list(texts), order.get(part))
        parts += [',"', part, '":[', ",".join('{"id":' + _id_json(ids, bank_id) + ',"text":' + texts[bank_id] + "}"
                                               for bank_id in bank_order), "]"]
    parts += [',"mark":', _number_json(slot.max_mark), "}"]
    return "".join(parts)


def _id_json(ids: dict, bank_id: str) -> str:
    """An option's public id as JSON: drawn from quizzes.opaque's alphabet, so quoted as it is."""
    public = ids.get(bank_id, bank_id)
    return f'"{public}"' if public.isalnum() and public.isascii() else _json(public)


def questions_json(slots) -> str:
    """payload_of's "questions" as JSON text (slot_json): a sitting's prepared attempt keeps it from its
    drawing (Attempt.prepared_view), so that its start sends it without reading or rendering the slots;
    a start drawn in the request sends it the same way (prepared_body)."""
    return "[" + ",".join(slot_json(slot) for slot in slots) + "]"


def drafted_slots(drawn) -> list[SimpleNamespace]:
    """The slots of a drawing (attempts.draw_slots) before they are stored, shaped for slot_view."""
    return [SimpleNamespace(slot=number, order=order, max_mark=mark, response=None, saved_at=None,
                            question_version=version) for number, version, mark, order in drawn]


def prepared_body(attempt, questions: str) -> str:
    """The start's JSON body for an attempt whose questions were rendered ahead (questions_json): the
    same fields as payload_of, with no answers yet."""
    head = payload_of(attempt, [])
    del head["questions"]
    return json.dumps(head, ensure_ascii=False, separators=(",", ":"))[:-1] + ',"questions":' + questions + "}"


@functools.cache
def _plain_slots_select():
    """plain_slots' query, built once per process."""
    slots_table, versions = AttemptSlot.__table__, QuestionVersion.__table__
    return (sa.select(slots_table.c.id.label("slot_id"), slots_table.c.slot, slots_table.c.order,
                      slots_table.c.max_mark, slots_table.c.response, slots_table.c.saved_at, *version_columns())
            .join(versions, versions.c.id == slots_table.c.question_version_id)
            .where(slots_table.c.attempt_id == sa.bindparam("attempt_id")).order_by(slots_table.c.slot))


def plain_slots(attempt_id: int) -> list[SimpleNamespace] | None:
    """An attempt's slots with their question versions as plain values, read in one plain query (no
    ORM), shaped like the ORM objects for slot_view and public_response; None when a slot still lacks
    its public ids (an attempt from before opaque ids: the ORM path draws and keeps them)."""
    rows = db.session.connection().execute(_plain_slots_select(), {"attempt_id": attempt_id}).all()
    slots = []
    for row in rows:
        order = row.order or {}
        if "ids" not in order or any(bank_id not in order["ids"] for bank_id in bank_ids(order)):
            return None
        slots.append(SimpleNamespace(id=row.slot_id, slot=row.slot, order=order, max_mark=row.max_mark,
                                     response=row.response, saved_at=row.saved_at, question_version=plain_version(row)))
    return slots


def review_view(slot: AttemptSlot, *, correctness: bool, right_answers: bool, feedback: bool) -> dict:
    """A slot for the review page, with only what the review policy allows."""
    version = slot.question_version
    qtype = get_type(version.qtype)
    data = version_data(version)
    view = slot_view(slot)
    view["response"] = public_response(slot)
    if correctness:
        view["fraction"] = slot.fraction
        view["mark_awarded"] = slot.mark
    if right_answers:
        view["right_answers"] = list(qtype.right_answer_view(data).get("answers", []))  # sanitised HTML
    if feedback:
        view["feedback"] = list(slot.feedback or [])  # sanitised HTML from the question type
        view["general_feedback"] = to_safe_html(data.general_feedback, version.text_format) \
            if data.general_feedback else ""
    return view
