"""Telling people by mail what changed for them (bookings, meetings, trepartssamtal, invitations).

Lower features offer a registration point (`booking.on_change`, `trepartssamtal.on_change`,
`accounts.on_invitation`); `register()` (called by wsgi) subscribes this package's handlers,
which queue mails in the caller's transaction through office/core/mail.py.
"""
