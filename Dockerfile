# One image for the API, the workers, the migrations and Flower; the GPU workers take the CUDA libraries
# TensorFlow's wheel pulls in (the host needs only the NVIDIA driver and container toolkit).
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 TF_CPP_MIN_LOG_LEVEL=2
WORKDIR /app
COPY pyproject.toml README.md ./
COPY catgan catgan
COPY api api
COPY worker worker
COPY serving serving
COPY gans gans
COPY core core
COPY migrations migrations
# flower: the Celery monitor docker-compose.gpu.yml runs from this image (`celery -A worker.app flower`).
RUN pip install . "tensorflow[and-cuda]==2.21.0" "flower==2.2.0"
# The same path in every container that shares the data volume, TF Serving's included: models.config
# holds absolute base paths, so they must mean the same thing everywhere.
ENV CATGAN_HOME=/var/lib/catgan
VOLUME ["/var/lib/catgan"]
EXPOSE 8000
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--worker-class", "gthread", "--workers", "4", "--threads", "4", \
     "--timeout", "120", "--graceful-timeout", "30", "--access-logfile", "-", "catgan.wsgi:app"]
