"""Claims out and evidence in (interface.md, "Claims out and audit"): the month's claims
as an ASC X12 837P file (x12.py) and as a FHIR R4B Bundle (fhir.py), each claim's audit
packet as PDF and JSON (packet.py), and what they share: the claims of an export
(claims.py), what a claim still lacks (readiness.py), the stored interchanges
(models.py, services.py)."""
