"""Fill the English catalogues: our source strings are English, so msgstr = msgid.

Run by `make extract-messages` after `pybabel update`.
"""

import sys

from babel.messages.pofile import read_po, write_po

for path in sys.argv[1:]:
    with open(path, "rb") as handle:
        catalogue = read_po(handle)
    for message in catalogue:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            message.string = tuple(message.id[:2])
        else:
            message.string = message.id
        message.flags.discard("fuzzy")
    with open(path, "wb") as handle:
        write_po(handle, catalogue, width=100)
