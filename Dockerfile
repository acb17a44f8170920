# Inbound: one image for the API (inbound serve), the workers (inbound worker) and beat.
# Build: docker build -t inbound .   Run a company setup: docker compose up (compose.yaml).
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 INBOUND_HOME=/var/lib/inbound
RUN apt-get update && apt-get install -y --no-install-recommends fonts-wqy-microhei libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY api api
COPY extractors extractors
COPY fixtures fixtures
COPY matching matching
COPY models models
COPY pipeline pipeline
COPY review_ui review_ui
RUN pip install -c constraints.txt . && useradd --system --home /var/lib/inbound inbound \
    && mkdir -p /var/lib/inbound && chown inbound /var/lib/inbound
USER inbound
EXPOSE 8000 2525
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')" || exit 1
# listens on 127.0.0.1 inside the container unless told otherwise: `docker run ... inbound serve --host 0.0.0.0`
# (compose.yaml does, with INBOUND_DEMO=0 and a bootstrap key that must be set)
CMD ["inbound", "serve", "--port", "8000"]
