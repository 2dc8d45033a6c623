# Two images from one file, each installing its locked requirements (hashes checked) before the code:
#   --target worker  the workers, `catgan serving` and Flower: TensorFlow with the CUDA libraries as wheels
#                    (the host needs only the NVIDIA driver and container toolkit); requirements/worker-gpu.txt
#   --target api     the API, the migrations and the sweeper: no TensorFlow, no CUDA; requirements/api.txt
# The API is the last stage, so a plain `docker build .` makes the small image.
FROM python:3.11-slim AS base
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 TF_CPP_MIN_LOG_LEVEL=2
# The same path in every container that shares the data volume, TF Serving's included: models.config
# holds absolute base paths, so they must mean the same thing everywhere.
ENV CATGAN_HOME=/var/lib/catgan
VOLUME ["/var/lib/catgan"]
WORKDIR /app

# The code alone; each image installs it with --no-deps over its locked requirements.
FROM base AS source
COPY pyproject.toml README.md ./
COPY catgan catgan
COPY api api
COPY worker worker
COPY serving serving
COPY gans gans
COPY core core
COPY migrations migrations

FROM base AS worker
COPY requirements/worker-gpu.txt /tmp/requirements.txt
RUN pip install --require-hashes -r /tmp/requirements.txt
COPY --from=source /app /app
RUN pip install --no-deps .
CMD ["catgan", "worker"]

FROM base AS api
COPY requirements/api.txt /tmp/requirements.txt
RUN pip install --require-hashes -r /tmp/requirements.txt
COPY --from=source /app /app
RUN pip install --no-deps .
EXPOSE 8000
CMD ["gunicorn", "--config", "python:catgan.gunicorn_conf", "--bind", "0.0.0.0:8000", \
     "--workers", "4", "--timeout", "120", "--graceful-timeout", "30", "--access-logfile", "-", \
     "catgan.wsgi:app"]
