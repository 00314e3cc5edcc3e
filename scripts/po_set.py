"""Set English translations in the catalog: `python scripts/po_set.py FILE.json` ({msgid: msgstr}).

Also reports every message still untranslated or fuzzy, so nothing reaches users half-translated.
"""
import json
import sys

from babel.messages.pofile import read_po, write_po

PO = "training/translations/en/LC_MESSAGES/messages.po"


def main() -> int:
    updates = json.load(open(sys.argv[1], encoding="utf-8")) if len(sys.argv) > 1 else {}
    with open(PO, "rb") as handle:
        catalog = read_po(handle)
    for msgid, msgstr in updates.items():
        message = catalog.get(msgid)
        if message is None:
            print(f"not in catalog: {msgid}")
            continue
        message.string = msgstr
        message.flags.discard("fuzzy")
    with open(PO, "wb") as handle:
        write_po(handle, catalog, width=100)
    missing = [m.id for m in catalog if m.id and (not m.string or "fuzzy" in m.flags)]
    for msgid in missing:
        print(f"untranslated: {msgid!r}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
