# The application image for docker-compose.yml: the same Makefile targets as on a laptop.
FROM python:3.11-slim-bookworm
# gcc and libc6-dev: `make install` compiles the billing engine with mypyc (without
# them it runs from the Python sources, about 3x slower).
RUN apt-get update && apt-get install -y --no-install-recommends make libpq5 gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . /app
RUN make install && DJANGO_SETTINGS_MODULE=ccm.settings.dev make static
ENV DJANGO_SETTINGS_MODULE=ccm.settings.production PYTHONUNBUFFERED=1
EXPOSE 8000
CMD ["make", "migrate", "web"]
