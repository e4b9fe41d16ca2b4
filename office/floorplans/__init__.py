"""Floor plans: a picture of each floor of a site with its rooms and desks placed on it.

The coordinator uploads a plan per floor (SVG, PNG or one page of a PDF, checked and cleaned
in images.py) and places each room and desk on it; staff see the plan for a chosen day and
time with every place marked free, booked, held by an agency or released (a no-show), and
book a free place from it. The plan is an accessible alternative to the booking grid: every
place is a link with a text label, and a list of the places follows the picture.
"""
