"""Blueprints of the ground floor; wsgi.create_app() registers them."""
