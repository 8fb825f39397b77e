# The one image of every ledgersync process (web, worker, beat, migrate): see compose.yaml.
# Installed in place (-e): the Alembic migrations are read from /app/migrations.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY ledgersync ./ledgersync
COPY zohobooks_sandbox ./zohobooks_sandbox
COPY migrations ./migrations
RUN pip install --no-cache-dir -e . && useradd --system --uid 10001 ledgersync
USER ledgersync
EXPOSE 8000 9100
CMD ["uvicorn", "--factory", "ledgersync.cli:web_app", "--host", "0.0.0.0", "--port", "8000"]
