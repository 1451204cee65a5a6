"""Reusable page parts (each exposes a `render`-style function; no SQL, no model math)."""
