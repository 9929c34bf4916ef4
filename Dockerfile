# The application image for docker-compose.yml: the same Makefile targets as on a laptop.
FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends make libpq5 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . /app
RUN make install && DJANGO_SETTINGS_MODULE=ccm.settings.dev make static
ENV DJANGO_SETTINGS_MODULE=ccm.settings.production PYTHONUNBUFFERED=1
EXPOSE 8000
CMD ["make", "migrate", "web"]
