"""Practice reports for billing staff and admins (issue 14, part 8): revenue by month and
code, minutes by staff member, and missed revenue, each with its CSV and a chart drawn
on the server (SVG: no chart script)."""
