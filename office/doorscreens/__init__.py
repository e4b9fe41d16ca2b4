"""Door screens: a tablet by a room's door showing whether the room is free, its current and
next bookings, and "Boka nu" for a walk-in booking.

The coordinator makes a secret device link per room (office/doorscreens/rules.py; stored
only as its SHA-256, like a feed link) and can revoke it; the screen needs no login. The
screen polls; the "nothing changed" answer is a 304 computed from a stamp of two indexed
reads (see `rules.screen_stamp`), never a rendered page.
"""
