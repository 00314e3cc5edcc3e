"""Opaque ids: what a learner's browser and API client see instead of the bank's own ids.

The bank names options `o1, o2, …` in authoring order and matching items `iK` beside answers `aK`,
so those ids carry the key. Each attempt slot therefore keeps, in its `order` snapshot, a map from
every bank id it shows to a random id drawn for that slot alone (`order["ids"]`). Everything a
learner sends is translated back to bank ids at the edge (`to_bank`), and everything shown is
translated out (`to_public`); grading, review, statistics and export keep working on bank ids.
"""
from __future__ import annotations

import secrets

ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"
ID_LENGTH = 8  # 40 random bits per id: unguessable, short enough for a form value
# The alphabet has exactly 32 letters: each random byte's low 5 bits pick one, uniformly.
_LETTER_OF_BYTE = bytes(ord(ALPHABET[byte & 31]) for byte in range(256))


class UnknownId(ValueError):
    """A learner sent an id that this slot never showed."""


def _new_id(taken: set[str], random_bytes: bytes | None = None) -> str:
    while True:
        if random_bytes is None or len(random_bytes) < ID_LENGTH:
            random_bytes = secrets.token_bytes(ID_LENGTH)
        candidate = random_bytes[:ID_LENGTH].translate(_LETTER_OF_BYTE).decode("ascii")
        random_bytes = None
        if candidate not in taken:
            taken.add(candidate)
            return candidate


def bank_ids(order: dict) -> list[str]:
    """Every bank id a slot shows: its options and its matching items, as drawn."""
    return [i for i in list(order.get("options") or []) + list(order.get("items") or []) if isinstance(i, str)]


def with_public_ids(order: dict) -> dict:
    """`order` with a fresh random public id for each bank id it shows (ids already drawn are kept)."""
    order = dict(order or {})
    known = dict(order.get("ids") or {})
    taken = set(known.values())
    wanted = [bank_id for bank_id in bank_ids(order) if bank_id not in known]
    randomness = secrets.token_bytes(ID_LENGTH * len(wanted))  # one draw from the system for them all
    for n, bank_id in enumerate(wanted):
        if bank_id not in known:
            known[bank_id] = _new_id(taken, randomness[n * ID_LENGTH:(n + 1) * ID_LENGTH])
    order["ids"] = known
    return order


def ensure_public_ids(slot) -> dict:
    """The slot's bank id -> public id map, drawn now for a slot saved before opaque ids existed."""
    order = slot.order or {}
    ids = order.get("ids") or {}
    if any(bank_id not in ids for bank_id in bank_ids(order)) or "ids" not in order:
        slot.order = with_public_ids(order)
        ids = slot.order["ids"]
    return ids


def public_view(view: dict, ids: dict[str, str]) -> dict:
    """A question type's learner view with every option and item id replaced by its public id."""
    view = dict(view)
    for key in ("options", "items"):
        if view.get(key):
            view[key] = [{**entry, "id": ids.get(entry["id"], entry["id"])} for entry in view[key]]
    return view


def to_public(qtype: str, response, ids: dict[str, str]):
    """A stored (bank-id) response in the public ids the learner saw."""
    if response is None:
        return None
    if qtype in ("single", "truefalse") and isinstance(response, str):
        return ids.get(response, response)
    if qtype == "multi" and isinstance(response, list):
        return [ids.get(r, r) for r in response]
    if qtype == "matching" and isinstance(response, dict):
        return {ids.get(k, k): (ids.get(v, v) if v else v) for k, v in response.items()}
    return response


def to_bank(qtype: str, response, ids: dict[str, str]):
    """A learner's response (public ids) in bank ids; raises UnknownId for an id the slot never showed.

    Shapes that are not ids (text, numbers, a true/false boolean, empty answers) pass unchanged for the
    question type to judge.
    """
    back = {public: bank for bank, public in ids.items()}

    def one(value):
        if value in back:
            return back[value]
        raise UnknownId(value)

    if response is None or response == "" or response == [] or response == {}:
        return response
    if qtype in ("single", "truefalse") and isinstance(response, str):
        return one(response)
    if qtype == "multi" and isinstance(response, list):
        return [one(r) if isinstance(r, str) else r for r in response]
    if qtype == "matching" and isinstance(response, dict):
        return {one(k): (one(v) if isinstance(v, str) and v else v) for k, v in response.items()}
    return response
