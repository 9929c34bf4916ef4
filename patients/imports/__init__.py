"""Bulk enrollment (interface.md, "Enrollment in bulk"): a CSV of patients or a FHIR R4B
Bundle of Patient, Condition and Encounter resources (what EHRs export), every row
validated, written all or nothing through the patients services.

- records.py: what a file says about each patient, and the problems found in it;
- csv_format.py and fhir_format.py: reading each format into records (no database);
- services.py: `patients_import`, the one write (validates against the practice, writes
  or rolls back, audits).
"""
