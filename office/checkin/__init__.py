"""Check-in and the release of no-shows.

Per kind of resource (rooms, desks) the coordinator can require check-in. A booking of such
a resource is checked in at the door screen or on its booking page; one not checked in
within the grace minutes of its start (default 15) is released for the rest of its time by
`flask --app wsgi release-no-shows` (run it every few minutes), and the booker is told by
mail. Trepartssamtal and seminar bookings are exempt.
"""
