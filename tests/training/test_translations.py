"""The English catalog is complete, compiled, and matches what the code asks for."""
import gettext
import os
import subprocess
import sys

from babel.messages.pofile import read_po

import training

TRANSLATIONS = os.path.join(os.path.dirname(training.__file__), "translations")
PO = os.path.join(TRANSLATIONS, "en", "LC_MESSAGES", "messages.po")
MO = os.path.join(TRANSLATIONS, "en", "LC_MESSAGES", "messages.mo")


def test_every_message_is_translated_and_compiled():
    with open(PO, "rb") as handle:
        catalog = read_po(handle)
    untranslated = [m.id for m in catalog if m.id and (not m.string or "fuzzy" in m.flags)]
    assert untranslated == []
    with open(MO, "rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = [m.id for m in catalog if m.id and isinstance(m.id, str) and compiled.gettext(m.id) != m.string]
    assert stale == [], "run: pybabel compile -d training/translations"


def test_catalog_covers_every_string_in_the_code(tmp_path):
    root = os.path.dirname(os.path.dirname(training.__file__))
    pot = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "_l",
                    "-o", str(pot), "."], cwd=root, check=True, capture_output=True)
    with open(pot, "rb") as handle:
        wanted = {m.id for m in read_po(handle) if m.id}
    with open(PO, "rb") as handle:
        have = {m.id for m in read_po(handle) if m.id and m.string}
    assert sorted(map(str, wanted - have)) == []
