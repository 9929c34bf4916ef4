"""The session timer: started from a patient, kept by the server, idle-aware, split at
midnight, stopped into time entries through the time-entry service (timelog.services).

span (the pure arithmetic), selectors (reads), services (writes), serializers and api
(the JSON API), views (the pages' form posts)."""
