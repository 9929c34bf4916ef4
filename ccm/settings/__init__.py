"""Settings live in base (everything read from the environment) and one module per use:
dev (the embedded first-run defaults), production (refuses to start without a secret),
test (PostgreSQL and Redis on this machine)."""
