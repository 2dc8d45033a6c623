# One image for the API and the workers; the GPU workers take the CUDA libraries TensorFlow's wheel pulls in.
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
RUN pip install . "tensorflow[and-cuda]==2.21.0"
ENV CATGAN_HOME=/data
VOLUME ["/data"]
EXPOSE 8000
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "4", "catgan.wsgi:app"]
