"""The ground floor of Samlokal: people, agencies, premises and (later) bookings.

`office` never imports from `seminars`; see ../STYLE in shared/ and the README.
"""
