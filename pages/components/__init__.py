"""Reusable page parts: model pickers, parameter forms, segment pickers, chart layout, sign-in, report sections
(each a small function; no SQL, no model math)."""
